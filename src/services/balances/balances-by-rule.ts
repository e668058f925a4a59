import type { Decimal } from "decimal.js";
import { dec } from "../../domain/money.ts";
import type { ScopedTransaction } from "../../db/tenant-scope.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { unmarkedPayableSql } from "../commissions/payable-lines.ts";

/**
 * Balances lists filtered on the payable figure, by the payable rule
 * (domain/payable.ts). A stored balance trails the rule for a partner with
 * payable lines the projection has not marked yet (until the hold-release
 * job or a payout draft marks them); those partners are few (the job keeps
 * the set small) and are read here with their figures by the rule, one
 * statement per list. Every other partner's stored figure is already the
 * rule's. (The order of such a list stays the stored figure's.)
 */
export async function trailingPayable(db: ScopedTransaction, programId: string, now: Date): Promise<Map<string, Decimal>> {
  const rows = await db.$queryRaw<{ partner_id: string; payable: string }[]>`
    SELECT b.partner_id::text, (b.payable + u.amount)::text AS payable
      FROM balances b
      JOIN (SELECT c.partner_id, sum(c.amount) AS amount FROM commissions c
             WHERE c.program_id = ${programId}::uuid AND ${unmarkedPayableSql(now)} GROUP BY c.partner_id) u ON u.partner_id = b.partner_id
     WHERE b.program_id = ${programId}::uuid`;
  return new Map(rows.map((row) => [row.partner_id, dec(row.payable)]));
}

/**
 * `stored` (a condition on the stored payable column) for partners whose
 * balance is current, and `test` on the rule's figure for those that trail.
 */
export function payableCondition(trailing: Map<string, Decimal>, stored: Prisma.BalanceWhereInput, test: (payable: Decimal) => boolean): Prisma.BalanceWhereInput {
  if (trailing.size === 0) return stored;
  const behind = [...trailing.keys()];
  const matching = behind.filter((id) => test(trailing.get(id)!));
  return { OR: [{ AND: [stored, { partnerId: { notIn: behind } }] }, { partnerId: { in: matching } }] };
}
