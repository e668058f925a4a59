import { PGlite } from "@electric-sql/pglite";
import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import { openDatabase, type Database } from "../../src/db/database.ts";
import { migrate, MigrationError, readMigrations, type Migration } from "../../src/db/migrate.ts";
import { createPostgresDatabase, databaseTargets, hasPostgres } from "../helpers/databases.ts";

async function open(target: "pglite" | "postgres"): Promise<{ db: Database; drop(): Promise<void> }> {
  if (target === "pglite") {
    const db = await openDatabase({ kind: "pglite" });
    return { db, drop: async () => {} };
  }
  const created = await createPostgresDatabase();
  const db = await openDatabase({ kind: "postgres", url: created.url });
  return { db, drop: created.drop };
}

describe.each(databaseTargets())("migrations on %s", (target) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it("applies every migration once, records it as Prisma does, and a second run is a no-op", async () => {
    const { db, drop } = await open(target);
    cleanups.push(async () => {
      await db.close();
      await drop();
    });
    const all = await readMigrations();
    expect(await migrate(db.sql)).toEqual(all.map((m) => m.name));
    expect(await migrate(db.sql)).toEqual([]);
    const rows = await db.sql.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" ORDER BY migration_name',
    );
    expect(rows.map((r) => [r.migration_name, r.checksum])).toEqual(all.map((m) => [m.name, m.checksum]));
    expect(rows.every((r) => r.finished_at !== null)).toBe(true);
  });

  it("leaves nothing behind when a migration fails, and refuses an edited one", async () => {
    const { db, drop } = await open(target);
    cleanups.push(async () => {
      await db.close();
      await drop();
    });
    const broken: Migration = {
      name: "29990101000000_broken",
      sql: 'CREATE TABLE "half_done" (id int); SELECT * FROM "no_such_table";',
      checksum: "x".repeat(64),
    };
    await expect(migrate(db.sql, [broken])).rejects.toThrow(/no_such_table/);
    const tables = await db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'half_done'");
    expect(tables[0]?.n).toBe(0);
    const good: Migration = { name: "29990101000001_fine", sql: 'CREATE TABLE "fine" (id int);', checksum: "a".repeat(64) };
    await migrate(db.sql, [good]);
    await expect(migrate(db.sql, [{ ...good, checksum: "b".repeat(64) }])).rejects.toBeInstanceOf(MigrationError);
  });
});

describe.runIf(hasPostgres)("migrations from two processes at once (PostgreSQL)", () => {
  it("apply each migration exactly once", async () => {
    const created = await createPostgresDatabase();
    const a = await openDatabase({ kind: "postgres", url: created.url });
    const b = await openDatabase({ kind: "postgres", url: created.url });
    try {
      const [first, second] = await Promise.all([migrate(a.sql), migrate(b.sql)]);
      const all = (await readMigrations()).map((m) => m.name);
      expect([...first, ...second].sort()).toEqual(all.sort());
      const client = new pg.Client({ connectionString: created.url });
      await client.connect();
      const { rows } = await client.query('SELECT migration_name, count(*)::int AS n FROM "_prisma_migrations" GROUP BY 1');
      await client.end();
      expect(rows.every((row: { n: number }) => row.n === 1)).toBe(true);
      expect(rows).toHaveLength(all.length);
    } finally {
      await a.close();
      await b.close();
      await created.drop();
    }
  });
});

describe("the embedded database is PostgreSQL too", () => {
  it("runs the same SQL features we rely on (xid8, partial unique indexes)", async () => {
    const pglite = new PGlite();
    const { rows } = await pglite.query<{ v: string }>("SELECT pg_current_xact_id()::text AS v");
    expect(rows[0]?.v).toMatch(/^\d+$/);
    await pglite.close();
  });
});
