import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { SqlRunner } from "./database.ts";

const MIGRATIONS_DIR = new URL("../../prisma/migrations/", import.meta.url).pathname;

/** Any constant works; every accrue process must use the same one. */
const MIGRATION_LOCK_KEY = 72_616_301;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    }),
  );
}

/** Prisma's own bookkeeping table, so `prisma migrate deploy` agrees wherever its engine can run. */
export const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/** Records one migration as applied: its id (a new UUID), checksum and name. */
export const RECORD_MIGRATION = `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, applied_steps_count)
         VALUES ($1, $2, $3, now(), 1)`;

export class MigrationError extends Error {
  override name = "MigrationError";
}

/**
 * Applies the SQL migrations in prisma/migrations that the database lacks,
 * each in its own transaction (PostgreSQL's DDL is transactional, so a failed
 * one leaves nothing behind), under a transaction-level advisory lock, so two
 * processes starting at once apply each migration once. Running it again is a
 * no-op. Returns the names it applied.
 */
export async function migrate(sql: SqlRunner, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? (await readMigrations());
  const applied: string[] = [];
  for (const migration of all) {
    const didApply = await sql.transaction(async (tx) => {
      // Another process may be migrating: wait for it as long as it takes,
      // and let a migration's own statements (an index on a large table) run
      // past the statement timeout requests live under.
      await tx.exec("SET LOCAL lock_timeout = 0; SET LOCAL statement_timeout = 0");
      await tx.query("SELECT pg_advisory_xact_lock($1)::text", [MIGRATION_LOCK_KEY]);
      await tx.exec(CREATE_MIGRATIONS_TABLE);
      const [done] = await tx.query<{ checksum: string }>(
        `SELECT checksum FROM "_prisma_migrations"
          WHERE migration_name = $1 AND finished_at IS NOT NULL AND rolled_back_at IS NULL`,
        [migration.name],
      );
      if (done) {
        if (done.checksum !== migration.checksum) {
          throw new MigrationError(`Migration ${migration.name} was changed after it was applied; add a new migration instead of editing it.`);
        }
        return false;
      }
      await tx.exec(migration.sql);
      await tx.query(RECORD_MIGRATION, [randomUUID(), migration.checksum, migration.name]);
      return true;
    });
    if (didApply) applied.push(migration.name);
  }
  return applied;
}
