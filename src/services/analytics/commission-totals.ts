import type { ScopedPrisma } from "../../db/tenant-scope.ts";
import type { CommissionStatus, Prisma } from "../../generated/prisma/client.ts";
import { totalsByStatus, type ListTotals } from "./totals-by-status.ts";

/**
 * Count and sum of the lines a `commissions(filter)` list holds, without
 * reading its pages: one GROUP BY status through the viewer's scoped client,
 * so a partner's totals are of its own lines only.
 */
export async function commissionTotals(db: ScopedPrisma, programId: string, where: Prisma.CommissionWhereInput): Promise<ListTotals<CommissionStatus>> {
  const [program, groups] = await Promise.all([
    db.program.findUniqueOrThrow({ where: { id: programId }, select: { currency: true } }),
    db.commission.groupBy({ by: ["status"], where, _count: { _all: true }, _sum: { amount: true } }),
  ]);
  return totalsByStatus(program.currency, groups);
}
