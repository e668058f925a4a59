// The floor of `bench/feed.ts`: a bare `ws` WebSocketServer in its own
// process, no GraphQL, no database. Each client socket says hello with its
// index and is welcomed; then, on command, the server sends messages shaped
// like the real feed's `next` messages (about the same size), with a
// committedAt set just before each send, two per "accrual" to a random socket.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocketServer, type WebSocket } from "ws";
import type { FloorCommand, FloorReply } from "./protocol.ts";

const sockets: (WebSocket | undefined)[] = [];
const sequences: number[] = [];
let registered = 0;

const reply = (message: FloorReply) => process.send!(message);

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
wss.on("connection", (socket) => {
  socket.on("message", (data) => {
    const message = JSON.parse(data.toString()) as { type?: string; index?: number };
    if (message.type === "hello" && typeof message.index === "number") {
      if (!sockets[message.index]) registered += 1;
      sockets[message.index] = socket;
      sequences[message.index] = 0;
      socket.on("close", () => {
        if (sockets[message.index!] === socket) {
          sockets[message.index!] = undefined;
          registered -= 1;
        }
      });
      socket.send(JSON.stringify({ type: "welcome" }));
    } else if (message.type === "ping") socket.send(JSON.stringify({ type: "pong" }));
  });
  socket.on("error", () => {});
});

const id64 = (type: string) => Buffer.from(`${type}:${randomUUID()}`).toString("base64");

/** Two messages like the real feed's for one accrual: the commission line, then the balance. */
function sendAccrual(index: number): number {
  const socket = sockets[index];
  if (!socket) return 0;
  const commission = { id: id64("Commission"), amount: { amount: "1.00" } };
  let sent = 0;
  for (const type of ["COMMISSION_ACCRUED", "BALANCE_CHANGED"] as const) {
    const sequence = (sequences[index] = (sequences[index] ?? 0) + 1);
    const partnerEvents = {
      type,
      cursor: Buffer.from(`partner:${sequence}`).toString("base64url"),
      sequence: String(sequence),
      committedAt: new Date().toISOString(),
      commission: type === "COMMISSION_ACCRUED" ? commission : null,
      balance: type === "BALANCE_CHANGED" ? { payable: { amount: "0.00" } } : null,
    };
    socket.send(JSON.stringify({ id: "1", type: "next", payload: { data: { partnerEvents } } }));
    sent += 1;
  }
  return sent;
}

async function run(id: number, rate: number, seconds: number) {
  const total = Math.round(rate * seconds);
  const live = sockets.flatMap((socket, index) => (socket ? [index] : []));
  let messages = 0;
  const started = performance.now();
  for (let i = 0; i < total; i += 1) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    messages += sendAccrual(live[Math.floor(Math.random() * live.length)]!);
  }
  reply({ id, ev: "sent", accruals: total, messages, windowMs: performance.now() - started });
}

process.on("message", (raw) => {
  const command = raw as FloorCommand;
  switch (command.cmd) {
    case "count":
      reply({ id: command.id, ev: "count", registered });
      return;
    case "prime": {
      let messages = 0;
      for (let index = 0; index < sockets.length; index += 1) messages += sendAccrual(index);
      reply({ id: command.id, ev: "sent", accruals: messages / 2, messages, windowMs: 0 });
      return;
    }
    case "run":
      void run(command.id, command.rate, command.seconds);
      return;
  }
});

process.on("disconnect", () => process.exit(0));

wss.on("listening", () => reply({ ev: "listening", port: (wss.address() as { port: number }).port }));
