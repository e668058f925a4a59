// Messages between `bench/feed.ts` and its child processes (over the fork IPC channel).

/** To a client process (bench/feed/clients.ts). */
export type ClientCommand =
  | {
      id: number;
      cmd: "connect";
      /** graphql: graphql-transport-ws with one token per socket; floor: the bare WebSocket server. */
      mode: "graphql" | "floor";
      /** ws://127.0.0.1:port/… */
      url: string;
      /** graphql: one token per socket. */
      tokens?: string[];
      /** graphql: the subscription document. */
      query?: string;
      /** floor: the global index of this process's first socket, and how many. */
      first?: number;
      count?: number;
      /** Handshakes in flight at once in this process. */
      concurrency: number;
      /** Per socket, from opening to ready. */
      timeoutMs: number;
    }
  | { id: number; cmd: "reset" }
  | { id: number; cmd: "stats"; samples: boolean }
  | { id: number; cmd: "close" };

export interface ClientStats {
  /** `next` messages since the last reset. */
  received: number;
  /** Ready sockets that got no message since the last reset. */
  silent: number;
  /** GraphQL errors, `error` messages, and FELL_BEHIND events since the last reset. */
  errors: number;
  fellBehind: number;
  /** Sockets that closed although nobody asked them to. */
  unexpectedCloses: number;
  /** Milliseconds from committedAt to receipt, one per message (when asked). */
  samples?: number[];
  firstError?: string;
}

export type ClientReply =
  | { id: number; ev: "connected"; ready: number; failed: number; firstError?: string }
  | ({ id: number; ev: "stats" } & ClientStats)
  | { id: number; ev: "ok" };

/** To the floor server process (bench/feed/floor-server.ts). */
export type FloorCommand =
  | { id: number; cmd: "count" }
  /** Two messages to every registered socket. */
  | { id: number; cmd: "prime" }
  /** `rate` "accruals" per second for `seconds`, each two messages to a random socket. */
  | { id: number; cmd: "run"; rate: number; seconds: number }
  /** Starts the loaded floor's HTTP side: sales for these partners (raw ids, by socket index) committed by plain pg. */
  | { id: number; cmd: "sales"; databaseUrl: string; programId: string; partnerIds: string[]; poolSize: number };

export type FloorReply =
  | { ev: "listening"; port: number }
  | { id: number; ev: "count"; registered: number }
  | { id: number; ev: "sent"; accruals: number; messages: number; windowMs: number }
  | { id: number; ev: "sales"; url: string };
