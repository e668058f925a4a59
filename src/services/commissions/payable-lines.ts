import type { Decimal } from "decimal.js";
import { dec } from "../../domain/money.ts";
import { LINE_HOLDING_PAYOUT_STATUSES } from "../../domain/payout-status.ts";
import type { ScopedTransaction } from "../../db/tenant-scope.ts";
import { Prisma } from "../../generated/prisma/client.ts";

/**
 * domain/payable.ts's rule (isPayable: APPROVED, payableAt passed, in no
 * payout that holds its lines) in the two query languages the code reads
 * lines with, and nowhere else: `payableWhere` for Prisma, `payableSql` for
 * raw SQL over `commissions c`. The GraphQL field, the commission filter (and
 * so the export), the balances, the summaries and the payout draft all use
 * these; test/api/payable.test.ts checks they answer alike.
 */

/** Prisma's where for lines payable at `now`. */
export function payableWhere(now: Date): Prisma.CommissionWhereInput {
  return {
    status: "APPROVED",
    payableAt: { lte: now },
    payoutItems: { none: { active: true, payout: { status: { in: [...LINE_HOLDING_PAYOUT_STATUSES] } } } },
  };
}

/** The statuses one by one (an enum array parameter is not read alike by every driver). */
const HOLDING = Prisma.join(LINE_HOLDING_PAYOUT_STATUSES.map((status) => Prisma.sql`${status}::"PayoutStatus"`));

/** The same rule as SQL on a commission row aliased `c` (its payout items are matched in the line's program). */
export function payableSql(now: Date): Prisma.Sql {
  return Prisma.sql`(c.status = 'APPROVED' AND c.payable_at <= ${now}::timestamptz
    AND NOT EXISTS (SELECT 1 FROM payout_items i JOIN payouts p ON p.program_id = i.program_id AND p.id = i.payout_id
                     WHERE i.program_id = c.program_id AND i.commission_id = c.id AND i.active
                       AND p.status IN (${HOLDING})))`;
}

/**
 * Payable lines the balance projection has not marked yet (still counted as
 * pending there, until the hold-release job or a payout draft marks them).
 */
export function unmarkedPayableSql(now: Date): Prisma.Sql {
  return Prisma.sql`(NOT c.matured AND ${payableSql(now)})`;
}

/**
 * Per partner, the sum of its unmarked payable lines: what withHoldsEnded
 * moves from the stored pending to payable. One statement for all the
 * partners asked (the program is named here: raw SQL skips the scoped
 * client); partners with none are absent.
 */
export async function unmarkedPayableByPartner(db: ScopedTransaction, programId: string, partnerIds: readonly string[], now: Date): Promise<Map<string, Decimal>> {
  if (partnerIds.length === 0) return new Map();
  const rows = await db.$queryRaw<{ partner_id: string; amount: string }[]>`
    SELECT c.partner_id::text, sum(c.amount)::text AS amount FROM commissions c
     WHERE c.program_id = ${programId}::uuid AND c.partner_id = ANY(${[...partnerIds]}::uuid[]) AND ${unmarkedPayableSql(now)}
     GROUP BY c.partner_id`;
  return new Map(rows.map((row) => [row.partner_id, dec(row.amount)]));
}
