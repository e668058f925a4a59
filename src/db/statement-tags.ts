import { AsyncLocalStorage } from "node:async_hooks";
import type pg from "pg";

/**
 * Cancelling one request's SQL on PostgreSQL. Prisma takes no abort signal,
 * and `pg_cancel_backend` cancels whatever a connection is running at that
 * moment, which may already be another request's statement. So every
 * statement sent on behalf of a tagged request starts with a comment naming
 * the request, and cancelling cancels exactly the statements PostgreSQL shows
 * running with that comment (`pg_stat_activity`), in one statement on a
 * connection of its own (the pool may be full of the very statements to
 * cancel).
 *
 * The tag travels in AsyncLocalStorage from where the request starts to
 * `pool.query`, the call plugin-prisma's reads (and `$queryRaw`) reach through
 * the driver adapter. Statements inside interactive transactions go through a
 * checked-out client instead and are not tagged: queries run none, and a
 * mutation's transaction is bounded by its own timeouts.
 */
const currentTag = new AsyncLocalStorage<string>();
/** Requests stopped at their time limit (or whose client left) whose work may still be running. */
const stoppedTags = new Set<string>();
const TAG_PREFIX = "/* accrue-request:";

function tagged(tag: string, text: string): string {
  return `${TAG_PREFIX}${tag} */ ${text}`;
}

/** Runs `work` with its SQL tagged `tag` (a uuid). */
export function runTagged<T>(tag: string, work: () => T): T {
  return currentTag.run(tag, work);
}

/**
 * Refuses every further statement of request `tag` until `work` (the stopped
 * request's execution, still resolving fields in the background) settles:
 * with no abort signal in the executor, this is what keeps a stopped query
 * from sending more SQL.
 */
export function refuseStatementsOf(tag: string, work: Promise<unknown>): void {
  stoppedTags.add(tag);
  const release = () => void stoppedTags.delete(tag);
  work.then(release, release);
}

/** Makes the pool tag the statements it sends for a tagged request. */
export function tagStatements(pool: pg.Pool): void {
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as { query: unknown }).query = (config: unknown, ...rest: unknown[]) => {
    const tag = currentTag.getStore();
    if (tag !== undefined) {
      if (stoppedTags.has(tag)) {
        const refused = new Error("the request was stopped; its statements are not sent");
        const callback = rest.at(-1);
        if (typeof callback !== "function") return Promise.reject(refused);
        process.nextTick(callback as (error: Error) => void, refused);
        return undefined;
      }
      if (typeof config === "string") config = tagged(tag, config);
      // Plain query configs only: a Submittable (cursor, stream) is left as it is.
      else if (config && typeof config === "object" && typeof (config as { text?: unknown }).text === "string" && typeof (config as { submit?: unknown }).submit !== "function") {
        // A tagged text is one of a kind: it is never prepared under a name kept for the plain text.
        config = { ...(config as object), name: undefined, text: tagged(tag, (config as { text: string }).text) };
      }
    }
    return query(config, ...rest);
  };
}

/**
 * Cancels the statements of request `tag` running on the database at `url`;
 * resolves with how many it cancelled.
 */
export async function cancelTaggedStatements(url: string, tag: string): Promise<number> {
  // Only a server on PostgreSQL cancels, and it has loaded pg already (db/database.ts).
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ cancelled: number }>(
      `SELECT count(*) FILTER (WHERE pg_cancel_backend(pid))::int AS cancelled
         FROM pg_stat_activity
        WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() AND starts_with(query, $1)`,
      [`${TAG_PREFIX}${tag} */`],
    );
    return rows[0]?.cancelled ?? 0;
  } finally {
    await client.end().catch(() => {});
  }
}
