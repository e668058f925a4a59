import DataLoader from "dataloader";
import { NO_PROGRAM, type Context } from "../context.ts";
import type { Decimal } from "decimal.js";
import { ZERO } from "../domain/money.ts";
import { balancesAsOf, type BalanceAsOf } from "../services/balances/balance-as-of.ts";
import { payableSql, unmarkedPayableByPartner } from "../services/commissions/payable-lines.ts";

/** What became of a run's payouts: each bucket's count and amount (a decimal string in the program's currency). */
export interface PayoutRunTotals {
  draftedCount: number;
  draftedAmount: string;
  sentCount: number;
  sentAmount: string;
  failedCount: number;
  failedAmount: string;
  paidCount: number;
  paidAmount: string;
  returnedCount: number;
  returnedAmount: string;
  cancelledCount: number;
  cancelledAmount: string;
}

const EMPTY_RUN_TOTALS: PayoutRunTotals = {
  draftedCount: 0,
  draftedAmount: "0",
  sentCount: 0,
  sentAmount: "0",
  failedCount: 0,
  failedAmount: "0",
  paidCount: 0,
  paidAmount: "0",
  returnedCount: 0,
  returnedAmount: "0",
  cancelledCount: 0,
  cancelledAmount: "0",
};

/**
 * Per-request DataLoaders for aggregates plugin-prisma cannot plan into a
 * list's query: each batches the keys of one page into one statement.
 */
function createLoaders(ctx: Context) {
  return {
    /** Count and sale revenue of each partner's payable lines (domain/payable.ts's rule, at the request's clock). */
    payableSummary: new DataLoader<string, { count: number; revenue: string }>(async (partnerIds) => {
      const rows = await ctx.db.$queryRaw<{ partner_id: string; n: number; revenue: string }[]>`
        SELECT c.partner_id::text, count(*)::int AS n, coalesce(sum(v.program_amount), 0)::text AS revenue
          FROM commissions c LEFT JOIN conversions v ON v.program_id = c.program_id AND v.id = c.conversion_id AND c.kind = 'CONVERSION'
         WHERE c.program_id = ${ctx.actor?.programId ?? null}::uuid AND c.partner_id = ANY(${[...partnerIds]}::uuid[])
           AND ${payableSql(ctx.deps.clock.now())}
         GROUP BY c.partner_id`;
      const byId = new Map(rows.map((row) => [row.partner_id, { count: row.n, revenue: row.revenue }]));
      return partnerIds.map((id) => byId.get(id) ?? { count: 0, revenue: "0" });
    }),
    /** Per partner, the payable lines its stored balance still counts as pending (withHoldsEnded moves them). */
    unmarkedPayable: new DataLoader<string, Decimal>(async (partnerIds) => {
      const sums = await unmarkedPayableByPartner(ctx.db, ctx.actor?.programId ?? NO_PROGRAM, partnerIds, ctx.deps.clock.now());
      return partnerIds.map((id) => sums.get(id) ?? ZERO);
    }),
    /** When each partner was last paid. */
    lastPaidAt: new DataLoader<string, Date | null>(async (partnerIds) => {
      const rows = await ctx.db.payout.groupBy({ by: ["partnerId"], where: { partnerId: { in: [...partnerIds] }, status: "PAID" }, _max: { paidAt: true } });
      const byId = new Map(rows.map((row) => [row.partnerId, row._max.paidAt]));
      return partnerIds.map((id) => byId.get(id) ?? null);
    }),
    /** Each payout run's totals, summed over its payouts by what became of them. */
    payoutRunTotals: new DataLoader<string, PayoutRunTotals>(async (runIds) => {
      const rows = await ctx.db.$queryRaw<(PayoutRunTotals & { run_id: string })[]>`
        SELECT run_id::text,
               count(*)::int AS "draftedCount", coalesce(sum(amount), 0)::text AS "draftedAmount",
               count(*) FILTER (WHERE sent_at IS NOT NULL)::int AS "sentCount", coalesce(sum(amount) FILTER (WHERE sent_at IS NOT NULL), 0)::text AS "sentAmount",
               count(*) FILTER (WHERE status = 'FAILED')::int AS "failedCount", coalesce(sum(amount) FILTER (WHERE status = 'FAILED'), 0)::text AS "failedAmount",
               count(*) FILTER (WHERE status = 'PAID')::int AS "paidCount", coalesce(sum(amount) FILTER (WHERE status = 'PAID'), 0)::text AS "paidAmount",
               count(*) FILTER (WHERE status = 'RETURNED')::int AS "returnedCount", coalesce(sum(amount) FILTER (WHERE status = 'RETURNED'), 0)::text AS "returnedAmount",
               count(*) FILTER (WHERE status = 'CANCELLED')::int AS "cancelledCount", coalesce(sum(amount) FILTER (WHERE status = 'CANCELLED'), 0)::text AS "cancelledAmount"
          FROM payouts
         WHERE program_id = ${ctx.actor?.programId ?? null}::uuid AND run_id = ANY(${[...runIds]}::uuid[])
         GROUP BY run_id`;
      const byId = new Map(rows.map(({ run_id, ...totals }) => [run_id, totals]));
      return runIds.map((id) => byId.get(id) ?? EMPTY_RUN_TOTALS);
    }),
    /** Each partner's balance at an instant, one statement per instant asked. */
    balanceAsOf: new DataLoader<{ partnerId: string; at: Date }, BalanceAsOf | null, string>(
      async (keys) => {
        const byInstant = new Map<number, string[]>();
        for (const key of keys) byInstant.set(key.at.getTime(), [...(byInstant.get(key.at.getTime()) ?? []), key.partnerId]);
        const found = new Map<string, BalanceAsOf>();
        for (const [instant, partnerIds] of byInstant) {
          for (const [id, balance] of await balancesAsOf(ctx.db, ctx.actor?.programId ?? "", partnerIds, new Date(instant))) found.set(`${id}@${instant}`, balance);
        }
        return keys.map((key) => found.get(`${key.partnerId}@${key.at.getTime()}`) ?? null);
      },
      { cacheKeyFn: (key) => `${key.partnerId}@${key.at.getTime()}` },
    ),
  };
}

const perRequest = new WeakMap<Context, ReturnType<typeof createLoaders>>();

export function loadersOf(ctx: Context): ReturnType<typeof createLoaders> {
  let loaders = perRequest.get(ctx);
  if (!loaders) {
    loaders = createLoaders(ctx);
    perRequest.set(ctx, loaders);
  }
  return loaders;
}
