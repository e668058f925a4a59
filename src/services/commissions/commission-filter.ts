import type { CommissionKind, CommissionStatus } from "../../generated/prisma/enums.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import { payableSql, payableWhere } from "./payable-lines.ts";

/**
 * The commission lists' filter, as every reader of a list takes it: the
 * GraphQL `commissions` list and `Partner.commissions` (from CommissionFilter)
 * and the CSV export (from its query string). Ids are the records' own, not
 * global ids; the callers decode and check them.
 */
export interface CommissionListFilter {
  status?: readonly CommissionStatus[] | null;
  kind?: readonly CommissionKind[] | null;
  partnerId?: string | null;
  conversionId?: string | null;
  /** Inclusive. */
  occurredAfter?: Date | null;
  /** Exclusive. */
  occurredBefore?: Date | null;
  /** payableAt before this instant (exclusive). */
  payableBefore?: Date | null;
  /** true: payable at `now` (domain/payable.ts); false: not payable. */
  payable?: boolean | null;
}

/** The filter in Prisma's terms (the tenant-scoped client adds the program, and a partner's own id). */
export function commissionWhere(filter: CommissionListFilter | null | undefined, now: Date): Prisma.CommissionWhereInput {
  const where: Prisma.CommissionWhereInput = {};
  if (filter?.status?.length) where.status = { in: [...filter.status] };
  if (filter?.kind?.length) where.kind = { in: [...filter.kind] };
  if (filter?.partnerId) where.partnerId = filter.partnerId;
  if (filter?.conversionId) where.conversionId = filter.conversionId;
  if (filter?.occurredAfter || filter?.occurredBefore) {
    where.occurredAt = { ...(filter.occurredAfter ? { gte: filter.occurredAfter } : {}), ...(filter.occurredBefore ? { lt: filter.occurredBefore } : {}) };
  }
  if (filter?.payableBefore) where.payableAt = { lt: filter.payableBefore };
  if (filter?.payable === true) where.AND = [payableWhere(now)];
  if (filter?.payable === false) where.NOT = [payableWhere(now)];
  return where;
}

/** Whether the filter names nothing but (at most) a partner: such a count is the partner's kept count of lines. */
export function filtersOnlyByPartner(filter: CommissionListFilter | null | undefined): boolean {
  return commissionFilterSql({ ...filter, partnerId: undefined }, new Date(0)) === Prisma.empty;
}

/** The same filter as SQL on `commissions c`, each condition prefixed with AND (empty when there is none). */
export function commissionFilterSql(filter: CommissionListFilter | null | undefined, now: Date): Prisma.Sql {
  const parts: Prisma.Sql[] = [];
  if (filter?.status?.length) parts.push(Prisma.sql`c.status = ANY(${[...filter.status]}::"CommissionStatus"[])`);
  if (filter?.kind?.length) parts.push(Prisma.sql`c.kind = ANY(${[...filter.kind]}::"CommissionKind"[])`);
  if (filter?.partnerId) parts.push(Prisma.sql`c.partner_id = ${filter.partnerId}::uuid`);
  if (filter?.conversionId) parts.push(Prisma.sql`c.conversion_id = ${filter.conversionId}::uuid`);
  if (filter?.occurredAfter) parts.push(Prisma.sql`c.occurred_at >= ${filter.occurredAfter}`);
  if (filter?.occurredBefore) parts.push(Prisma.sql`c.occurred_at < ${filter.occurredBefore}`);
  if (filter?.payableBefore) parts.push(Prisma.sql`c.payable_at < ${filter.payableBefore}`);
  if (filter?.payable === true) parts.push(payableSql(now));
  if (filter?.payable === false) parts.push(Prisma.sql`NOT ${payableSql(now)}`);
  return parts.length ? Prisma.sql` AND ${Prisma.join(parts, " AND ")}` : Prisma.empty;
}
