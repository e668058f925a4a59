import type { ScopedPrisma } from "../../db/tenant-scope.ts";
import type { PayoutStatus, Prisma } from "../../generated/prisma/client.ts";
import { totalsByStatus, type ListTotals } from "./totals-by-status.ts";

/** Count and sum of the payouts a `payouts(filter)` list holds, as commissionTotals does for lines. */
export async function payoutTotals(db: ScopedPrisma, programId: string, where: Prisma.PayoutWhereInput): Promise<ListTotals<PayoutStatus>> {
  const [program, groups] = await Promise.all([
    db.program.findUniqueOrThrow({ where: { id: programId }, select: { currency: true } }),
    db.payout.groupBy({ by: ["status"], where, _count: { _all: true }, _sum: { amount: true } }),
  ]);
  return totalsByStatus(program.currency, groups);
}
