import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import pg from "pg";
import { join } from "node:path";
import { PrismaClient } from "../generated/prisma/client.ts";
import { lockDataDir } from "./data-dir-lock.ts";
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

export interface Database {
  kind: "pglite" | "postgres";
  prisma: PrismaClient;
  sql: SqlRunner;
  /** Counts the statements Prisma sends, for the N+1 tests. */
  statements: { count: number };
  close(): Promise<void>;
}

export type DatabaseOptions =
  | { kind: "pglite"; dataDir?: string; countStatements?: boolean }
  | { kind: "postgres"; url: string; poolSize?: number; countStatements?: boolean };

function countingClient(adapter: PrismaPg | PrismaPGlite, count: boolean): { prisma: PrismaClient; statements: { count: number } } {
  const statements = { count: 0 };
  if (!count) return { prisma: new PrismaClient({ adapter }), statements };
  const prisma = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }] });
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
  if (options.kind === "pglite") {
    const lock = options.dataDir ? lockDataDir(options.dataDir) : undefined;
    try {
      const pglite = options.dataDir ? new PGlite(join(options.dataDir, "pgdata")) : new PGlite();
      await pglite.waitReady;
      const { prisma, statements } = countingClient(new PrismaPGlite(pglite), options.countStatements ?? false);
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

  // A row lock is never waited on for more than 5 s (the interactive
  // transaction's own timeout does not interrupt a blocked statement); set
  // per connection, so no transaction pays a SET for it.
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, options: "-c lock_timeout=5000" });
  // An idle connection dropped by the server must not crash the process.
  pool.on("error", () => {});
  // A timed-out query's statements can be found and cancelled (see statement-tags.ts).
  tagStatements(pool);
  const { prisma, statements } = countingClient(new PrismaPg(pool), options.countStatements ?? false);
  const sql: SqlRunner = {
    exec: async (text) => {
      await pool.query(text);
    },
    query: async <T>(text: string, params: unknown[] = []) => (await pool.query(text, params)).rows as T[],
    transaction: async (work) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await work({
          exec: async (text) => {
            await client.query(text);
          },
          query: async <T>(text: string, params: unknown[] = []) => (await client.query(text, params)).rows as T[],
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
  return {
    kind: "postgres",
    prisma,
    sql,
    statements,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
