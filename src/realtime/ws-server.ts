import type { Server } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { YogaServerInstance } from "graphql-yoga";
import type { GraphQLError } from "graphql";
import { RequestCache } from "@pothos/plugin-scope-auth";
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from "graphql-ws";
import { WebSocket, WebSocketServer } from "ws";
import type { Authenticator } from "../auth/authenticate.ts";
import type { Viewer } from "../auth/viewer.ts";
import type { Clock } from "../clock.ts";
import type { Logger } from "../logger.ts";
import { expectedFailure, failureError } from "../graphql/error-codes.ts";
import { deadlines, type Deadline } from "./deadlines.ts";

/** WebSocket close code 1013, "Try Again Later": clients reconnect, as they would not after 4403. */
const TRY_AGAIN_LATER = 1013;

/** Bytes waiting in a socket's send buffer beyond which we stop sending to it. */
const SEND_BUFFER_HIGH_WATER = 256 * 1024;

/** How often every socket is pinged; one that has not answered the last ping by the next is dropped. */
const KEEP_ALIVE_MS = 12_000;
/**
 * How often the keep-alive sweep turns; each turn pings one slice of the
 * sockets (a period holds a turn per slice). A ping is a write to a socket
 * and a wakeup of its reader, about 30 µs here: 10,000 at once held the event
 * loop for 0.3-0.5 s, a twentieth of them (a slice when a period held twenty)
 * about 15 ms. At 50 ms a turn pings about 40 of 10,000 sockets.
 */
const SWEEP_TURN_MS = 50;
type Extra = {
  socket: WebSocket;
  token?: string;
  viewer?: Viewer;
  expiry?: Expiry;
};

/** Closes a connection when its token expires (on the process's shared deadlines, not a timer per connection). */
class Expiry implements Deadline {
  at = 0;
  slot = -1;
  constructor(private readonly socket: WebSocket) {}

  expire(): void {
    this.socket.close(4403, "Token expired");
  }
}

function tokenFrom(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const raw = params?.authorization ?? params?.Authorization ?? params?.token;
  if (typeof raw !== "string") return undefined;
  return raw.replace(/^Bearer\s+/i, "").trim() || undefined;
}

/**
 * graphql-ws on the HTTP server's port and path, through yoga's envelop
 * (same schema, context, validation rules and limits as HTTP). The token
 * comes in `connectionParams` ({ authorization: "Bearer …" }) and is checked
 * at connection: a missing or bad one closes the socket with 4403; when it
 * expires, or is found revoked when an operation starts, the socket is
 * closed with 4403 too (running feeds check for revocation themselves).
 */
export function attachWebSocketServer(
  server: Server,
  yoga: YogaServerInstance<object, object>,
  auth: Authenticator,
  clock: Clock,
  logger: Logger,
  limits: { maxPayloadBytes?: number; keepAliveMs?: number } = {},
) {
  // A message over the body cap closes the socket (1009) before it is parsed.
  const wss = new WebSocketServer({ server, path: "/graphql", ...(limits.maxPayloadBytes ? { maxPayload: limits.maxPayloadBytes } : {}) });
  const disposable = serveGraphqlWs<Record<string, unknown> | undefined, Extra>(
    {
      onConnect: async (ctx) => {
        const token = tokenFrom(ctx.connectionParams);
        if (!token) return false;
        try {
          const viewer = await auth.viewerFromToken(token);
          // The token as the client sent it is not needed past the handshake (the connection keeps the bare token in extra).
          if (ctx.connectionParams) for (const key of ["authorization", "Authorization", "token"]) Reflect.deleteProperty(ctx.connectionParams, key);
          ctx.extra.token = token;
          ctx.extra.viewer = viewer;
          if (viewer.expiresAt) {
            const ms = viewer.expiresAt.getTime() - clock.now().getTime();
            ctx.extra.expiry = new Expiry(ctx.extra.socket);
            deadlines.add(ctx.extra.expiry, ms);
          }
          return true;
        } catch (error) {
          // The database not answering is no bad token: say "later", not "forbidden".
          if (expectedFailure(error)) ctx.extra.socket.close(TRY_AGAIN_LATER, "Service unavailable, retry later");
          return false;
        }
      },
      onClose: (ctx) => {
        if (ctx.extra.expiry) deadlines.remove(ctx.extra.expiry);
      },
      onSubscribe: async (ctx, _id, payload) => {
        const socket = ctx.extra.socket;
        // Checked again for every operation: a token revoked since the
        // connection opened (integration tokens) ends the connection.
        try {
          ctx.extra.viewer = await auth.viewerFromToken(ctx.extra.token!);
        } catch (error) {
          // A database that is down fails this operation only, retryably; the socket stays.
          const failure = expectedFailure(error);
          if (failure) return [failureError(failure)];
          socket.close(4403, "Token revoked");
          return [error as GraphQLError];
        }
        const waitWritable = async () => {
          // graphql-ws sends without waiting for the client: hold the feed
          // here, so a client that stops reading fills its bounded queue
          // instead of the socket's unbounded buffer.
          while (socket.readyState === WebSocket.OPEN && socket.bufferedAmount > SEND_BUFFER_HIGH_WATER) await sleep(20);
        };
        // Only what the context needs: a subscription keeps its context while it is open.
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          req: undefined,
          socket,
          params: payload,
          viewer: ctx.extra.viewer ?? null,
          waitWritable,
        });
        const args = {
          schema,
          operationName: payload.operationName,
          document: parse(payload.query),
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
      execute: (args) => (args.rootValue as { execute: (a: unknown) => unknown }).execute(args) as never,
      subscribe: async (args) => {
        const result = await (args.rootValue as { subscribe: (a: unknown) => unknown }).subscribe(args);
        // The subscription field was authorized; scope-auth's cache of that
        // (maps per context) would otherwise stay for as long as the
        // subscription is open. A field checked again later rebuilds it.
        if (args.contextValue) RequestCache.clearForContext(args.contextValue as object);
        return result as never;
      },
    },
    wss,
    logger,
    limits.keepAliveMs ?? KEEP_ALIVE_MS,
  );
  return {
    wss,
    async close() {
      for (const client of wss.clients) client.close(1001, "Server shutting down");
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** What graphql-ws's server is told of a socket: one object per socket, its methods shared (graphql-ws calls them as methods). */
class GraphqlWsSocket {
  /** graphql-ws's handler of the socket's messages, and what it runs when the socket closes. */
  receive: ((data: string) => Promise<void>) | undefined;
  closed: ((code?: number, reason?: string) => Promise<void>) | undefined;
  /** Whether the socket answered the last ping. */
  alive = true;
  /** Not pinged yet: the sweep's first visit passes it by (see serveGraphqlWs). */
  fresh = true;
  /** The sweep's slice it is in: its sockets are pinged at the same turn. */
  slice: Set<Socket> | undefined;

  constructor(readonly socket: WebSocket) {}

  get protocol(): string {
    return this.socket.protocol;
  }

  send(data: string): Promise<void> {
    const { socket } = this;
    if (socket.readyState !== WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => socket.send(data, (error) => (error ? reject(error) : resolve())));
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }

  onMessage(receive: (data: string) => Promise<void>): void {
    this.receive = receive;
    this.socket.on("message", onSocketMessage);
  }
}

const CONNECTION = Symbol("graphql-ws connection");
type Socket = WebSocket & { [CONNECTION]?: GraphqlWsSocket };

// The sockets' listeners: shared functions (`this` is the socket), not closures per socket.
function onSocketMessage(this: Socket, data: WebSocket.RawData): void {
  const connection = this[CONNECTION]!;
  connection.receive?.(String(data)).catch(() => {
    // graphql-ws's own handler failed (not an operation: those answer with errors).
    connection.close(CloseCode.InternalServerError, "Internal server error");
  });
}

function onSocketPong(this: Socket): void {
  this[CONNECTION]!.alive = true;
}

function onSocketError(this: Socket): void {
  this.close(CloseCode.InternalServerError, "Internal server error");
}

function onSocketClose(this: Socket, code: number, reason: Buffer): void {
  const connection = this[CONNECTION]!;
  connection.slice?.delete(this);
  void connection.closed?.(code, String(reason));
}

/**
 * graphql-ws's protocol server on a `ws` server: what graphql-ws's own
 * `useServer` does, without a ping timer and half a dozen closures per
 * socket (held for as long as the socket is open: a storm of reconnecting
 * subscribers makes thousands). Every socket is pinged once every
 * `keepAliveMs` by one sweep, which pings one slice of them at each of its
 * turns (every SWEEP_TURN_MS), the first time one to two periods after it
 * connected; one that did not answer its previous ping is dropped.
 */
function serveGraphqlWs<P extends Record<string, unknown> | undefined, E extends { socket: WebSocket }>(
  options: ServerOptions<P, E>,
  wss: WebSocketServer,
  logger: Logger,
  keepAliveMs: number,
): { dispose(): Promise<void> } {
  const server = makeServer<P, E>(options);
  wss.options.handleProtocols = handleProtocols;
  wss.on("error", (error) => {
    logger.error({ err: error }, "websocket server error");
    for (const client of wss.clients) client.close(CloseCode.InternalServerError, "Internal server error");
  });
  const slices = Array.from({ length: Math.max(1, Math.round(keepAliveMs / SWEEP_TURN_MS)) }, () => new Set<Socket>());
  let turn = 0;
  let opened = 0;
  // The sweep runs only while sockets are open: an idle server has no timer of its own waking it.
  let sweep: NodeJS.Timeout | undefined;
  const sweepTurn = () => {
    if (wss.clients.size === 0) {
      clearInterval(sweep);
      sweep = undefined;
      return;
    }
    for (const client of slices[turn++ % slices.length]!) {
      const connection = client[CONNECTION]!;
      if (client.readyState !== WebSocket.OPEN) continue;
      if (connection.fresh) {
        connection.fresh = false;
        continue;
      }
      if (!connection.alive) {
        client.terminate();
        continue;
      }
      connection.alive = false;
      client.ping();
    }
  };
  wss.on("connection", (socket: Socket) => {
    if (!sweep) {
      sweep = setInterval(sweepTurn, keepAliveMs / slices.length);
      sweep.unref();
    }
    const connection = new GraphqlWsSocket(socket);
    // The slices in turn, so that each holds as many sockets, however fast they
    // came; the first visit passes a new socket by, so that it is pinged first
    // one to two periods after it connected (graphql-ws's own timer per socket:
    // one) and a reconnect storm costs no pings while it lasts.
    connection.slice = slices[opened++ % slices.length]!;
    connection.slice.add(socket);
    socket[CONNECTION] = connection;
    // `on`, not `once`: `once` wraps the listener in a closure per socket. A socket closes once.
    socket.on("error", onSocketError);
    socket.on("pong", onSocketPong);
    socket.on("close", onSocketClose);
    connection.closed = server.opened(connection, { socket } as E);
  });
  return {
    async dispose() {
      clearInterval(sweep);
      for (const client of wss.clients) client.close(1001, "Going away");
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
