// Seeds one program with many partners and commission lines in a few SQL
// statements (generate_series, not the API): 1,000 partners and 100,000 lines
// take seconds rather than the half hour the API would. Used by `npm run bench`
// and by the plan test (test/db/query-plans.test.ts).
import pg from "pg";
import { openDatabase } from "../src/db/database.ts";
import { migrate } from "../src/db/migrate.ts";

export interface SeedSize {
  partners: number;
  linesPerPartner: number;
}

export interface Seeded {
  programId: string;
  /** Partner ids, oldest first. */
  partnerIds: string[];
  lines: number;
}

/** Applies the migrations to an empty database at `url`. */
export async function migrateDatabase(url: string): Promise<void> {
  const db = await openDatabase({ kind: "postgres", url, poolSize: 1 });
  try {
    await migrate(db.sql);
  } finally {
    await db.close();
  }
}

/**
 * A uuid v7 from an instant, as the application's ids are (so id order is
 * time order, and `ORDER BY id DESC` means newest first).
 */
const UUID7 = `
CREATE OR REPLACE FUNCTION pg_temp.uuid7(ts timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7'
          || substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid
$$;`;

/**
 * One program (USD, 10% rule, 30-day hold), `partners` partners with a
 * balance each, and `linesPerPartner` sales per partner over the last year,
 * each a conversion with one CONVERSION line: a third PAID, the rest spread
 * over PENDING, APPROVED, ON_HOLD, CANCELLED and REVERSED. Balances are the
 * sums of the lines, as the ledger keeps them. Runs on the migrated
 * database at `url`; returns the ids.
 */
export async function seedProgram(url: string, size: SeedSize): Promise<Seeded> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(UUID7);
    await client.query("BEGIN");
    const program = await client.query<{ id: string }>(
      `INSERT INTO programs (id, name, currency, commission_rule, hold_period_days, updated_at)
       VALUES (pg_temp.uuid7(now() - interval '400 days'), 'bench', 'USD', '{"type":"PERCENTAGE","percent":"10"}', 30, now())
       RETURNING id::text`,
    );
    const programId = program.rows[0]!.id;
    await client.query(
      `INSERT INTO partners (id, program_id, external_id, email, name, status, country, created_at, updated_at)
       SELECT pg_temp.uuid7(now() - interval '400 days' + n * interval '1 minute'), $1, 'bp-' || n, 'partner' || n || '@example.com',
              'Bench partner ' || n, CASE WHEN n % 20 = 0 THEN 'SUSPENDED' ELSE 'ACTIVE' END::"PartnerStatus", 'US',
              now() - interval '400 days' + n * interval '1 minute', now()
         FROM generate_series(1, $2::int) AS n`,
      [programId, size.partners],
    );
    const partners = await client.query<{ id: string }>(`SELECT id::text FROM partners WHERE program_id = $1 ORDER BY id`, [programId]);
    const total = size.partners * size.linesPerPartner;
    // Sale i belongs to partner i % partners and happened i/total of a year ago-to-now.
    await client.query(
      `CREATE TEMP TABLE sales ON COMMIT DROP AS
       SELECT i, p.id AS partner_id,
              now() - interval '365 days' + (i::float8 / $2) * interval '365 days' AS occurred_at,
              (10 + (i * 7919) % 990)::numeric(19,4) + ((i % 100)::numeric / 100) AS amount
         FROM generate_series(0, $2 - 1) AS i
         JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM partners WHERE program_id = $1) p ON p.k = i % $3`,
      [programId, total, size.partners],
    );
    await client.query(`ALTER TABLE sales ADD COLUMN conversion_id uuid, ADD COLUMN commission_id uuid`);
    await client.query(`UPDATE sales SET conversion_id = pg_temp.uuid7(occurred_at), commission_id = pg_temp.uuid7(occurred_at)`);
    await client.query(
      `INSERT INTO conversions (id, program_id, external_id, amount, currency, program_amount, occurred_at, content_hash, created_at)
       SELECT conversion_id, $1, 'sale-' || i, amount, 'USD', amount, occurred_at, md5(i::text), occurred_at FROM sales`,
      [programId],
    );
    await client.query(
      `INSERT INTO conversion_counts (program_id, slot, conversions) VALUES ($1, 0, $2)
       ON CONFLICT (program_id, slot) DO UPDATE SET conversions = conversion_counts.conversions + excluded.conversions`,
      [programId, total],
    );
    await client.query(
      `INSERT INTO commissions (id, program_id, partner_id, conversion_id, kind, status, amount, currency, rule, occurred_at, payable_at,
                                matured, created_by, paid_at, created_at, updated_at)
       SELECT commission_id, $1, partner_id, conversion_id, 'CONVERSION', s.status::"CommissionStatus", round(amount / 10, 2), 'USD',
              '{"type":"PERCENTAGE","percent":"10"}', occurred_at, occurred_at + interval '30 days',
              occurred_at + interval '30 days' <= now(), 'bench', CASE WHEN s.status = 'PAID' THEN occurred_at + interval '40 days' END,
              occurred_at, occurred_at
         FROM (SELECT *, CASE
                 WHEN i % 3 = 0 AND occurred_at < now() - interval '60 days' THEN 'PAID'
                 WHEN i % 11 = 1 THEN 'PENDING'
                 WHEN i % 17 = 2 THEN 'ON_HOLD'
                 WHEN i % 23 = 3 THEN 'CANCELLED'
                 WHEN i % 29 = 4 THEN 'REVERSED'
                 ELSE 'APPROVED' END AS status FROM sales) s`,
      [programId],
    );
    await client.query(
      `INSERT INTO balances (partner_id, program_id, currency, pending, payable, paid, lifetime_earned, updated_at)
       SELECT p.id, $1, 'USD',
              coalesce(sum(c.amount) FILTER (WHERE c.status IN ('PENDING', 'ON_HOLD') OR (c.status = 'APPROVED' AND NOT c.matured)), 0),
              coalesce(sum(c.amount) FILTER (WHERE c.status = 'APPROVED' AND c.matured), 0),
              coalesce(sum(c.amount) FILTER (WHERE c.status = 'PAID'), 0),
              coalesce(sum(c.amount) FILTER (WHERE c.status IN ('PENDING', 'ON_HOLD', 'APPROVED', 'PAID')), 0),
              now()
         FROM partners p LEFT JOIN commissions c ON c.partner_id = p.id AND c.program_id = $1
        WHERE p.program_id = $1 GROUP BY p.id`,
      [programId],
    );
    await client.query("COMMIT");
    await client.query("ANALYZE");
    return { programId, partnerIds: partners.rows.map((row) => row.id), lines: total };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}

/** Lines awaiting review in a seeded history, at any size (2% of a thousand). */
export const REVIEW_BACKLOG = 20;

/**
 * A year of history under an existing program's partners, in a few SQL
 * statements: `lines` sales (a conversion and its CONVERSION line each,
 * spread over the partners and the last year), as a program that has run for
 * a while holds them: most PAID, in one PAID payout per partner and month
 * (with its items), one in 23 CANCELLED, one in 29 REVERSED, the newest
 * `REVIEW_BACKLOG` PENDING (awaiting review, past their hold and marked so,
 * as the hold-release task leaves them: unmarked, a year's backlog of them
 * would be its work during the load). The backlog is the same at every size,
 * so that what grows is history, not the work waiting: as 2% of the lines
 * it was 20,000 on a million against 20 on a thousand, and every approval
 * and payout of the million-line soak had more lines to move (BENCHMARKS.md,
 * "Data growth", fifth stop). Each line that counts has its ACCRUAL
 * movement into its bucket and is added to its partner's balance, so
 * balances still reconcile with the lines and the movements. Used by the
 * soak's SOAK_SEED_LINES.
 */
export async function seedHistory(url: string, programId: string, partnerIds: string[], lines: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(UUID7);
    await client.query("BEGIN");
    await client.query(
      `CREATE TEMP TABLE history ON COMMIT DROP AS
       SELECT i, ($2::uuid[])[1 + i % cardinality($2::uuid[])] AS partner_id,
              now() - interval '367 days' + (i::float8 / $1) * interval '365 days' AS occurred_at,
              (10 + (i::bigint * 7919) % 990)::numeric(19,4) + ((i % 100)::numeric / 100) AS amount,
              CASE WHEN i % 23 = 3 THEN 'CANCELLED' WHEN i % 29 = 4 THEN 'REVERSED' WHEN i >= $1 - $3 THEN 'PENDING' ELSE 'PAID' END AS status
         FROM generate_series(0, $1 - 1) AS i`,
      [lines, partnerIds, REVIEW_BACKLOG],
    );
    await client.query(`ALTER TABLE history ADD COLUMN conversion_id uuid, ADD COLUMN commission_id uuid, ADD COLUMN payout_id uuid,
                          ADD COLUMN commission numeric(19,4), ADD COLUMN month timestamptz`);
    await client.query(`UPDATE history SET conversion_id = pg_temp.uuid7(occurred_at), commission_id = pg_temp.uuid7(occurred_at),
                          commission = round(amount / 10, 2), month = date_trunc('month', occurred_at)`);
    // One PAID payout per partner and month, paid ten days after the month ends.
    await client.query(
      `CREATE TEMP TABLE history_payouts ON COMMIT DROP AS
       SELECT partner_id, month, pg_temp.uuid7(month + interval '1 month' + interval '10 days') AS id, sum(commission) AS amount
         FROM history WHERE status = 'PAID' GROUP BY partner_id, month`,
    );
    await client.query(`UPDATE history h SET payout_id = p.id FROM history_payouts p WHERE h.status = 'PAID' AND p.partner_id = h.partner_id AND p.month = h.month`);
    await client.query(
      `INSERT INTO conversions (id, program_id, external_id, amount, currency, program_amount, reversed_amount, occurred_at, content_hash, created_at)
       SELECT conversion_id, $1, 'history-' || i, amount, 'USD', amount, CASE WHEN status = 'REVERSED' THEN amount ELSE 0 END, occurred_at, md5(i::text), occurred_at
         FROM history`,
      [programId],
    );
    await client.query(
      `INSERT INTO conversion_counts (program_id, slot, conversions) VALUES ($1, 0, $2)
       ON CONFLICT (program_id, slot) DO UPDATE SET conversions = conversion_counts.conversions + excluded.conversions`,
      [programId, lines],
    );
    await client.query(
      `INSERT INTO commissions (id, program_id, partner_id, conversion_id, kind, status, amount, currency, rule, occurred_at, payable_at,
                                matured, created_by, paid_at, created_at, updated_at)
       SELECT commission_id, $1, partner_id, conversion_id, 'CONVERSION', status::"CommissionStatus", commission, 'USD',
              '{"type":"PERCENTAGE","percent":"10"}', occurred_at, occurred_at, true, 'seed',
              CASE WHEN status = 'PAID' THEN month + interval '1 month' + interval '10 days' END, occurred_at, occurred_at
         FROM history`,
      [programId],
    );
    await client.query(
      `INSERT INTO payouts (id, program_id, partner_id, status, amount, currency, payable_before, method, reference, created_by, approved_by, approved_at,
                            paid_at, created_at, updated_at)
       SELECT id, $1, partner_id, 'PAID', amount, 'USD', month + interval '1 month', 'PAYPAL', 'seed-' || id, 'seed', 'seed',
              month + interval '1 month' + interval '5 days', month + interval '1 month' + interval '10 days',
              month + interval '1 month' + interval '1 day', month + interval '1 month' + interval '10 days'
         FROM history_payouts`,
      [programId],
    );
    await client.query(
      `INSERT INTO payout_items (id, program_id, payout_id, commission_id, amount, active, created_at)
       SELECT pg_temp.uuid7(month + interval '1 month' + interval '1 day'), $1, payout_id, commission_id, commission, true, month + interval '1 month' + interval '1 day'
         FROM history WHERE status = 'PAID'`,
      [programId],
    );
    await client.query(
      `INSERT INTO balance_movements (id, program_id, partner_id, commission_id, payout_id, currency, entry, from_bucket, to_bucket, amount,
                                      occurred_at, recorded_at, cause)
       SELECT pg_temp.uuid7(occurred_at), $1, partner_id, commission_id, payout_id, 'USD', 'ACCRUAL', NULL,
              CASE WHEN status = 'PAID' THEN 'paid' ELSE 'pending' END, commission, occurred_at, occurred_at, 'seed'
         FROM history WHERE status IN ('PAID', 'PENDING')`,
      [programId],
    );
    await client.query(
      `UPDATE balances b SET pending = b.pending + s.pending, paid = b.paid + s.paid, lifetime_earned = b.lifetime_earned + s.pending + s.paid
         FROM (SELECT partner_id, coalesce(sum(commission) FILTER (WHERE status = 'PENDING'), 0) AS pending,
                      coalesce(sum(commission) FILTER (WHERE status = 'PAID'), 0) AS paid
                 FROM history GROUP BY partner_id) s
        WHERE b.program_id = $1 AND b.partner_id = s.partner_id`,
      [programId],
    );
    await client.query("COMMIT");
    // As a database that has run for a year is: vacuumed (visibility maps set, so counts can read indexes alone) and analysed.
    await client.query("VACUUM ANALYZE conversions, commissions, payouts, payout_items, balance_movements, balances");
    // And written out: without it the checkpointer writes the seed's gigabytes (at a million lines) while the load runs after it.
    await client.query("CHECKPOINT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}
