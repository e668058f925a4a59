import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database, SqlRunner } from "../../src/db/database.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { openMigratedDatabase } from "../helpers/migrated-database.ts";

/**
 * Tenancy held by the database itself: every reference between two
 * program-owned rows includes program_id, so a row pointing into another
 * program is refused whatever path wrote it (raw SQL included). Each
 * composite foreign key is tried with a parent of the same program (accepted,
 * so the statement itself is sound) and with the same parent id of another
 * program (refused, by that constraint).
 */

type Sql = Omit<SqlRunner, "transaction">;

interface Parents {
  programId: string;
  partnerId: string;
  conversionId: string;
  reversalId: string;
  commissionId: string;
  payoutId: string;
  connectionId: string;
  auditEntryId: string;
  runId: string;
}

/** A program with one row of every parent table. */
async function seedProgram(sql: Sql): Promise<Parents> {
  const p: Parents = {
    programId: randomUUID(),
    partnerId: randomUUID(),
    conversionId: randomUUID(),
    reversalId: randomUUID(),
    commissionId: randomUUID(),
    payoutId: randomUUID(),
    connectionId: randomUUID(),
    auditEntryId: randomUUID(),
    runId: randomUUID(),
  };
  await sql.query(`INSERT INTO programs (id, name, currency, commission_rule, updated_at) VALUES ($1, 'P', 'USD', '{}', now())`, [p.programId]);
  await sql.query(`INSERT INTO partners (id, program_id, name, updated_at) VALUES ($1, $2, 'A partner', now())`, [p.partnerId, p.programId]);
  await sql.query(
    `INSERT INTO conversions (id, program_id, external_id, amount, currency, program_amount, occurred_at, content_hash)
     VALUES ($1, $2, 'sale-1', 100, 'USD', 100, now(), 'h')`,
    [p.conversionId, p.programId],
  );
  await sql.query(
    `INSERT INTO reversals (id, program_id, conversion_id, external_id, kind, amount, content_hash, occurred_at)
     VALUES ($1, $2, $3, 'refund-1', 'REFUND', 10, 'h', now())`,
    [p.reversalId, p.programId, p.conversionId],
  );
  await sql.query(
    `INSERT INTO commissions (id, program_id, partner_id, kind, status, amount, currency, occurred_at, payable_at, created_by, updated_at)
     VALUES ($1, $2, $3, 'CREDIT', 'APPROVED', 5, 'USD', now(), now(), 'system', now())`,
    [p.commissionId, p.programId, p.partnerId],
  );
  await sql.query(
    `INSERT INTO payouts (id, program_id, partner_id, amount, currency, payable_before, created_by, updated_at)
     VALUES ($1, $2, $3, 5, 'USD', now(), 'system', now())`,
    [p.payoutId, p.programId, p.partnerId],
  );
  await sql.query(
    `INSERT INTO payment_provider_connections (id, program_id, provider, environment, credentials, account_label, connected_by, connected_at, updated_at)
     VALUES ($1, $2, 'WISE', 'SANDBOX', 'sealed', 'label', 'admin', now(), now())`,
    [p.connectionId, p.programId],
  );
  await sql.query(`INSERT INTO audit_entries (id, program_id, actor_role, actor_id, action, entity_type, entity_id) VALUES ($1, $2, 'admin', 'admin', 'x', 'Commission', $3)`, [
    p.auditEntryId,
    p.programId,
    p.commissionId,
  ]);
  await sql.query(`INSERT INTO payout_runs (id, program_id, trigger, payable_before, created_by) VALUES ($1, $2, 'OPERATOR', now(), 'admin')`, [p.runId, p.programId]);
  return p;
}

interface Case {
  constraint: string;
  /** The child row in `own`'s program, its reference taken from `parent`. */
  insert(sql: Sql, own: Parents, parent: Parents): Promise<unknown>;
}

const cases: Case[] = [
  {
    constraint: "payout_methods_program_id_partner_id_fkey",
    insert: (sql, own, parent) =>
      sql.query(`INSERT INTO payout_methods (id, program_id, partner_id, type, details, updated_at) VALUES ($1, $2, $3, 'PAYPAL', '{}', now())`, [
        randomUUID(),
        own.programId,
        parent.partnerId,
      ]),
  },
  {
    constraint: "billing_profiles_program_id_partner_id_fkey",
    insert: (sql, own, parent) =>
      sql.query(`INSERT INTO billing_profiles (id, program_id, partner_id, entity_type, legal_name, country, updated_at) VALUES ($1, $2, $3, 'INDIVIDUAL', 'X', 'US', now())`, [
        randomUUID(),
        own.programId,
        parent.partnerId,
      ]),
  },
  {
    constraint: "reversals_program_id_conversion_id_fkey",
    insert: (sql, own, parent) =>
      sql.query(`INSERT INTO reversals (id, program_id, conversion_id, external_id, kind, amount, content_hash, occurred_at) VALUES ($1, $2, $3, $4, 'REFUND', 1, 'h', now())`, [
        randomUUID(),
        own.programId,
        parent.conversionId,
        randomUUID(),
      ]),
  },
  ...(["partner_id", "conversion_id", "reversal_id", "related_id"] as const).map(
    (column): Case => ({
      constraint: `commissions_program_id_${column}_fkey`,
      insert: (sql, own, parent) => {
        const refs = { partner_id: own.partnerId, conversion_id: null as string | null, reversal_id: null as string | null, related_id: null as string | null };
        refs[column] = { partner_id: parent.partnerId, conversion_id: parent.conversionId, reversal_id: parent.reversalId, related_id: parent.commissionId }[column];
        return sql.query(
          `INSERT INTO commissions (id, program_id, partner_id, conversion_id, reversal_id, related_id, kind, status, amount, currency, occurred_at, payable_at, created_by, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'ADJUSTMENT', 'PENDING', 1, 'USD', now(), now(), 'system', now())`,
          [randomUUID(), own.programId, refs.partner_id, refs.conversion_id, refs.reversal_id, refs.related_id],
        );
      },
    }),
  ),
  {
    constraint: "balances_program_id_partner_id_fkey",
    insert: (sql, own, parent) => sql.query(`INSERT INTO balances (partner_id, program_id, currency, updated_at) VALUES ($1, $2, 'USD', now())`, [parent.partnerId, own.programId]),
  },
  {
    constraint: "payouts_program_id_partner_id_fkey",
    insert: (sql, own, parent) =>
      sql.query(
        `INSERT INTO payouts (id, program_id, partner_id, status, amount, currency, payable_before, created_by, updated_at) VALUES ($1, $2, $3, 'CANCELLED', 1, 'USD', now(), 'system', now())`,
        [randomUUID(), own.programId, parent.partnerId],
      ),
  },
  {
    constraint: "payouts_program_id_run_id_fkey",
    insert: (sql, own, parent) =>
      sql.query(
        `INSERT INTO payouts (id, program_id, partner_id, status, amount, currency, payable_before, created_by, updated_at, run_id) VALUES ($1, $2, $3, 'CANCELLED', 1, 'USD', now(), 'system', now(), $4)`,
        [randomUUID(), own.programId, own.partnerId, parent.runId],
      ),
  },
  {
    constraint: "payout_items_program_id_payout_id_fkey",
    insert: (sql, own, parent) =>
      sql.query(`INSERT INTO payout_items (id, program_id, payout_id, commission_id, amount) VALUES ($1, $2, $3, $4, 1)`, [
        randomUUID(),
        own.programId,
        parent.payoutId,
        own.commissionId,
      ]),
  },
  {
    constraint: "payout_items_program_id_commission_id_fkey",
    insert: (sql, own, parent) =>
      sql.query(`INSERT INTO payout_items (id, program_id, payout_id, commission_id, amount) VALUES ($1, $2, $3, $4, 1)`, [
        randomUUID(),
        own.programId,
        own.payoutId,
        parent.commissionId,
      ]),
  },
  {
    constraint: "events_program_id_partner_id_fkey",
    insert: (sql, own, parent) =>
      sql.query(`INSERT INTO events (program_id, partner_id, partner_sequence, type, entity_id, payload) VALUES ($1, $2, 1, 'balance.changed', $2, '{}')`, [
        own.programId,
        parent.partnerId,
      ]),
  },
  {
    constraint: "provider_events_program_id_connection_id_fkey",
    insert: (sql, own, parent) =>
      sql.query(
        `INSERT INTO provider_events (id, program_id, connection_id, provider, event_id, kind, subject, transfer_id, provider_type, occurred_at)
         VALUES ($1, $2, $3, 'WISE', $4, 'PAID', 'transfer', 't-1', 'transfers#state-change', now())`,
        [randomUUID(), own.programId, parent.connectionId, randomUUID()],
      ),
  },
  ...(["partner_id", "commission_id", "payout_id", "audit_entry_id"] as const).map(
    (column): Case => ({
      constraint: `balance_movements_program_id_${column}_fkey`,
      insert: (sql, own, parent) => {
        const refs = { partner_id: own.partnerId, commission_id: own.commissionId, payout_id: own.payoutId, audit_entry_id: own.auditEntryId };
        refs[column] = { partner_id: parent.partnerId, commission_id: parent.commissionId, payout_id: parent.payoutId, audit_entry_id: parent.auditEntryId }[column];
        return sql.query(
          `INSERT INTO balance_movements (id, program_id, partner_id, commission_id, payout_id, audit_entry_id, currency, entry, from_bucket, to_bucket, amount, occurred_at, recorded_at, cause)
           VALUES ($1, $2, $3, $4, $5, $6, 'USD', 'ACCRUAL', NULL, 'pending', 1, now(), now(), 'test')`,
          [randomUUID(), own.programId, refs.partner_id, refs.commission_id, refs.payout_id, refs.audit_entry_id],
        );
      },
    }),
  ),
  {
    constraint: "payout_transfers_program_id_payout_id_fkey",
    insert: (sql, own, parent) =>
      sql.query(
        `INSERT INTO payout_transfers (id, program_id, payout_id, attempt, provider, connection_id, idempotency_key, batch_key, amount, currency, recipient, updated_at)
         VALUES ($1, $2, $3, 1, 'WISE', $4, $5, 'batch', 5, 'USD', '{}', now())`,
        [randomUUID(), own.programId, parent.payoutId, own.connectionId, randomUUID()],
      ),
  },
];

const rollBack = Symbol("roll back");

/** What `insert` does, in a transaction rolled back afterwards: "ok", or the violated constraint. */
async function attempt(db: Database, run: (sql: Sql) => Promise<unknown>): Promise<string> {
  return db.sql
    .transaction(async (sql) => {
      await run(sql);
      throw rollBack;
    })
    .catch((error: unknown) => {
      if (error === rollBack) return "ok";
      const e = error as { code?: string; constraint?: string; message?: string };
      if (e.code === "23503") return `refused by ${e.constraint ?? /constraint "([^"]+)"/.exec(e.message ?? "")?.[1]}`;
      throw error;
    });
}

describe.each(databaseTargets())("references across programs on %s", (target) => {
  let db: Database;
  let close: () => Promise<void>;
  let a: Parents;
  let b: Parents;
  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase(target));
    a = await db.sql.transaction(seedProgram);
    b = await db.sql.transaction(seedProgram);
  });
  afterAll(() => close?.());

  it.each(cases.map((c) => [c.constraint, c] as const))("%s accepts a parent of the row's program and refuses another program's", async (_name, c) => {
    expect(await attempt(db, (sql) => c.insert(sql, a, a))).toBe("ok");
    expect(await attempt(db, (sql) => c.insert(sql, a, b))).toBe(`refused by ${c.constraint}`);
  });

  it("has no foreign key between two program-owned tables that leaves program_id out", async () => {
    // Every constraint of the database, so a new single-column reference fails here.
    const keys = await db.sql.query<{ name: string; child: string; parent: string; columns: string[]; referenced: string[] }>(`
      SELECT c.conname AS name, ct.relname AS child, pt.relname AS parent,
             array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS columns,
             array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS referenced
        FROM pg_constraint c
        JOIN pg_class ct ON ct.oid = c.conrelid
        JOIN pg_class pt ON pt.oid = c.confrelid
        JOIN pg_namespace s ON s.oid = ct.relnamespace
       WHERE c.contype = 'f' AND s.nspname = 'public'`);
    const programOwned = new Set(
      (await db.sql.query<{ table_name: string }>(`SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'program_id'`)).map(
        (row) => row.table_name,
      ),
    );
    const tenantKeys = keys.filter((key) => programOwned.has(key.child) && programOwned.has(key.parent));
    const loose = tenantKeys
      .filter((key) => key.columns[key.referenced.indexOf("program_id")] !== "program_id")
      .map((key) => `${key.name}: ${key.child}(${key.columns.join(", ")}) -> ${key.parent}(${key.referenced.join(", ")})`);
    expect(loose).toEqual([]);
    // Every case above is one of these keys, and every key has its case.
    expect(tenantKeys.map((key) => key.name).sort()).toEqual(cases.map((c) => c.constraint).sort());
  });

  it("never moves a line to another partner or program (the partners' kept counts of lines rely on it)", async () => {
    const other = randomUUID();
    await db.sql.transaction(async (sql) => {
      await sql.query(`INSERT INTO partners (id, program_id, name, updated_at) VALUES ($1, $2, 'Another partner', now())`, [other, a.programId]);
    });
    const move = (column: "partner_id" | "program_id", value: string) =>
      db.sql
        .transaction((sql) => sql.query(`UPDATE commissions SET ${column} = $1 WHERE id = $2`, [value, a.commissionId]))
        .then(
          () => "moved",
          (error: { code?: string; message?: string }) => `${error.code}: ${error.message}`,
        );
    expect(await move("partner_id", other)).toBe("23001: a commission line never moves to another partner or program");
    expect(await move("program_id", b.programId)).toBe("23001: a commission line never moves to another partner or program");
    // Setting a column to what it holds is no move.
    expect(await move("partner_id", a.partnerId)).toBe("moved");
  });
});
