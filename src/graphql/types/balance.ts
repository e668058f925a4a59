import type { Context } from "../../context.ts";
import { dec } from "../../domain/money.ts";
import { type PendingAndPayable, withHoldsEnded } from "../../domain/payable.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import type { BalanceAsOf } from "../../services/balances/balance-as-of.ts";
import { payableCondition, trailingPayable } from "../../services/balances/balances-by-rule.ts";
import { reconcileBalances, type BalanceMismatch, type ReconcileReport } from "../../services/balances/reconcile-balances.ts";
import { builder } from "../builder.ts";
import { loadersOf } from "../loaders.ts";
import { actorOf, badInput, OPERATORS, READERS } from "../guards.ts";
import { Money, moneyOf, SortDirection } from "./common.ts";

/**
 * A stored balance read by domain/payable.ts's rule: lines whose hold ended
 * since the projection last marked them count as payable, not pending
 * (one statement per page of balances, loaders.ts).
 */
export async function balanceNow(ctx: Context, b: { partnerId: string; pending: { toFixed(): string }; payable: { toFixed(): string } }): Promise<PendingAndPayable> {
  const unmarked = await loadersOf(ctx).unmarkedPayable.load(b.partnerId);
  return withHoldsEnded({ pending: dec(b.pending), payable: dec(b.payable) }, unmarked);
}

export const BalanceRef = builder.prismaObject("Balance", {
  authScopes: READERS.balance,
  description: "What a partner has earned and been paid, in the program's currency. Always the sum of the partner's lines.",
  fields: (t) => ({
    partner: t.relation("partner", { authScopes: READERS.partner, description: "Needs a token that may read partners." }),
    partnerId: t.globalID({ description: "The partner's id, for tokens that may not read the partner itself.", resolve: (row) => ({ type: "Partner", id: row.partnerId }) }),
    pending: t.field({
      type: Money,
      description: "Pending approval, on hold, or approved but still inside the hold period.",
      select: { partnerId: true, pending: true, payable: true, currency: true },
      resolve: async (b, _args, ctx) => moneyOf((await balanceNow(ctx, b)).pending, b.currency),
    }),
    payable: t.field({
      type: Money,
      description: "Approved, past the hold period and in no open payout. Negative when clawbacks exceed earnings; it carries over.",
      select: { partnerId: true, pending: true, payable: true, currency: true },
      resolve: async (b, _args, ctx) => moneyOf((await balanceNow(ctx, b)).payable, b.currency),
    }),
    inPayouts: t.field({ type: Money, description: "In draft or approved payouts.", resolve: (b) => moneyOf(b.inPayouts, b.currency) }),
    paid: t.field({ type: Money, resolve: (b) => moneyOf(b.paid, b.currency) }),
    lifetimeEarned: t.field({
      type: Money,
      description: "Every line that counts: pending + payable + in payouts + paid.",
      resolve: (b) => moneyOf(b.lifetimeEarned, b.currency),
    }),
    recoverable: t.field({
      type: Money,
      description: "What the partner owes back (the negative part of payable), to be recovered from future earnings.",
      select: { partnerId: true, pending: true, payable: true, currency: true },
      resolve: async (b, _args, ctx) => {
        const { payable } = await balanceNow(ctx, b);
        return moneyOf(payable.isNegative() ? payable.negated() : dec("0"), b.currency);
      },
    }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

builder.prismaObjectField("Partner", "balance", (t) =>
  t.relation("balance", {
    nullable: true,
    authScopes: READERS.balance,
  }),
);

const BalanceAsOfRef = builder.objectRef<BalanceAsOf>("BalanceAsOf").implement({
  description: "A partner's balance as the books stood at a past instant: the sum of its balance movements recorded by then.",
  fields: (t) => ({
    at: t.field({ type: "DateTime", resolve: (b) => b.at }),
    pending: t.field({ type: Money, resolve: (b) => moneyOf(b.pending, b.currency) }),
    payable: t.field({ type: Money, resolve: (b) => moneyOf(b.payable, b.currency) }),
    inPayouts: t.field({ type: Money, resolve: (b) => moneyOf(b.inPayouts, b.currency) }),
    paid: t.field({ type: Money, resolve: (b) => moneyOf(b.paid, b.currency) }),
    lifetimeEarned: t.field({ type: Money, resolve: (b) => moneyOf(b.lifetimeEarned, b.currency) }),
  }),
});

builder.prismaObjectFields("Partner", (t) => ({
  balanceAsOf: t.field({
    type: BalanceAsOfRef,
    nullable: true,
    authScopes: READERS.balance,
    description:
      "The balance as it stood at `at` (what `balance` would have answered then), from the append-only movement ledger. " +
      "Before the ledger began (its migration), a reconstruction: exact for lifetime earned and paid, approximate for the split of the unpaid buckets.",
    args: { at: t.arg({ type: "DateTime", required: true }) },
    select: { id: true },
    resolve: (partner, args, ctx) => loadersOf(ctx).balanceAsOf.load({ partnerId: partner.id, at: args.at }),
  }),
}));

const BalanceSortField = builder.enumType("BalanceSortField", { values: ["PAYABLE", "PENDING", "IN_PAYOUTS", "PAID", "LIFETIME_EARNED"] as const });
const balanceColumns = { PAYABLE: "payable", PENDING: "pending", IN_PAYOUTS: "inPayouts", PAID: "paid", LIFETIME_EARNED: "lifetimeEarned" } as const;

const BalanceFilter = builder.inputType("BalanceFilter", {
  fields: (t) => ({
    minimumPayable: t.field({ type: "Decimal", description: "Only partners whose payable balance is at least this." }),
    negativeOnly: t.boolean({ description: "Only partners who owe money back." }),
  }),
});

const BalanceSort = builder.inputType("BalanceSort", {
  fields: (t) => ({
    field: t.field({ type: BalanceSortField, required: true }),
    direction: t.field({ type: SortDirection, defaultValue: "DESC" }),
  }),
});

/** The filter by the payable rule: a partner whose stored balance trails it is judged by its figure by the rule (balances-by-rule.ts). */
async function balanceWhere(ctx: Context, filter: typeof BalanceFilter.$inferInput | null | undefined): Promise<Prisma.BalanceWhereInput> {
  const minimum = filter?.minimumPayable;
  if (minimum != null && !/^-?\d+(\.\d+)?$/.test(minimum)) throw badInput("minimumPayable must be a plain decimal like 50.00");
  if (minimum == null && !filter?.negativeOnly) return {};
  const stored: Prisma.BalanceWhereInput = { payable: { ...(minimum != null ? { gte: minimum } : {}), ...(filter?.negativeOnly ? { lt: "0" } : {}) } };
  const trailing = await trailingPayable(ctx.db, actorOf(ctx).programId, ctx.deps.clock.now());
  return payableCondition(trailing, stored, (payable) => (minimum == null || payable.gte(minimum)) && (!filter?.negativeOnly || payable.isNegative()));
}

const MismatchRef = builder.objectRef<BalanceMismatch>("BalanceMismatch").implement({
  fields: (t) => ({
    partner: t.prismaField({
      type: "Partner",
      nullable: true,
      authScopes: READERS.partner,
      resolve: (query, mismatch, _args, ctx) => ctx.db.partner.findUnique({ ...query, where: { id: mismatch.partnerId } }),
    }),
    bucket: t.exposeString("bucket"),
    source: t.exposeString("source", { description: "What the balance row was checked against: `lines` (their sum as they stand) or `movements` (the movement ledger's sum)." }),
    projected: t.field({ type: "Decimal", description: "The balance row's figure.", resolve: (m) => m.projected }),
    computed: t.field({ type: "Decimal", description: "The sum of the lines, or of the movements (see source).", resolve: (m) => m.computed }),
  }),
});

const ReconcileReportRef = builder.objectRef<ReconcileReport>("ReconcileReport").implement({
  description: "Whether every balance equals the sum of its lines and the sum of its movements.",
  fields: (t) => ({
    ok: t.boolean({ resolve: (report) => report.mismatches.length === 0 }),
    checkedPartners: t.exposeInt("checkedPartners"),
    mismatches: t.field({ type: [MismatchRef], resolve: (report) => report.mismatches }),
  }),
});

builder.queryFields((t) => ({
  partnerBalances: t.prismaConnection({
    type: "Balance",
    cursor: "partnerId",
    description: "Partners' balances, largest payable first unless sorted (operators).",
    authScopes: { role: OPERATORS },
    args: { filter: t.arg({ type: BalanceFilter }), sort: t.arg({ type: BalanceSort }) },
    totalCount: async (_parent, args, ctx) => ctx.db.balance.count({ where: await balanceWhere(ctx, args.filter) }),
    resolve: async (query, _root, args, ctx) => {
      const direction = (args.sort?.direction ?? "DESC").toLowerCase() as "asc" | "desc";
      const column = balanceColumns[args.sort?.field ?? "PAYABLE"];
      return ctx.db.balance.findMany({ ...query, where: await balanceWhere(ctx, args.filter), orderBy: [{ [column]: direction }, { partnerId: direction }] });
    },
  }),
  reconcileBalances: t.field({
    type: ReconcileReportRef,
    description: "Proves every balance equals the sum of its lines and of its movements, bucket by bucket (admin). `npm run reconcile` calls this.",
    authScopes: { role: ["admin"] },
    resolve: (_root, _args, ctx) => reconcileBalances(ctx.db, actorOf(ctx).programId),
  }),
}));
