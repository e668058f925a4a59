import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Authenticator } from "../../src/auth/authenticate.ts";
import { systemClock } from "../../src/clock.ts";
import { createLogger } from "../../src/logger.ts";
import { attachWebSocketServer } from "../../src/realtime/ws-server.ts";

/** The WebSocket server alone (no operations run here): every token names the platform. */
async function start(keepAliveMs: number) {
  const server: Server = createServer();
  const auth = { viewerFromToken: async () => ({ role: "platform", subject: "keep-alive", expiresAt: new Date(Date.now() + 60_000) }) } as unknown as Authenticator;
  const websockets = attachWebSocketServer(server, undefined as never, auth, systemClock, createLogger("silent"), { keepAliveMs });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    async stop() {
      await websockets.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A connected, acknowledged graphql-transport-ws client; `autoPong: false` plays one whose network went away. */
async function connect(url: string, autoPong: boolean): Promise<{ socket: WebSocket; closed: Promise<number> }> {
  const socket = new WebSocket(url, "graphql-transport-ws", { autoPong });
  const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.once("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: "Bearer t" } })));
    socket.once("message", (data) => (JSON.parse(String(data)).type === "connection_ack" ? resolve() : reject(new Error(String(data)))));
  });
  return { socket, closed };
}

describe("WebSocket keep-alive", () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  it("drops a socket that stops answering pings, and keeps one that answers", async () => {
    // A sweep a second: were this process starved of CPU for longer than a period (a busy machine), the
    // next sweep could run before the answering socket's pong is read, and drop it.
    const server = await start(1_000);
    stop = server.stop;
    const silent = await connect(server.url, false);
    const answering = await connect(server.url, true);
    // Pinged at the first sweep, dropped at the second (terminated: 1006 on the client's side).
    expect(await silent.closed).toBe(1006);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(answering.socket.readyState).toBe(WebSocket.OPEN);
    answering.socket.close();
  });

  it("pings new sockets first one to two periods after they connected, then once a period", async () => {
    // A reconnect storm costs no pings while it lasts (ws-server.ts): the sweep's first visit passes a new socket by.
    const server = await start(1_000);
    stop = server.stop;
    // An earlier socket starts the sweep; twenty more connect a few of its turns later, as many as it has slices.
    const first = await connect(server.url, true);
    await new Promise((resolve) => setTimeout(resolve, 330));
    const storm = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const connectedAt = performance.now();
        const client = await connect(server.url, true);
        const pings: number[] = [];
        client.socket.on("ping", () => pings.push(performance.now() - connectedAt));
        return { ...client, pings };
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    for (const { socket, pings } of storm) {
      // The first ping comes at the sweep's second visit to the socket's slice (its first visit,
      // within a period of connecting, passes it by), the next a period after that.
      expect(pings.length).toBeGreaterThanOrEqual(2);
      expect(pings[0]).toBeGreaterThanOrEqual(900);
      expect(pings[1]! - pings[0]!).toBeGreaterThanOrEqual(900);
      expect(socket.readyState).toBe(WebSocket.OPEN);
      socket.close();
    }
    first.socket.close();
  });
});
