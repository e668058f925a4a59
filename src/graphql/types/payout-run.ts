import type { PayoutRunReport } from "../../services/payouts/run-payouts.ts";
import { builder } from "../builder.ts";
import { READERS } from "../guards.ts";
import { loadersOf, type PayoutRunTotals } from "../loaders.ts";
import { Money, moneyOf } from "./common.ts";
import { SkippedPartnerRef } from "./payout.ts";

export const PayoutRunTriggerEnum = builder.enumType("PayoutRunTrigger", {
  values: {
    OPERATOR: { description: "An operator's (or a payouts:write token's) runPayouts." },
    SCHEDULE: { description: "The program's payout schedule." },
  } as const,
});

type Bucket = "drafted" | "sent" | "failed" | "paid" | "returned" | "cancelled";

const PayoutRunTotalRef = builder.objectRef<{ count: number; amount: string; currency: string }>("PayoutRunTotal").implement({
  description: "How many of a run's payouts are in a bucket, and their amount.",
  fields: (t) => ({
    count: t.exposeInt("count"),
    amount: t.field({ type: Money, resolve: (total) => moneyOf(total.amount, total.currency) }),
  }),
});

const PayoutRunTotalsRef = builder.objectRef<PayoutRunTotals & { currency: string }>("PayoutRunTotals").implement({
  description: "What became of a run's payouts, read from the payouts themselves (so always current).",
  fields: (t) => {
    const bucket = (name: Bucket, description: string) =>
      t.field({
        type: PayoutRunTotalRef,
        description,
        resolve: (totals) => ({ count: totals[`${name}Count`], amount: totals[`${name}Amount`], currency: totals.currency }),
      });
    return {
      drafted: bucket("drafted", "Every payout the run drafted, whatever became of it (amounts as they are now: a draft may have changed since)."),
      sent: bucket("sent", "Those handed to a payment provider (sendPayouts), whatever the provider answered."),
      failed: bucket("failed", "Those the provider refused or failed (FAILED): their lines are payable again."),
      paid: bucket("paid", "Those PAID, by an operator or confirmed by the provider."),
      returned: bucket("returned", "Those paid whose money came back (RETURNED)."),
      cancelled: bucket("cancelled", "Those cancelled before payment."),
    };
  },
});

export const PayoutRunRef = builder.prismaNode("PayoutRun", {
  id: { field: "id" },
  findUnique: (id) => ({ id }),
  nullable: true,
  authScopes: READERS.payoutRun,
  description:
    "One payout run (runPayouts, or the program's schedule): the payouts it drafted, the partners it skipped and why, and what became of its payouts. Admin and finance.",
  fields: (t) => ({
    trigger: t.expose("trigger", { type: PayoutRunTriggerEnum }),
    payableBefore: t.expose("payableBefore", { type: "DateTime", description: "Positive lines payable at or before this instant were gathered." }),
    createdBy: t.exposeString("createdBy", { description: "Who ran it (payout-schedule for a scheduled run)." }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    finishedAt: t.expose("finishedAt", {
      type: "DateTime",
      nullable: true,
      description: "Null while it runs, or when it was cut short (a retry with its idempotency key finishes it).",
    }),
    skipped: t.field({
      type: [SkippedPartnerRef],
      description: "The partners it did not draft for, with the reason.",
      select: { skipped: true },
      resolve: (run) => (run.skipped as unknown as PayoutRunReport["skipped"]) ?? [],
    }),
    totals: t.field({
      type: PayoutRunTotalsRef,
      select: { id: true, program: { select: { currency: true } } },
      resolve: async (run, _args, ctx) => ({ ...(await loadersOf(ctx).payoutRunTotals.load(run.id)), currency: run.program.currency }),
    }),
    payouts: t.relatedConnection("payouts", {
      cursor: "id",
      totalCount: true,
      authScopes: READERS.payout,
      description: "The payouts it drafted, oldest first.",
      query: { orderBy: { id: "asc" } },
    }),
  }),
});

builder.queryFields((t) => ({
  payoutRuns: t.prismaConnection({
    type: "PayoutRun",
    cursor: "id",
    description: "The program's payout runs, newest first (admin and finance).",
    authScopes: READERS.payoutRun,
    totalCount: (_parent, _args, ctx) => ctx.db.payoutRun.count(),
    resolve: (query, _root, _args, ctx) => ctx.db.payoutRun.findMany({ ...query, orderBy: { id: "desc" } }),
  }),
  payoutRun: t.prismaField({
    type: "PayoutRun",
    nullable: true,
    authScopes: READERS.payoutRun,
    args: { id: t.arg.globalID({ for: PayoutRunRef, required: true }) },
    resolve: (query, _root, args, ctx) => ctx.db.payoutRun.findUnique({ ...query, where: { id: args.id.id } }),
  }),
}));
