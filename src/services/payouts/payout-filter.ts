import type { PayoutStatus } from "../../generated/prisma/enums.ts";
import type { Prisma } from "../../generated/prisma/client.ts";

/**
 * The payout list's filter, as every reader of the list takes it: the
 * GraphQL `payouts` list (from PayoutFilter) and the CSV export (from its
 * query string). The partner id is the record's own, not a global id.
 */
export interface PayoutListFilter {
  status?: readonly PayoutStatus[] | null;
  partnerId?: string | null;
  /** Inclusive. */
  paidAfter?: Date | null;
  /** Exclusive. */
  paidBefore?: Date | null;
}

/** The filter in Prisma's terms (the tenant-scoped client adds the program, and a partner's own id). */
export function payoutWhere(filter: PayoutListFilter | null | undefined): Prisma.PayoutWhereInput {
  const where: Prisma.PayoutWhereInput = {};
  if (filter?.status?.length) where.status = { in: [...filter.status] };
  if (filter?.partnerId) where.partnerId = filter.partnerId;
  if (filter?.paidAfter || filter?.paidBefore) where.paidAt = { ...(filter.paidAfter ? { gte: filter.paidAfter } : {}), ...(filter.paidBefore ? { lt: filter.paidBefore } : {}) };
  return where;
}
