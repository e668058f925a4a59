import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { openDatabase } from "../../src/db/database.ts";
import { migrate, readMigrations } from "../../src/db/migrate.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** A migrated embedded database folder to copy, instead of paying initdb in every test file. */
    pgliteTemplate: string;
    /** A migrated PostgreSQL database to copy (CREATE DATABASE … TEMPLATE), or "" without TEST_DATABASE_URL. */
    postgresTemplate: string;
  }
}

/**
 * In CI (ACCRUE_REQUIRE_SERVICES=1) the PostgreSQL and Redis tests are
 * required: a missing TEST_DATABASE_URL or REDIS_URL, or a server there that
 * does not answer, fails the run here instead of letting those tests skip
 * (or pass on a fallback, as a live feed would through its periodic check).
 *
 * Also prepares one migrated PGlite folder per set of migrations: a new
 * PGlite folder costs seconds (initdb), a copy of one a fraction of that.
 * Likewise one migrated PostgreSQL database per set of migrations: every
 * migration on a new database costs about 2 s of the server's time, a copy
 * of a migrated one (CREATE DATABASE … TEMPLATE) about 50 ms.
 */
export default async function setup(project: TestProject): Promise<void> {
  if (process.env.ACCRUE_REQUIRE_SERVICES === "1") {
    const missing = ["TEST_DATABASE_URL", "REDIS_URL"].filter((name) => !process.env[name]);
    if (missing.length > 0) {
      throw new Error(`ACCRUE_REQUIRE_SERVICES=1 but ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not set`);
    }
    const silent = [await postgresProblem(process.env.TEST_DATABASE_URL!), await redisProblem(process.env.REDIS_URL!)].filter(Boolean);
    if (silent.length > 0) throw new Error(`ACCRUE_REQUIRE_SERVICES=1 but ${silent.join("; ")}`);
  }
  const migrations = await readMigrations();
  const key = createHash("sha256")
    .update(migrations.map((m) => m.checksum).join())
    .digest("hex")
    .slice(0, 16);
  const template = join(tmpdir(), `accrue-pglite-template-${key}`);
  if (!existsSync(join(template, "pgdata"))) {
    const building = `${template}.${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building, { recursive: true });
    const db = await openDatabase({ kind: "pglite", dataDir: building });
    await migrate(db.sql, migrations);
    await db.close();
    rmSync(template, { recursive: true, force: true });
    renameSync(building, template);
  }
  project.provide("pgliteTemplate", template);
  project.provide("postgresTemplate", process.env.TEST_DATABASE_URL ? await postgresTemplate(process.env.TEST_DATABASE_URL, key, migrations) : "");
}

/**
 * The name of a migrated database on the server of `base` for this set of
 * migrations, made once: built under a name of its own, then renamed, so
 * that runs started at the same time (each with its own migrations) never
 * copy a half-migrated one. Nobody stays connected to it: PostgreSQL copies
 * a template only while no session uses it.
 */
async function postgresTemplate(base: string, key: string, migrations: Awaited<ReturnType<typeof readMigrations>>): Promise<string> {
  const name = `accrue_template_${key}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (rowCount) return name;
    const building = `${name}_${process.pid}`;
    await admin.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${building}`);
    const url = new URL(base);
    url.pathname = `/${building}`;
    const db = await openDatabase({ kind: "postgres", url: url.toString() });
    try {
      await migrate(db.sql, migrations);
    } finally {
      await db.close();
    }
    try {
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
    } catch (error) {
      // Another run finished the same template first: use theirs.
      await admin.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
      if ((error as { code?: string }).code !== "42P04") throw error;
    }
    return name;
  } finally {
    await admin.end();
  }
}

/** Why PostgreSQL at `url` does not answer a query, or null when it does. */
async function postgresProblem(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ one: number }>("SELECT 1 AS one");
    return rows[0]?.one === 1 ? null : "PostgreSQL at TEST_DATABASE_URL answered SELECT 1 wrongly";
  } catch (error) {
    return `PostgreSQL at TEST_DATABASE_URL does not answer (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Why Redis at `url` does not answer PING, or null when it does. */
async function redisProblem(url: string): Promise<string | null> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 10_000 });
  let cause: Error | undefined;
  redis.on("error", (error: Error) => (cause ??= error)); // reported below
  try {
    await redis.connect();
    const answer = await redis.ping();
    return answer === "PONG" ? null : `Redis at REDIS_URL answered PING with ${answer}`;
  } catch (error) {
    return `Redis at REDIS_URL does not answer (${(cause ?? (error as Error)).message})`;
  } finally {
    redis.disconnect();
  }
}
