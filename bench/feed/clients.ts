// One of `bench/feed.ts`'s subscriber processes: holds its share of the raw
// `ws` sockets, speaking graphql-transport-ws directly (or, for the floor, a
// bare hello/welcome exchange), and measures each `next` message's latency as
// Date.now() minus Date.parse(committedAt). Driven over the fork IPC channel.
import WebSocket from "ws";
import type { ClientCommand, ClientReply, ClientStats } from "./protocol.ts";

interface Conn {
  socket: WebSocket;
  ready: boolean;
  received: number;
}

let conns: Conn[] = [];
let closing = false;
let stats = { received: 0, errors: 0, fellBehind: 0, unexpectedCloses: 0, firstError: undefined as string | undefined };
let samples: number[] = [];

const reply = (message: ClientReply) => process.send!(message);

function problem(text: string) {
  stats.errors += 1;
  stats.firstError ??= text.slice(0, 500);
}

type Incoming = {
  type?: string;
  payload?: { data?: { partnerEvents?: { type?: string; committedAt?: string | null } }; errors?: unknown[] } | unknown[];
};

/** Opens one socket and resolves once it is ready (subscribed, or welcomed by the floor), or rejects. */
function open(command: Extract<ClientCommand, { cmd: "connect" }>, index: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const graphql = command.mode === "graphql";
    const socket = new WebSocket(command.url, graphql ? "graphql-transport-ws" : undefined, { perMessageDeflate: false, handshakeTimeout: command.timeoutMs });
    const conn: Conn = { socket, ready: false, received: 0 };
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`socket ${index}: not ready after ${command.timeoutMs} ms`));
    }, command.timeoutMs);
    const becomeReady = () => {
      clearTimeout(timer);
      conn.ready = true;
      resolve(conn);
    };
    socket.on("open", () => {
      if (graphql) socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${command.tokens![index]}` } }));
      else socket.send(JSON.stringify({ type: "hello", index: command.first! + index }));
    });
    socket.on("message", (data) => {
      let message: Incoming;
      try {
        message = JSON.parse(data.toString()) as Incoming;
      } catch {
        problem(`unparsable message: ${data.toString().slice(0, 200)}`);
        return;
      }
      switch (message.type) {
        case "next": {
          const now = Date.now();
          const payload = message.payload as Exclude<Incoming["payload"], unknown[]>;
          const event = payload?.data?.partnerEvents;
          // The feed's acknowledgement: it is live from here on.
          if (event?.type === "STARTED") return becomeReady();
          conn.received += 1;
          stats.received += 1;
          if (payload?.errors) problem(`graphql errors: ${JSON.stringify(payload.errors)}`);
          if (event?.type === "FELL_BEHIND") {
            stats.fellBehind += 1;
            problem(`fell behind: ${JSON.stringify(event)}`);
          }
          if (event?.committedAt) samples.push(now - Date.parse(event.committedAt));
          else problem(`an event without committedAt: ${JSON.stringify(event)}`);
          return;
        }
        case "ping":
          socket.send(JSON.stringify({ type: "pong" }));
          return;
        case "pong":
          return;
        case "connection_ack":
          // Ready at the feed's STARTED event, not here: the subscription is live only then.
          socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: command.query } }));
          return;
        case "welcome":
          becomeReady();
          return;
        case "error":
        case "complete":
          problem(`${message.type}: ${JSON.stringify(message.payload ?? null)}`);
          return;
        default:
          problem(`unexpected message: ${data.toString().slice(0, 200)}`);
      }
    });
    socket.on("error", (error) => {
      if (!conn.ready) {
        clearTimeout(timer);
        reject(error);
      } else problem(`socket error: ${error.message}`);
    });
    socket.on("close", (code, reason) => {
      if (!conn.ready) {
        clearTimeout(timer);
        reject(new Error(`socket ${index} closed before ready: ${code} ${reason.toString()}`));
      } else if (!closing) {
        stats.unexpectedCloses += 1;
        problem(`socket closed: ${code} ${reason.toString()}`);
      }
    });
  });
}

async function connect(command: Extract<ClientCommand, { cmd: "connect" }>) {
  const count = command.mode === "graphql" ? command.tokens!.length : command.count!;
  closing = false;
  conns = [];
  resetStats();
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  await Promise.all(
    Array.from({ length: Math.min(command.concurrency, count) }, async () => {
      while (next < count) {
        const index = next;
        next += 1;
        try {
          conns.push(await open(command, index));
        } catch (error) {
          failed += 1;
          firstError ??= String(error);
        }
      }
    }),
  );
  reply({ id: command.id, ev: "connected", ready: conns.length, failed, ...(firstError ? { firstError } : {}) });
}

async function closeAll() {
  closing = true;
  const closed = conns.map(
    (conn) =>
      new Promise<void>((resolve) => {
        if (conn.socket.readyState === WebSocket.CLOSED) return resolve();
        conn.socket.once("close", () => resolve());
        conn.socket.close(1000, "bench done");
      }),
  );
  // Bounded: whatever has not closed after 10 s is cut.
  await Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  for (const conn of conns) if (conn.socket.readyState !== WebSocket.CLOSED) conn.socket.terminate();
  conns = [];
}

function resetStats() {
  stats = { received: 0, errors: 0, fellBehind: 0, unexpectedCloses: 0, firstError: undefined };
  samples = [];
  for (const conn of conns) conn.received = 0;
}

function currentStats(withSamples: boolean): ClientStats {
  return {
    received: stats.received,
    silent: conns.filter((conn) => conn.received === 0).length,
    errors: stats.errors,
    fellBehind: stats.fellBehind,
    unexpectedCloses: stats.unexpectedCloses,
    ...(stats.firstError ? { firstError: stats.firstError } : {}),
    ...(withSamples ? { samples } : {}),
  };
}

process.on("message", (raw) => {
  const command = raw as ClientCommand;
  switch (command.cmd) {
    case "connect":
      void connect(command);
      return;
    case "reset":
      resetStats();
      reply({ id: command.id, ev: "ok" });
      return;
    case "stats":
      reply({ id: command.id, ev: "stats", ...currentStats(command.samples) });
      return;
    case "close":
      void closeAll().then(() => reply({ id: command.id, ev: "ok" }));
      return;
  }
});

// The parent going away ends this process too.
process.on("disconnect", () => process.exit(0));
