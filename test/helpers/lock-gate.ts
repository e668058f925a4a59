import pg from "pg";
import type { TestApp } from "./test-app.ts";

/**
 * A race the test forces instead of hoping for: the gate holds row locks
 * (FOR UPDATE, in its own transaction) that the racing requests need, so
 * they pile up behind it, all inside their transactions at once; the test
 * sees how many wait (`waitFor`) and lets them go together (`release`).
 * Started one by one with `waitFor(n)` in between, they queue in that order:
 * the first to wait is the first to get the row, which is how a test makes
 * each order of a race happen. PostgreSQL only.
 */
export interface LockGate {
  /** Locks the rows of `table` whose `column` is one of `ids`. */
  hold(table: string, column: string, ids: string[]): Promise<void>;
  /** Backends of this database waiting for a lock now (the gate's own connection aside). */
  waiting(): Promise<number>;
  /** Resolves once `count` backends wait; the largest number seen is kept in `peak`. */
  waitFor(count: number, ms?: number): Promise<void>;
  peak: number;
  release(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Backends of the watcher's database waiting for a lock now, the watcher's
 * own and `others` (the test's connections, a lock holder say) aside.
 */
export async function lockWaiters(watcher: pg.Client, ...others: pg.Client[]): Promise<number> {
  const pids = others.map((client) => (client as unknown as { processID: number }).processID);
  const { rows } = await watcher.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND NOT (pid = ANY($1::int[]))`,
    [pids],
  );
  return rows[0]!.n;
}

export function databaseUrlOf(t: TestApp): string {
  const database = t.app.config.database;
  if (database.kind !== "postgres") throw new Error("a lock gate needs PostgreSQL");
  return database.url;
}

export async function openLockGate(databaseUrl: string): Promise<LockGate> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  // Watched from a connection of its own: inside the gate's transaction,
  // pg_stat_activity would answer from the snapshot its first read took.
  const observer = new pg.Client({ connectionString: databaseUrl });
  await observer.connect();
  const gatePid = (await client.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
  let open = false;
  const gate: LockGate = {
    peak: 0,
    async hold(table, column, ids) {
      if (!open) await client.query("BEGIN");
      open = true;
      // Identifiers come from the tests themselves, never from input.
      await client.query(`SELECT 1 FROM ${table} WHERE ${column} = ANY($1::uuid[]) FOR UPDATE`, [ids]);
    },
    async waiting() {
      const { rows } = await observer.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> $1 AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'",
        [gatePid],
      );
      const n = rows[0].n as number;
      gate.peak = Math.max(gate.peak, n);
      return n;
    },
    async waitFor(count, ms = 20_000) {
      const deadline = Date.now() + ms;
      let now = await gate.waiting();
      while (now < count) {
        if (Date.now() > deadline) {
          const { rows } = await observer.query(
            "SELECT state, wait_event_type, wait_event, left(query, 60) AS query, count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1, 2, 3, 4",
          );
          throw new Error(`waited ${ms} ms for ${count} requests to queue behind the gate; ${now} did. Backends: ${JSON.stringify(rows)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
        now = await gate.waiting();
      }
    },
    async release() {
      if (open) await client.query("ROLLBACK");
      open = false;
    },
    async close() {
      await gate.release();
      await client.end();
      await observer.end();
    },
  };
  return gate;
}
