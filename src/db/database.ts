import type { PrismaPg } from "@prisma/adapter-pg";
import type { PrismaPGlite } from "pglite-prisma-adapter";
import type pg from "pg";
import { join } from "node:path";
import { PrismaClient } from "../generated/prisma/client.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import type { Migration } from "./migrate.ts";
import { releaseFileBundle } from "./embedded-bundle.ts";
import { createEmbeddedDataDir } from "./embedded-initdb.ts";
import { preparedName } from "./prepared.ts";
import { countStatement, ledgerCountingAdapter } from "./statement-ledger.ts";
import { tagStatements } from "./statement-tags.ts";

export type { PrismaClient };

/** Runs plain SQL outside Prisma: migrations and the few hand-written statements. */
export interface SqlRunner {
  /** Runs a multi-statement script. */
  exec(sql: string): Promise<void>;
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs `work` in one transaction on one connection. */
  transaction<T>(work: (sql: Omit<SqlRunner, "transaction">) => Promise<T>): Promise<T>;
}

/** One statement: its text (placeholders $1, $2, …) and values. A text marked PREPARED (db/prepared.ts) is prepared once per connection. */
export interface SqlStatement {
  text: string;
  values: unknown[];
}

/** The connection of a transaction run by `Database.sqlTransaction`. */
export interface SqlTransaction {
  run<T>(statement: SqlStatement): Promise<{ rows: T[]; rowCount: number }>;
}

/** Held until released, or until the connection holding it ends (a crashed process frees it). */
export interface HeldLock {
  release(): Promise<void>;
}

export interface Database {
  kind: "pglite" | "postgres";
  prisma: PrismaClient;
  sql: SqlRunner;
  /** Counts the statements Prisma sends, for the N+1 tests. */
  statements: { count: number };
  /**
   * Takes the lock named `name` unless someone holds it (then undefined).
   * On PostgreSQL it is a session advisory lock on a connection of its own,
   * so the database frees it the moment the holder's process dies, with no
   * timer to wait out; the embedded database lives and dies with this
   * process, where an in-process set does the same.
   */
  tryLock(name: string): Promise<HeldLock | undefined>;
  /**
   * PostgreSQL only: runs `work` in one transaction on a pool connection,
   * without Prisma's interactive transaction (services/transact.ts, for
   * services that send SQL alone). The same bounds as Prisma's: waiting for
   * a connection at most `transactionStartMs`, each statement the
   * statement timeout, and no statement (nor COMMIT) once `timeoutMs` has
   * passed since the start: it fails with Prisma's words for an expired
   * transaction (db/errors.ts reads them as SERVICE_UNAVAILABLE) and the
   * transaction is rolled back. BEGIN travels with the first statement.
   */
  sqlTransaction?<T>(work: (sql: SqlTransaction) => Promise<T>, options: { timeoutMs: number }): Promise<T>;
  /**
   * PostgreSQL only: one hand-written read, sent without Prisma (no request
   * serialization, query plan or row mapping of its client) on the same
   * pool, so it is tagged and cancelled with its request
   * (statement-tags.ts), bounded by the statement timeout and the watchdog
   * (WatchedClient), counted in the request's ledger, and fails with pg's
   * errors, which db/errors.ts reads as it reads Prisma's (a database down
   * or too slow is SERVICE_UNAVAILABLE). Rows come as pg reads them: text as
   * strings, int4 as numbers, timestamptz as Date, json parsed (what
   * `$queryRaw` returns for the same columns). The embedded database has
   * none: callers send the statement through `$queryRaw` there.
   */
  sqlRead?<T>(statement: SqlStatement): Promise<T[]>;
  close(): Promise<void>;
}

/**
 * How long the database may keep a request waiting, each ending in an error
 * that reaches clients as SERVICE_UNAVAILABLE (see db/errors.ts), never as a
 * hang. Configured by DATABASE_*_TIMEOUT_MS (config.ts, README).
 */
export interface DatabaseTimeouts {
  /** Opening a connection, or waiting for a free one in the pool (PostgreSQL). */
  connectMs: number;
  /**
   * One statement: PostgreSQL's statement_timeout cancels it on the server.
   * A connection that has not answered UNANSWERED_GRACE_MS after that (a
   * stalled network, a frozen server) is closed by the client, failing its
   * query, so no request waits on a dead socket.
   */
  statementMs: number;
  /** Waiting for an interactive transaction to start (Prisma's maxWait), on both databases. */
  transactionStartMs: number;
  /** Waiting for a row lock (PostgreSQL's lock_timeout); the services report it per record. */
  lockMs: number;
}

/**
 * The embedded database's settings that size its shared memory (BENCHMARKS.md,
 * "Idle server"). PGlite zeroes all of its shared memory at start, so every
 * byte of it stays resident in the server's process from the first second:
 * each MB of shared_buffers is a MiB of RSS, and max_connections sizes the
 * lock and process tables (PostgreSQL's default of 100 cost 4 MiB). PGlite
 * runs one backend; ten connections leave headroom for the lock table of a
 * large migration. The data directory's files, in the OS's page cache,
 * stand behind the buffers: sales, batches and reads of a development
 * program took the same CPU with 1, 4 and 16 MB.
 */
export const PGLITE_SHARED_BUFFERS = "1MB";
export const PGLITE_MAX_CONNECTIONS = 10;

export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = { connectMs: 5_000, statementMs: 10_000, transactionStartMs: 10_000, lockMs: 5_000 };

/** How much longer than statement_timeout the client waits for an answer before closing the connection. */
export const UNANSWERED_GRACE_MS = 2_000;

export type DatabaseOptions =
  | {
      kind: "pglite";
      dataDir?: string;
      /** Applied in the process that creates a new data folder (db/embedded-initdb.ts); migrate() then finds them applied. */
      migrations?: Migration[];
      countStatements?: boolean;
      timeouts?: Partial<DatabaseTimeouts>;
    }
  | { kind: "postgres"; url: string; poolSize?: number; countStatements?: boolean; timeouts?: Partial<DatabaseTimeouts> };

function countingClient(adapter: PrismaPg | PrismaPGlite, count: boolean, timeouts: DatabaseTimeouts): { prisma: PrismaClient; statements: { count: number } } {
  const statements = { count: 0 };
  // Prisma's own default maxWait (2 s) would apply to every transaction that names none.
  const transactionOptions = { maxWait: timeouts.transactionStartMs };
  if (!count) return { prisma: new PrismaClient({ adapter, transactionOptions }), statements };
  // Per request too (statement-ledger.ts): the global count includes whatever runs in the background.
  const prisma = new PrismaClient({ adapter: ledgerCountingAdapter(adapter), transactionOptions, log: [{ emit: "event", level: "query" }] });
  prisma.$on("query", () => {
    statements.count += 1;
  });
  return { prisma: prisma as unknown as PrismaClient, statements };
}

/**
 * Opens the embedded database (PGlite, in `dataDir`, or in memory without one)
 * or a PostgreSQL server. The same migrations and queries serve both.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const timeouts = { ...DEFAULT_DATABASE_TIMEOUTS, ...options.timeouts };
  if (options.kind === "pglite") {
    const lock = options.dataDir ? lockDataDir(options.dataDir) : undefined;
    try {
      // Loaded only for the embedded database: a server on PostgreSQL never holds PGlite's code.
      const [{ PGlite }, { PrismaPGlite }] = await Promise.all([import("@electric-sql/pglite"), import("pglite-prisma-adapter")]);
      // PostgreSQL's default 128 MB of shared buffers was the largest part of an idle embedded
      // server's memory, and its WebAssembly memory never shrinks (see PGLITE_SHARED_BUFFERS).
      const pgliteOptions = {
        startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${PGLITE_SHARED_BUFFERS}`, "-c", `max_connections=${PGLITE_MAX_CONNECTIONS}`],
      };
      if (options.dataDir) await createEmbeddedDataDir(join(options.dataDir, "pgdata"), options.migrations);
      const pglite = options.dataDir ? new PGlite(join(options.dataDir, "pgdata"), pgliteOptions) : new PGlite(pgliteOptions);
      await pglite.waitReady;
      releaseFileBundle(pglite);
      const { prisma, statements } = countingClient(new PrismaPGlite(pglite), options.countStatements ?? false, timeouts);
      const held = new Set<string>();
      const sql: SqlRunner = {
        exec: async (text) => {
          await pglite.exec(text);
        },
        query: async <T>(text: string, params: unknown[] = []) => (await pglite.query<T>(text, params)).rows,
        transaction: (work) =>
          pglite.transaction((tx) =>
            work({
              exec: async (text) => {
                await tx.exec(text);
              },
              query: async <T>(text: string, params: unknown[] = []) => (await tx.query<T>(text, params)).rows,
            }),
          ),
      };
      return {
        kind: "pglite",
        prisma,
        sql,
        statements,
        async tryLock(name) {
          if (held.has(name)) return undefined;
          held.add(name);
          return { release: async () => void held.delete(name) };
        },
        async close() {
          await prisma.$disconnect();
          await pglite.close();
          lock?.release();
        },
      };
    } catch (error) {
      lock?.release();
      throw error;
    }
  }

  // Loaded only for PostgreSQL: an embedded server never holds pg's code (BENCHMARKS.md, "Idle server").
  const [{ default: pg }, { PrismaPg }] = await Promise.all([import("pg"), import("@prisma/adapter-pg")]);
  const WatchedClient = watchedClientClass(pg, timeouts);
  const connection = {
    connectionString: options.url,
    connectionTimeoutMillis: timeouts.connectMs,
    // Per connection, so no transaction pays a SET for them. lock_timeout
    // because the interactive transaction's own timeout does not interrupt
    // a blocked statement. A prepared statement (db/prepared.ts) is planned
    // for its values each time: a generic plan of the ledger's CTEs, blind to
    // how many rows its arrays hold, cost PostgreSQL twice the CPU per sale.
    options: `-c lock_timeout=${timeouts.lockMs} -c statement_timeout=${timeouts.statementMs} -c plan_cache_mode=force_custom_plan`,
    keepAlive: true,
  };
  // Pipelined, so the BEGIN of an interactive transaction travels with its
  // first statement (see WatchedClient): one round trip fewer per transaction.
  const pool = new pg.Pool({ ...connection, pipeline: true, max: options.poolSize ?? 10, Client: WatchedClient as never });
  // An idle connection dropped by the server must not crash the process.
  pool.on("error", () => {});
  // A timed-out query's statements can be found and cancelled (see statement-tags.ts).
  tagStatements(pool);
  const { prisma, statements } = countingClient(new PrismaPg(pool, { statementNameGenerator: preparedName as never }), options.countStatements ?? false, timeouts);
  const untimed = (text: string, values?: unknown[]) => ({ text, values, [UNTIMED]: true });
  const sql: SqlRunner = {
    exec: async (text) => {
      await pool.query(untimed(text));
    },
    query: async <T>(text: string, params: unknown[] = []) => (await pool.query(untimed(text, params))).rows as T[],
    transaction: async (work) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await work({
          exec: async (text) => {
            await client.query(untimed(text));
          },
          query: async <T>(text: string, params: unknown[] = []) => (await client.query(untimed(text, params))).rows as T[],
        });
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
  };
  const lockClients = new Set<pg.Client>();
  const counting = options.countStatements ?? false;
  /** A statement sent without Prisma, counted as Prisma's are (globally, and in the request's ledger). */
  const counted = (result: pg.QueryResult, text: string, values: unknown[]) => {
    if (!counting) return;
    statements.count += 1;
    countStatement(result.rows.length, text, values);
  };
  return {
    kind: "postgres",
    prisma,
    sql,
    statements,
    async sqlRead<T>({ text, values }: SqlStatement) {
      // Through pool.query, as the driver adapter sends Prisma's reads: tagged there when the request is.
      const result = (await pool.query({ text, values })) as pg.QueryResult;
      counted(result, text, values);
      return result.rows as T[];
    },
    async sqlTransaction(work, { timeoutMs }) {
      const client = await connectWithin(pool, timeouts.transactionStartMs);
      const started = Date.now();
      // Not awaited: the first statement follows it on the wire (the pool is pipelined) and reports its error.
      let begun: Promise<unknown> | undefined = client.query("BEGIN");
      begun.catch(() => {});
      const send = async <T>(text: string, values: unknown[] = []) => {
        const elapsed = Date.now() - started;
        if (elapsed > timeoutMs)
          throw new Error(
            `Transaction already closed: A query cannot be executed on an expired transaction. The timeout for this transaction was ${timeoutMs} ms, however ${elapsed} ms passed since the start of the transaction.`,
          );
        const pending = client.query({ name: preparedName({ sql: text }), text, values }) as unknown as Promise<pg.QueryResult>;
        if (begun) {
          pending.catch(() => {});
          const begin = begun;
          begun = undefined;
          await begin;
        }
        const result = await pending;
        counted(result, text, values);
        return { rows: result.rows as T[], rowCount: result.rowCount ?? 0 };
      };
      try {
        const result = await work({ run: (statement) => send(statement.text, statement.values) });
        await send("COMMIT");
        client.release();
        return result;
      } catch (error) {
        // A connection that cannot even roll back is closed, not handed out again.
        const unusable = await client.query("ROLLBACK").then(
          () => undefined,
          (failed: Error) => failed,
        );
        client.release(unusable);
        throw error;
      }
    },
    async tryLock(name) {
      const client = new WatchedClient(connection);
      await client.connect();
      try {
        const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked", [name]);
        if (!rows[0]?.locked) {
          await client.end();
          return undefined;
        }
      } catch (error) {
        await client.end().catch(() => {});
        throw error;
      }
      lockClients.add(client);
      return {
        async release() {
          // Ending the session frees the lock; an unlock first would cost a round trip for nothing.
          if (lockClients.delete(client)) await client.end().catch(() => {});
        },
      };
    },
    async close() {
      await Promise.all([...lockClients].map((client) => client.end().catch(() => {})));
      lockClients.clear();
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/**
 * A pool connection, or an error once `ms` have passed without one (the
 * words of Prisma's maxWait, which db/errors.ts reads as SERVICE_UNAVAILABLE);
 * a connection that comes later goes back to the pool.
 */
function connectWithin(pool: pg.Pool, ms: number): Promise<pg.PoolClient> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new Error(`Unable to start a transaction in the given time: no database connection was free within ${ms} ms`));
    }, ms);
    pool.connect().then(
      (client) => {
        clearTimeout(timer);
        if (late) client.release();
        else resolve(client);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Marks a query the watchdog leaves alone: migrations wait for each other as long as it takes. */
const UNTIMED = Symbol("untimed");

/** How Prisma's driver adapter begins an interactive transaction: a statement of its own, awaited before the first one. */
function isAdapterBegin(config: unknown, values: unknown): boolean {
  return typeof config === "object" && config !== null && (config as { text?: unknown }).text === "BEGIN" && values === undefined && !("submit" in config);
}

/** What BEGIN answers, given to the adapter at once (it reads nothing of it). */
const BEGUN = { command: "BEGIN", rowCount: null, oid: 0, rows: [], fields: [] };

/**
 * A pg client whose queries cannot outlive the statement timeout by more
 * than UNANSWERED_GRACE_MS: past that the connection is closed (an error the
 * Prisma adapter reads as a socket timeout), so the pool never hands it out
 * again. pg's own `query_timeout` fails the query but keeps the connection,
 * still waiting for the old answer, in the pool.
 *
 * On a pipelined connection the adapter's BEGIN is written at once and
 * answered at once, without waiting for PostgreSQL: the transaction's first
 * statement follows it on the wire and its answer waits for BEGIN's, so a
 * BEGIN that fails fails that statement (and the transaction) with its own
 * error. A transaction's first statement therefore costs one round trip,
 * not two.
 */
function watchedClientClass(pg: typeof import("pg").default, timeouts: DatabaseTimeouts) {
  const limitMs = timeouts.statementMs + UNANSWERED_GRACE_MS;
  return class WatchedClient extends pg.Client {
    /** The BEGIN written but not yet awaited by anyone (pipelined connections only). */
    private begun: Promise<unknown> | undefined;

    constructor(config: pg.ClientConfig) {
      super(config);
      // A connection lost while checked out fails its queries; without a
      // listener its "error" event would also end the process.
      this.on("error", () => {});
      const query = this.query.bind(this) as (...args: unknown[]) => unknown;
      const timed = (...args: unknown[]): unknown => {
        const [config, values, callback] = args as [Record<PropertyKey, unknown> | string, unknown, unknown];
        if (typeof config === "object" && config !== null && (config[UNTIMED] || typeof config.submit === "function")) return query(...args);
        const timer = setTimeout(() => this.abandon(limitMs), limitMs);
        const done = () => clearTimeout(timer);
        if (typeof values === "function") return query(config, (error: unknown, result: unknown) => (done(), values(error, result)));
        if (typeof callback === "function") return query(config, values, (error: unknown, result: unknown) => (done(), callback(error, result)));
        const result = query(config, values) as Promise<unknown>;
        result.then(done, done);
        return result;
      };
      const watched = (...args: unknown[]): unknown => {
        if (this.pipeline && isAdapterBegin(args[0], args[1])) {
          const begun = timed(args[0]) as Promise<unknown>;
          // Reported with the statement that follows it.
          begun.catch(() => {});
          this.begun = begun;
          return Promise.resolve(BEGUN);
        }
        const begun = this.begun;
        if (!begun) return timed(...args);
        this.begun = undefined;
        const callbackAt = args.findIndex((arg) => typeof arg === "function");
        if (callbackAt >= 0) {
          const callback = args[callbackAt] as (error: unknown, result?: unknown) => void;
          const after = [...args];
          after[callbackAt] = (error: unknown, result: unknown) =>
            void begun.then(
              () => callback(error, result),
              (failed: unknown) => callback(failed),
            );
          return timed(...after);
        }
        const result = timed(...args) as Promise<unknown>;
        return result.then(
          (value) => begun.then(() => value),
          (error: unknown) =>
            begun.then(
              () => Promise.reject(error),
              (failed: unknown) => Promise.reject(failed),
            ),
        );
      };
      this.query = watched as never;
    }

    /** Closes the connection, failing its queries with a socket timeout (ETIMEDOUT). */
    abandon(limitMs: number) {
      const error = Object.assign(new Error(`the database did not answer within ${limitMs} ms`), { code: "ETIMEDOUT", syscall: "read", errno: -110 });
      (this as unknown as { connection: { stream: { destroy(error: Error): void } } }).connection.stream.destroy(error);
    }
  };
}
