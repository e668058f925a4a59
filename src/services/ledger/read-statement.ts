import type { ScopedPrisma } from "../../db/tenant-scope.ts";
import { Prisma } from "../../generated/prisma/client.ts";

/** Movements read per query while a statement streams. */
const PAGE = 500;

/**
 * What a movement does to the statement's balance, which is what the partner
 * earned (lines that count) less what was paid to it: a line starting to
 * count adds its amount, one stopping takes it away, a line paid out takes
 * it away as part of its payout, and moves between the unpaid buckets do
 * nothing. A line born paid (the minus line of a bounced payment: money
 * that came back) is earned and paid at once, so it nets to nothing; the
 * credit that owes the money again is what the statement shows.
 */
const SIGNED = Prisma.sql`((CASE WHEN m.from_bucket IS NULL THEN m.amount ELSE 0 END) - (CASE WHEN m.to_bucket IS NULL THEN m.amount ELSE 0 END)
      + (CASE WHEN m.from_bucket = 'paid' THEN m.amount ELSE 0 END) - (CASE WHEN m.to_bucket = 'paid' THEN m.amount ELSE 0 END))`;

/** The movements that show on a statement: all but moves between the unpaid buckets. */
const SHOWN = Prisma.sql`(m.entry <> 'TRANSFER' OR m.from_bucket = 'paid' OR m.to_bucket = 'paid')`;

/**
 * One partner's statement rows dated in [start, end) after `after`, read
 * from the movement ledger (balance_movements) by its (program, partner,
 * occurred_at) index:
 * - a line, on its `occurredAt`, when it starts to count (ACCRUAL; a line
 *   written cancelled, as a reversal share of a cancelled line, never does);
 * - each later change of whether it counts, for the whole amount: a
 *   cancellation negative and a reinstatement positive when they were made,
 *   a full reversal negative on its refund's date, never before the line;
 * - a payout, negative, on its paid date: its lines' moves into paid, as one
 *   row (a bounce is a CREDIT line of its own).
 * Each row is keyed (at, ord, id) for keyset paging: ord orders lines before
 * their changes before payouts at the same instant, id is the line, the
 * movement or the payout.
 */
function pageSql(programId: string, partnerId: string, period: { start: Date; end: Date }, after: MovementRow | undefined): Prisma.Sql {
  // The cursor goes into each branch (not only around the union), so each branch's LIMIT counts rows after it.
  const past = (ord: Prisma.Sql, id: Prisma.Sql) =>
    after ? Prisma.sql`AND (m.occurred_at, ${ord}, ${id}) > (${new Date(after.at)}::timestamptz, ${after.ord}::int, ${after.id}::uuid)` : Prisma.empty;
  const range = Prisma.sql`m.program_id = ${programId}::uuid AND m.partner_id = ${partnerId}::uuid
      AND m.occurred_at >= ${after ? new Date(after.at) : period.start}::timestamptz AND m.occurred_at < ${period.end}::timestamptz`;
  const lineOrd = Prisma.sql`(CASE WHEN m.entry = 'ACCRUAL' THEN 0 ELSE 1 END)`;
  const lineKey = Prisma.sql`(CASE WHEN m.entry = 'ACCRUAL' THEN m.commission_id ELSE m.id END)`;
  return Prisma.sql`
    SELECT s.at, s.ord, s.id::text AS id, s.type, s.conversion_ref, s.line_id::text AS line_id, s.description, s.payout_ref, s.amount::text AS amount
      FROM ((
        SELECT m.occurred_at AS at, ${lineOrd} AS ord, ${lineKey} AS id,
               CASE WHEN m.entry = 'ACCRUAL' THEN c.kind::text ELSE m.entry END AS type,
               v.external_id AS conversion_ref, m.commission_id AS line_id,
               CASE WHEN m.entry = 'ACCRUAL' THEN coalesce(c.note, c.reason_code) ELSE m.reason END AS description,
               NULL::text AS payout_ref, ${SIGNED} AS amount
          FROM balance_movements m
          JOIN commissions c ON c.id = m.commission_id AND c.program_id = m.program_id
          LEFT JOIN conversions v ON v.id = c.conversion_id AND v.program_id = c.program_id
         WHERE ${range} AND m.entry <> 'TRANSFER' ${past(lineOrd, lineKey)}
         ORDER BY 1, 2, 3 LIMIT ${PAGE}
      ) UNION ALL (
        SELECT m.occurred_at, 2, m.payout_id, 'PAYOUT', NULL, NULL, p.method::text, p.reference, sum(${SIGNED})
          FROM balance_movements m
          JOIN payouts p ON p.id = m.payout_id AND p.program_id = m.program_id
         WHERE ${range} AND m.entry = 'TRANSFER' AND ${SHOWN} ${past(Prisma.sql`2`, Prisma.sql`m.payout_id`)}
         GROUP BY m.occurred_at, m.payout_id, p.method, p.reference
         ORDER BY 1, 3 LIMIT ${PAGE}
      )) s
     ORDER BY s.at, s.ord, s.id
     LIMIT ${PAGE}`;
}

export interface MovementRow {
  at: Date | string;
  ord: number;
  id: string;
  type: string;
  conversion_ref: string | null;
  line_id: string | null;
  description: string | null;
  payout_ref: string | null;
  amount: string;
}

export interface StatementReader {
  /** The balance of every movement before the period: the statement's opening balance. */
  opening: string;
  /** The period's movements in order (at, ord, id), read page by page as they are consumed. */
  movements: AsyncGenerator<MovementRow>;
}

/**
 * One partner's statement for [start, end): the opening balance (one indexed
 * sum of the movements before the period) and the movements dated in the
 * period (see pageSql), read in keyset pages so a long history is never held
 * in memory. The caller has already decided that the viewer may read this
 * partner's statement; the program and partner are named in the SQL, as raw
 * SQL skips the scoped client.
 */
export async function readStatement(db: ScopedPrisma, programId: string, partnerId: string, period: { start: Date; end: Date }): Promise<StatementReader> {
  const [opening] = await db.$queryRaw<{ total: string }[]>`
    SELECT coalesce(sum(${SIGNED}), 0)::text AS total
      FROM balance_movements m
     WHERE m.program_id = ${programId}::uuid AND m.partner_id = ${partnerId}::uuid AND m.occurred_at < ${period.start}::timestamptz AND ${SHOWN}`;
  async function* pages(): AsyncGenerator<MovementRow> {
    let after: MovementRow | undefined;
    for (;;) {
      const page = await db.$queryRaw<MovementRow[]>`${pageSql(programId, partnerId, period, after)}`;
      yield* page;
      if (page.length < PAGE) return;
      after = page[page.length - 1];
    }
  }
  return { opening: opening?.total ?? "0", movements: pages() };
}
