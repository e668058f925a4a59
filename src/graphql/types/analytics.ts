import type { IntegrationScope } from "../../auth/viewer.ts";
import type { Context } from "../../context.ts";
import { parseLocalDate } from "../../domain/iso-8601.ts";
import { MAX_SERIES_POINTS, periodStarts, type AnalyticsPeriod } from "../../services/analytics/analytics-range.ts";
import { commissionTotals } from "../../services/analytics/commission-totals.ts";
import { earningsSeries, type EarningsPoint, type EarningsSeries } from "../../services/analytics/earnings-series.ts";
import { nextPayoutRun, SCHEDULED_PROGRAM_SELECT } from "../../services/analytics/next-payout-run.ts";
import { payoutTotals } from "../../services/analytics/payout-totals.ts";
import { topPartners, type PartnerEarnings } from "../../services/analytics/top-partners.ts";
import type { ListTotals, StatusTotal } from "../../services/analytics/totals-by-status.ts";
import { builder, MAX_PAGE_SIZE } from "../builder.ts";
import { actorOf, assertMayNamePartner, badInput, OPERATORS, READERS } from "../guards.ts";
import { COMMISSION_READERS, CommissionFilter, commissionFilterOf, CommissionStatusEnum } from "./commission.ts";
import { commissionWhere } from "../../services/commissions/commission-filter.ts";
import { payoutWhere } from "../../services/payouts/payout-filter.ts";
import { Money, moneyOf } from "./common.ts";
import { PartnerRef } from "./partner.ts";
import { PayoutFilter, payoutFilterOf, PayoutStatusEnum } from "./payout.ts";

/**
 * The figures a dashboard cannot build from pages: totals of a filtered
 * list, earnings by period, the top earners, the next scheduled run. Each is
 * one or two statements, and each is readable by whoever reads what it sums.
 */

/** As the `payouts` list (payout.ts). */
const PAYOUT_LIST_READERS = { role: [...OPERATORS, "partner" as const], integration: "payouts:read" as const };

/** A figure that sums several kinds of record needs, for an integration, a scope for each. */
function readsAll(ctx: Context, scopes: readonly IntegrationScope[]): boolean {
  const viewer = ctx.viewer;
  return viewer?.role === "integration" && scopes.every((scope) => viewer.scopes.has(scope));
}

function checkedDate(value: string, name: string): string {
  if (!parseLocalDate(value)) throw badInput(`${name} must be a date like 2026-03-01`);
  return value;
}

const AnalyticsPeriodEnum = builder.enumType("AnalyticsPeriod", {
  description: "A calendar period in the program's time zone.",
  values: {
    DAY: { description: "A day." },
    WEEK: { description: "An ISO week, Monday to Sunday." },
    MONTH: { description: "A calendar month." },
  } as const,
});

const CommissionStatusTotalRef = builder.objectRef<StatusTotal<string> & { currency: string }>("CommissionStatusTotal").implement({
  fields: (t) => ({
    status: t.field({ type: CommissionStatusEnum, resolve: (group) => group.status as never }),
    count: t.exposeInt("count"),
    amount: t.field({ type: Money, resolve: (group) => moneyOf(group.amount, group.currency) }),
  }),
});

const CommissionTotalsRef = builder.objectRef<ListTotals<string>>("CommissionTotals").implement({
  description: "Count and sum of a commissions list, with every filter applied, without its pages.",
  fields: (t) => ({
    count: t.exposeInt("count"),
    amount: t.field({
      type: Money,
      description: "The signed sum of the lines (corrections are negative).",
      resolve: (totals) => moneyOf(totals.amount, totals.currency),
    }),
    byStatus: t.field({
      type: [CommissionStatusTotalRef],
      description: "The same, per status (statuses with no line are left out).",
      resolve: (totals) => totals.byStatus.map((group) => ({ ...group, currency: totals.currency })),
    }),
  }),
});

const PayoutStatusTotalRef = builder.objectRef<StatusTotal<string> & { currency: string }>("PayoutStatusTotal").implement({
  fields: (t) => ({
    status: t.field({ type: PayoutStatusEnum, resolve: (group) => group.status as never }),
    count: t.exposeInt("count"),
    amount: t.field({ type: Money, resolve: (group) => moneyOf(group.amount, group.currency) }),
  }),
});

const PayoutTotalsRef = builder.objectRef<ListTotals<string>>("PayoutTotals").implement({
  description: "Count and sum of a payouts list, with every filter applied, without its pages.",
  fields: (t) => ({
    count: t.exposeInt("count"),
    amount: t.field({ type: Money, resolve: (totals) => moneyOf(totals.amount, totals.currency) }),
    byStatus: t.field({
      type: [PayoutStatusTotalRef],
      description: "The same, per status (statuses with no payout are left out).",
      resolve: (totals) => totals.byStatus.map((group) => ({ ...group, currency: totals.currency })),
    }),
  }),
});

const EarningsPointRef = builder.objectRef<EarningsPoint & { currency: string }>("EarningsPoint").implement({
  description: "One period of an earnings series.",
  fields: (t) => {
    const money = (key: "sales" | "accrued" | "reversed" | "paidOut", description: string) =>
      t.field({ type: Money, description, resolve: (point) => moneyOf(point[key], point.currency) });
    return {
      periodStart: t.field({
        type: "Date",
        description: "The period's first day (program time); the range may cut the first and last period short.",
        resolve: (point) => point.periodStart,
      }),
      sales: money("sales", "Sales in the program's currency, by the sale's date: each conversion once for the program; for a partner, those attributed to it."),
      conversions: t.exposeInt("conversions", { description: "How many sales those are." }),
      accrued: money(
        "accrued",
        "Commission booked, by the line's date: sale commissions, adjustments and credits, whatever their status but CANCELLED (a credit rebooking a bounced payment is not earned again).",
      ),
      reversed: money("reversed", "Commission refunds and chargebacks took back, by the refund's date, as a positive figure."),
      paidOut: money("paidOut", "Payouts paid, by their paid date."),
    };
  },
});

const EarningsSeriesRef = builder.objectRef<EarningsSeries>("EarningsSeries").implement({
  description: "Earnings by period, for the program or one partner.",
  fields: (t) => ({
    period: t.field({ type: AnalyticsPeriodEnum, resolve: (series) => series.period }),
    from: t.field({ type: "Date", resolve: (series) => series.from }),
    to: t.field({ type: "Date", resolve: (series) => series.to }),
    timeZone: t.exposeString("timeZone", { description: "The program's, where the periods are cut." }),
    partnerId: t.globalID({
      nullable: true,
      description: "The partner, when the series is one partner's.",
      resolve: (series) => (series.partnerId ? { type: "Partner", id: series.partnerId } : null),
    }),
    points: t.field({
      type: [EarningsPointRef],
      description: "One per period from `from` to `to`, in order; empty periods are zero.",
      resolve: (series) => series.points.map((point) => ({ ...point, currency: series.currency })),
    }),
  }),
});

const PartnerEarningsRef = builder.objectRef<PartnerEarnings>("PartnerEarnings").implement({
  description: "What one partner earned in a period, as the earnings series counts it.",
  fields: (t) => {
    const money = (key: "earned" | "accrued" | "reversed" | "sales", description?: string) =>
      t.field({ type: Money, description, resolve: (row) => moneyOf(row[key], row.currency) });
    return {
      partner: t.prismaField({
        type: "Partner",
        description: "Needs a token that may read partners.",
        authScopes: READERS.partner,
        // One findUnique per row in the same tick: Prisma batches them into one statement.
        resolve: (query, row, _args, ctx) => ctx.db.partner.findUniqueOrThrow({ ...query, where: { id: row.partnerId } }),
      }),
      partnerId: t.globalID({ resolve: (row) => ({ type: "Partner", id: row.partnerId }) }),
      earned: money("earned", "Accrued less reversed."),
      accrued: money("accrued"),
      reversed: money("reversed"),
      sales: money("sales", "Sales attributed to the partner."),
      conversions: t.exposeInt("conversions"),
    };
  },
});

/** What a series costs: its points times what is selected in each, plus one aggregation. */
function seriesPoints(args: { period: AnalyticsPeriod; from: string; to: string }): number {
  if (!parseLocalDate(args.from) || !parseLocalDate(args.to) || args.to < args.from) return 1;
  const starts = periodStarts(args.period, args.from, args.to);
  return starts.ok ? starts.value.length : MAX_SERIES_POINTS;
}

builder.queryFields((t) => ({
  commissionTotals: t.field({
    type: CommissionTotalsRef,
    description: "Count and sum of `commissions(filter)`, without reading its pages. Readable as that list is: a partner gets its own.",
    authScopes: COMMISSION_READERS,
    complexity: 10,
    args: { filter: t.arg({ type: CommissionFilter }) },
    resolve: (_root, args, ctx) => {
      if (args.filter?.partnerId) assertMayNamePartner(ctx, args.filter.partnerId.id);
      return commissionTotals(ctx.db, actorOf(ctx).programId, commissionWhere(commissionFilterOf(args.filter), ctx.deps.clock.now()));
    },
  }),
  payoutTotals: t.field({
    type: PayoutTotalsRef,
    description: "Count and sum of `payouts(filter)`, without reading its pages. Readable as that list is: a partner gets its own.",
    authScopes: PAYOUT_LIST_READERS,
    complexity: 10,
    args: { filter: t.arg({ type: PayoutFilter }) },
    resolve: (_root, args, ctx) => {
      if (args.filter?.partnerId) assertMayNamePartner(ctx, args.filter.partnerId.id);
      return payoutTotals(ctx.db, actorOf(ctx).programId, payoutWhere(payoutFilterOf(args.filter)));
    },
  }),
  earningsSeries: t.field({
    type: EarningsSeriesRef,
    description:
      "Sales, commission accrued and reversed, and payouts paid, by day, week or month in the program's time zone, from `from` to `to` (inclusive; at most 400 periods). The program's, or one partner's; a partner token gets its own. Integrations need commissions:read, conversions:read and payouts:read.",
    authScopes: (_root, _args, ctx) => readsAll(ctx, ["commissions:read", "conversions:read", "payouts:read"]) || { role: [...OPERATORS, "partner"] },
    complexity: (args) => ({ field: 20, multiplier: seriesPoints(args) }),
    args: {
      period: t.arg({ type: AnalyticsPeriodEnum, required: true }),
      from: t.arg({ type: "Date", required: true }),
      to: t.arg({ type: "Date", required: true, description: "Inclusive." }),
      partnerId: t.arg.globalID({ for: PartnerRef, description: "One partner's series; leave out for the program's (a partner token always gets its own)." }),
    },
    resolve: async (_root, args, ctx) => {
      if (args.partnerId) assertMayNamePartner(ctx, args.partnerId.id);
      const result = await earningsSeries(ctx.db, actorOf(ctx), {
        period: args.period,
        from: checkedDate(args.from, "from"),
        to: checkedDate(args.to, "to"),
        partnerId: args.partnerId?.id,
      });
      if (!result.ok) throw badInput(result.message);
      return result.value;
    },
  }),
  topPartners: t.field({
    type: [PartnerEarningsRef],
    description:
      "The partners who earned most from `from` to `to` (program time, inclusive), accrued less reversed, largest first (operators; integrations need commissions:read and conversions:read).",
    authScopes: (_root, _args, ctx) => readsAll(ctx, ["commissions:read", "conversions:read"]) || { role: OPERATORS },
    complexity: (args) => ({ field: 20, multiplier: args.first ?? 10 }),
    args: {
      from: t.arg({ type: "Date", required: true }),
      to: t.arg({ type: "Date", required: true, description: "Inclusive." }),
      first: t.arg.int({ defaultValue: 10, description: `1 to ${MAX_PAGE_SIZE}.` }),
    },
    resolve: async (_root, args, ctx) => {
      const first = args.first ?? 10;
      if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) throw badInput(`first must be 1 to ${MAX_PAGE_SIZE}`);
      const result = await topPartners(ctx.db, actorOf(ctx), { from: checkedDate(args.from, "from"), to: checkedDate(args.to, "to"), first });
      if (!result.ok) throw badInput(result.message);
      return result.value;
    },
  }),
}));

builder.prismaObjectFields("Program", (t) => ({
  nextPayoutRunOn: t.field({
    type: "Date",
    nullable: true,
    description: "The date (program time) of the next scheduled payout run; a run that is due and not yet drafted is next. Null when payouts are on demand.",
    select: SCHEDULED_PROGRAM_SELECT,
    resolve: (program, _args, ctx) => nextPayoutRun(program, ctx.deps.clock.now()),
  }),
}));
