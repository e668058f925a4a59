import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { openDatabase, type Database } from "../../src/db/database.ts";
import { migrate, MigrationError, readMigrations, type Migration } from "../../src/db/migrate.ts";
import { createPostgresDatabase, databaseTargets, hasPostgres } from "../helpers/databases.ts";

async function open(target: "pglite" | "postgres"): Promise<{ db: Database; url?: string; drop(): Promise<void> }> {
  if (target === "pglite") {
    const db = await openDatabase({ kind: "pglite" });
    return { db, drop: async () => {} };
  }
  const created = await createPostgresDatabase();
  const db = await openDatabase({ kind: "postgres", url: created.url });
  return { db, url: created.url, drop: created.drop };
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

/** Runs `sql` and returns the SQLSTATE it failed with, or "ok". */
async function outcome(db: Database, sql: string, params: unknown[] = []): Promise<string> {
  try {
    await db.sql.query(sql, params);
    return "ok";
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

/**
 * The PostgreSQL features accrue's correctness rests on, checked on the
 * migrated schema of both databases (PGlite 17 and the PostgreSQL server):
 * xid8 transaction ids recorded on events with the snapshot watermark the
 * program feed's cursors compare them to, and the partial unique indexes
 * that make "one open payout per partner", "a line in one open payout",
 * "one default payout method" and "one conversion line per partner" hold
 * whatever the services do.
 */
describe.each(databaseTargets())("the SQL features we rely on (xid8, partial unique indexes) on %s", (target) => {
  let db: Database;
  let url: string | undefined;
  let drop: () => Promise<void>;
  const program = "00000000-0000-7000-8000-000000000001";
  const partner = "00000000-0000-7000-8000-000000000002";
  beforeAll(async () => {
    ({ db, url, drop } = await open(target));
    await migrate(db.sql);
    await db.sql.query(`INSERT INTO programs (id, name, currency, commission_rule, updated_at) VALUES ($1, 'P', 'USD', '{}', now())`, [program]);
    await db.sql.query(`INSERT INTO partners (id, program_id, name, updated_at) VALUES ($1, $2, 'A', now())`, [partner, program]);
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  it("records the writing transaction's xid8 on each event, seen as finished only once committed", async () => {
    const insert = (tx: Omit<Database["sql"], "transaction">) =>
      tx.query<{ xid: string; current: string; below: boolean; visible: boolean }>(
        `WITH e AS (INSERT INTO events (program_id, type, entity_id, payload) VALUES ($1, 't', $1, '{}') RETURNING xid)
         SELECT e.xid::text, pg_current_xact_id()::text AS current,
                e.xid < pg_snapshot_xmin(pg_current_snapshot()) AS below,
                pg_visible_in_snapshot(e.xid, pg_current_snapshot()) AS visible
           FROM e`,
        [program],
      );
    const [first] = await db.sql.transaction(insert);
    // While it runs, the watermark cannot have passed it and it is not finished.
    expect(first).toMatchObject({ below: false, visible: false });
    expect(first!.xid).toBe(first!.current);
    const [second] = await db.sql.transaction(insert);
    expect(BigInt(second!.xid)).toBeGreaterThan(BigInt(first!.xid));
    const [after] = await db.sql.query<{ visible: boolean }>(`SELECT pg_visible_in_snapshot($1::xid8, pg_current_snapshot()) AS visible`, [first!.xid]);
    expect(after).toEqual({ visible: true });
  });

  it.runIf(target === "postgres")("keeps the watermark below a transaction still running on another connection", async () => {
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query("BEGIN");
      const { rows } = await other.query("SELECT pg_current_xact_id()::text AS xid");
      const [seen] = await db.sql.query<{ below: boolean; visible: boolean }>(
        `SELECT $1::xid8 < pg_snapshot_xmin(pg_current_snapshot()) AS below, pg_visible_in_snapshot($1::xid8, pg_current_snapshot()) AS visible`,
        [rows[0].xid],
      );
      expect(seen).toEqual({ below: false, visible: false });
      await other.query("COMMIT");
    } finally {
      await other.end();
    }
  });

  it("enforces each partial unique index within its predicate only", async () => {
    const payout = (status: string) =>
      outcome(
        db,
        `INSERT INTO payouts (id, program_id, partner_id, status, amount, currency, payable_before, created_by, updated_at)
         VALUES (gen_random_uuid(), $1, $2, $3, 10, 'USD', now(), 'test', now())`,
        [program, partner, status],
      );
    // One open (draft or approved) payout per partner; closed ones do not count.
    expect(await payout("CANCELLED")).toBe("ok");
    expect(await payout("CANCELLED")).toBe("ok");
    expect(await payout("DRAFT")).toBe("ok");
    expect(await payout("APPROVED")).toBe("23505");
    expect(await payout("DRAFT")).toBe("23505");

    const method = (isDefault: boolean) =>
      outcome(
        db,
        `INSERT INTO payout_methods (id, program_id, partner_id, type, details, is_default, updated_at)
         VALUES (gen_random_uuid(), $1, $2, 'PAYPAL', '{}', $3, now())`,
        [program, partner, isDefault],
      );
    expect(await method(false)).toBe("ok");
    expect(await method(false)).toBe("ok");
    expect(await method(true)).toBe("ok");
    expect(await method(true)).toBe("23505");

    const indexes = await db.sql.query<{ name: string; unique: boolean; partial: boolean }>(
      `SELECT i.relname AS name, ix.indisunique AS unique, ix.indpred IS NOT NULL AS partial
         FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
        WHERE i.relname IN ('payout_items_commission_id_active_key', 'payouts_partner_id_open_key', 'payout_methods_partner_id_default_key',
                            'commissions_conversion_id_partner_id_key', 'outbox_jobs_pending_subject_key')
        ORDER BY 1`,
    );
    expect(indexes).toEqual(
      [
        "commissions_conversion_id_partner_id_key",
        "outbox_jobs_pending_subject_key",
        "payout_items_commission_id_active_key",
        "payout_methods_partner_id_default_key",
        "payouts_partner_id_open_key",
      ].map((name) => ({ name, unique: true, partial: true })),
    );
  });
});
