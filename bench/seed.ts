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
