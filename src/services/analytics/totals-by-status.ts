import { dec, sum } from "../../domain/money.ts";

export interface StatusTotal<S extends string> {
  status: S;
  count: number;
  amount: string;
}

export interface ListTotals<S extends string> {
  currency: string;
  count: number;
  amount: string;
  byStatus: StatusTotal<S>[];
}

/** What Prisma's groupBy({ by: ["status"], _count, _sum: { amount } }) returns. */
export type StatusGroups<S extends string> = { status: S; _count: { _all: number }; _sum: { amount: { toFixed(): string } | null } }[];

/** A list's totals from its per-status groups; the overall sum is added as exact decimals. */
export function totalsByStatus<S extends string>(currency: string, groups: StatusGroups<S>): ListTotals<S> {
  const byStatus = groups
    .map((group) => ({ status: group.status, count: group._count._all, amount: group._sum.amount?.toFixed() ?? "0" }))
    .sort((a, b) => a.status.localeCompare(b.status));
  return {
    currency,
    count: byStatus.reduce((n, group) => n + group.count, 0),
    amount: sum(byStatus.map((group) => dec(group.amount))).toFixed(),
    byStatus,
  };
}
