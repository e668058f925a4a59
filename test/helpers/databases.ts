import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * Where API tests run: on the embedded database always, and on PostgreSQL
 * too when TEST_DATABASE_URL is set (required in CI). Each PostgreSQL run
 * gets a database of its own, so runs never collide.
 */
export type DatabaseTarget = "pglite" | "postgres";

export function databaseTargets(): DatabaseTarget[] {
  return process.env.TEST_DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];
}

/** PostgreSQL-only tests (concurrency): skipped without TEST_DATABASE_URL, except in CI where it must be set. */
export const hasPostgres = Boolean(process.env.TEST_DATABASE_URL);
/** Redis tests (fan-out across instances): skipped without REDIS_URL, except in CI where it must be set. */
export const hasRedis = Boolean(process.env.REDIS_URL);

/** An empty database of its own on the test server (for tests of migrating, or of a server's start on nothing). */
export async function createPostgresDatabase(): Promise<ScratchDatabase> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error("TEST_DATABASE_URL is not set");
  return createScratchDatabase(base, `accrue_test_${process.pid}`);
}

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database on the server of `base` (a URL to any of its databases); drop() removes it. */
export async function createScratchDatabase(base: string, prefix: string, template?: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(template ? `CREATE DATABASE ${name} TEMPLATE ${template}` : `CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
