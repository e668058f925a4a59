import type { Viewer } from "./auth/viewer.ts";
import type { Realtime } from "./realtime/realtime.ts";
import type { ScopedPrisma } from "./db/tenant-scope.ts";
import type { Actor, ServiceDeps } from "./services/deps.ts";

/** The GraphQL context, made per request (HTTP) or per operation (WebSocket). */
export interface Context {
  viewer: Viewer | null;
  /**
   * Reads for this viewer: scoped to its program, and for partners to the
   * partner's own rows. Anonymous and platform viewers get a scope that
   * matches nothing.
   */
  db: ScopedPrisma;
  deps: ServiceDeps;
  /** The viewer as services see it; undefined for anonymous and platform viewers. */
  actor: Actor | undefined;
  realtime: Realtime;
  /** Set once a mutation has run in this request: its payload is what it wrote (the `wrote` auth scope). */
  inMutation?: boolean;
  /** Over WebSocket: waits while the client is not reading (its send buffer is full). */
  waitWritable?: () => Promise<void>;
}

/** No program has this id, so a client scoped to it reads nothing. */
export const NO_PROGRAM = "00000000-0000-0000-0000-000000000000";

/**
 * A scoped client made on first use: a context that never reads (a live
 * feed's, which reads through its program's shared client) holds no client
 * of its own. Each scoped client is a Prisma extension with its own proxies
 * (about 7 KiB, and 4 KiB more per model it touches), which a subscription
 * would otherwise keep for as long as it is open. A getter would not do:
 * yoga copies the context's properties into its own (`Object.assign`).
 */
function lazyClient(deps: ServiceDeps, programId: string, partnerId?: string): ScopedPrisma {
  return new Proxy(new LazyClient(deps, programId, partnerId), lazyHandler) as unknown as ScopedPrisma;
}

/** What a lazy client is made from (private fields: the proxy shows none of them). */
class LazyClient {
  #client: ScopedPrisma | undefined;
  readonly #deps: ServiceDeps;
  readonly #programId: string;
  readonly #partnerId: string | undefined;

  constructor(deps: ServiceDeps, programId: string, partnerId: string | undefined) {
    this.#deps = deps;
    this.#programId = programId;
    this.#partnerId = partnerId;
  }

  real(): ScopedPrisma {
    this.#client ??= this.#deps.tenant(this.#programId, this.#partnerId);
    return this.#client;
  }
}

/** One handler for every lazy client, so that a context holds no closures for its client. */
const lazyHandler: ProxyHandler<LazyClient> = {
  get(lazy, key) {
    const target = lazy.real();
    const value: unknown = Reflect.get(target, key, target);
    return typeof value === "function" ? value.bind(target) : value;
  },
  has: (lazy, key) => Reflect.has(lazy.real(), key),
};

export function createContext(deps: ServiceDeps, viewer: Viewer | null, realtime: Realtime, waitWritable?: () => Promise<void>): Context {
  if (!viewer || viewer.role === "platform") {
    return { viewer, db: lazyClient(deps, NO_PROGRAM), deps, actor: undefined, realtime, waitWritable };
  }
  const partnerId = viewer.role === "partner" ? viewer.partnerId : undefined;
  return {
    viewer,
    db: lazyClient(deps, viewer.programId, partnerId),
    deps,
    actor: { role: viewer.role, id: viewer.subject, programId: viewer.programId, partnerId },
    realtime,
    waitWritable,
  };
}
