// The floors of `bench/feed.ts`: a bare `ws` WebSocketServer in its own
// process, no GraphQL. Each client socket says hello with its index (its
// partner's place in the bench's list) and is welcomed. Then, on command:
// - bare: the server sends messages shaped like the real feed's `next`
//   messages (about the same size), with a committedAt set just before each
//   send, two per "accrual" to a random socket, at the rate; no database;
// - loaded ("sales"): the server answers POST /sale {"index": n} over HTTP by
//   committing the rows one recordConversion writes for partner n with plain
//   pg (bench/floors/sale.ts), then sends that partner's socket the two
//   messages with the commit's time, line and balance, then answers. The
//   bench drives it as it drives accrue (same rate, same concurrency), so
//   the machine carries the same sales while the floor delivers.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocketServer, type WebSocket } from "ws";
import { type FloorSale, floorPool, floorSale, inTransaction } from "../floors/sale.ts";
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

const id64 = (type: string, id: string = randomUUID()) => Buffer.from(`${type}:${id}`).toString("base64");

/**
 * Two messages like the real feed's for one accrual: the commission line,
 * then the balance. With a committed sale, its line, sequences and balance,
 * both stamped with its commit time (as accrue stamps a transaction's
 * events); without, made up, each stamped just before its send.
 */
function sendAccrual(index: number, sale?: { committedAt: string; row: FloorSale }): number {
  const socket = sockets[index];
  if (!socket) return 0;
  const commission = { id: id64("Commission", sale?.row.lineId), amount: { amount: sale?.row.commission ?? "1.00" } };
  let sent = 0;
  for (const type of ["COMMISSION_ACCRUED", "BALANCE_CHANGED"] as const) {
    const sequence = sale ? sale.row.sequence - (type === "COMMISSION_ACCRUED" ? 1n : 0n) : (sequences[index] = (sequences[index] ?? 0) + 1);
    const partnerEvents = {
      type,
      cursor: Buffer.from(`partner:${sequence}`).toString("base64url"),
      sequence: String(sequence),
      committedAt: sale?.committedAt ?? new Date().toISOString(),
      commission: type === "COMMISSION_ACCRUED" ? commission : null,
      balance: type === "BALANCE_CHANGED" ? { payable: { amount: sale?.row.balance.payable ?? "0.00" } } : null,
    };
    socket.send(JSON.stringify({ id: "1", type: "next", payload: { data: { partnerEvents } } }));
    sent += 1;
  }
  return sent;
}

/** The loaded floor's HTTP side: POST /sale {"index": n} commits a sale for partner n, sends its two messages, answers {"created": true}. */
function serveSales(id: number, databaseUrl: string, programId: string, partnerIds: string[], poolSize: number): void {
  const db = floorPool(databaseUrl, poolSize);
  let count = 0;
  const http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const { index } = JSON.parse(Buffer.concat(chunks).toString()) as { index: number };
      const i = (count += 1);
      inTransaction(db, (conn) => floorSale(conn, programId, partnerIds[index]!, i)).then(
        (row) => {
          sendAccrual(index, { committedAt: new Date().toISOString(), row });
          res.writeHead(200, { "content-type": "application/json" }).end('{"created":true}');
        },
        (error: unknown) => res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: String(error) })),
      );
    });
  });
  http.listen(0, "127.0.0.1", () => reply({ id, ev: "sales", url: `http://127.0.0.1:${(http.address() as { port: number }).port}/sale` }));
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
    case "sales":
      serveSales(command.id, command.databaseUrl, command.programId, command.partnerIds, command.poolSize);
      return;
  }
});

process.on("disconnect", () => process.exit(0));

wss.on("listening", () => reply({ ev: "listening", port: (wss.address() as { port: number }).port }));
