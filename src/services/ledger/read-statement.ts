import type { ScopedPrisma } from "../../db/tenant-scope.ts";
import { Prisma } from "../../generated/prisma/client.ts";

/** Movements read per query while a statement streams. */
const PAGE = 500;

/** A commission status that counts toward what the partner earned. */
const COUNTS = (status: Prisma.Sql) => Prisma.sql`(${status} NOT IN ('CANCELLED', 'REVERSED'))`;

/**
 * Every money movement of one partner, as SQL: the statement's ledger.
 * - A line, on its `occurredAt`, if it counted when it was written (a
 *   reversal share of a cancelled line is written CANCELLED and does not).
 * - Each later change of whether it counts, as its own row for the whole
 *   amount: a full reversal (REVERSED) negative on its refund's
 *   `occurredAt`, a cancellation negative and a reinstatement positive when
 *   they were made. Those dates come from the audit trail, which every
 *   status change writes in its own transaction (the line itself keeps only
 *   its status today, so reading that would rewrite past periods). A change
 *   is never dated before its line. A line whose status changed outside the
 *   services (no audit entry) is taken to have had its status today since
 *   it was written.
 * - A payout, negative, on its paid date (a bounce is a CREDIT line of its own).
 * Each row is keyed (at, ord, id) for keyset paging: ord orders lines before
 * their changes before payouts at the same instant, id is the line, audit
 * entry or payout id.
 */
function movementsSql(programId: string, partnerId: string): Prisma.Sql {
  const changing = Prisma.sql`a.program_id = ${programId}::uuid AND a.entity_type = 'Commission'
      AND a.action IN ('commission.cancel', 'commission.reinstate', 'commission.reverse')
      AND ${COUNTS(Prisma.sql`a.before->>'status'`)} <> ${COUNTS(Prisma.sql`a.after->>'status'`)}`;
  return Prisma.sql`
    WITH lines AS (
      SELECT c.id, c.kind::text AS kind, c.status::text AS status, c.amount, c.occurred_at, c.note, c.reason_code, v.external_id AS conversion_ref
        FROM commissions c
        LEFT JOIN conversions v ON v.id = c.conversion_id AND v.program_id = c.program_id
       WHERE c.program_id = ${programId}::uuid AND c.partner_id = ${partnerId}::uuid
    ), changes AS (
      SELECT a.id, a.entity_id AS line_id, a.action, a.created_at, a.reason,
             ${COUNTS(Prisma.sql`a.before->>'status'`)} AS counted_before,
             ${COUNTS(Prisma.sql`a.after->>'status'`)} AS counts_after,
             CASE WHEN a.after->>'reversalId' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN (a.after->>'reversalId')::uuid END AS reversal_id
        FROM audit_entries a
        JOIN lines l ON l.id = a.entity_id
       WHERE ${changing}
    ), first_changes AS (
      SELECT DISTINCT ON (line_id) line_id, counted_before FROM changes ORDER BY line_id, created_at, id
    ), movements AS (
      SELECT l.occurred_at AS at, 0 AS ord, l.id, l.kind AS type, l.conversion_ref, l.id AS line_id,
             coalesce(l.note, l.reason_code) AS description, NULL::text AS payout_ref, l.amount
        FROM lines l
        LEFT JOIN first_changes f ON f.line_id = l.id
       -- Whether it counted when written: before its first change, else as it is now.
       WHERE coalesce(f.counted_before, ${COUNTS(Prisma.sql`l.status`)})
      UNION ALL
      SELECT greatest(CASE WHEN ch.action = 'commission.reverse' AND r.occurred_at IS NOT NULL THEN r.occurred_at ELSE ch.created_at END, l.occurred_at),
             1, ch.id,
             CASE ch.action WHEN 'commission.cancel' THEN 'CANCELLATION' WHEN 'commission.reinstate' THEN 'REINSTATEMENT' ELSE 'REVERSAL' END,
             l.conversion_ref, l.id, coalesce(ch.reason, r.reason, r.kind::text), NULL,
             CASE WHEN ch.counts_after THEN l.amount ELSE -l.amount END
        FROM changes ch
        JOIN lines l ON l.id = ch.line_id
        LEFT JOIN reversals r ON r.id = ch.reversal_id AND r.program_id = ${programId}::uuid
      UNION ALL
      SELECT p.paid_at, 2, p.id, 'PAYOUT', NULL, NULL, p.method::text, p.reference, -p.amount
        FROM payouts p
       WHERE p.program_id = ${programId}::uuid AND p.partner_id = ${partnerId}::uuid AND p.status = 'PAID' AND p.paid_at IS NOT NULL
    )`;
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
 * One partner's statement for [start, end): the opening balance and the
 * movements dated in the period (see movementsSql), read in keyset pages
 * so a long history is never held in memory. The caller has already
 * decided that the viewer may read this partner's statement; the program
 * and partner are named in the SQL, as raw SQL skips the scoped client.
 */
export async function readStatement(db: ScopedPrisma, programId: string, partnerId: string, period: { start: Date; end: Date }): Promise<StatementReader> {
  const movements = movementsSql(programId, partnerId);
  const [opening] = await db.$queryRaw<{ total: string }[]>`${movements} SELECT coalesce(sum(amount), 0)::text AS total FROM movements WHERE at < ${period.start}::timestamptz`;
  async function* pages(): AsyncGenerator<MovementRow> {
    let after: MovementRow | undefined;
    for (;;) {
      const past = after ? Prisma.sql`AND (at, ord, id) > (${new Date(after.at)}::timestamptz, ${after.ord}::int, ${after.id}::uuid)` : Prisma.empty;
      const page = await db.$queryRaw<MovementRow[]>`${movements}
        SELECT at, ord, id::text AS id, type, conversion_ref, line_id::text AS line_id, description, payout_ref, amount::text AS amount
          FROM movements
         WHERE at >= ${period.start}::timestamptz AND at < ${period.end}::timestamptz ${past}
         ORDER BY at, ord, id
         LIMIT ${PAGE}`;
      yield* page;
      if (page.length < PAGE) return;
      after = page[page.length - 1];
    }
  }
  return { opening: opening?.total ?? "0", movements: pages() };
}
