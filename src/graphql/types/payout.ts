import type { Context } from "../../context.ts";
import { dec } from "../../domain/money.ts";
import { BLOCKER_MESSAGES, PAYOUT_BLOCKERS, payoutBlockers } from "../../domain/payout-eligibility.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import type { BulkResult } from "../../services/commissions/review-commissions.ts";
import { addPayoutLines } from "../../services/payouts/add-payout-lines.ts";
import { createPayout } from "../../services/payouts/create-payout.ts";
import { payableCondition, trailingPayable } from "../../services/balances/balances-by-rule.ts";
import { type PayoutListFilter, payoutWhere } from "../../services/payouts/payout-filter.ts";
import { payoutsOverview, type PayoutsOverview } from "../../services/payouts/payouts-overview.ts";
import { recordPayoutBounce } from "../../services/payouts/record-payout-bounce.ts";
import { removePayoutLines } from "../../services/payouts/remove-payout-lines.ts";
import { requestPayout } from "../../services/payouts/request-payout.ts";
import { runPayouts, type PayoutRunReport } from "../../services/payouts/run-payouts.ts";
import { transitionPayouts } from "../../services/payouts/transition-payouts.ts";
import { builder } from "../builder.ts";
import { inTenant } from "../loaders/nested-scope.ts";
import { actorOf, assertMayNamePartner, OPERATORS, READERS } from "../guards.ts";
import { loadersOf } from "../loaders.ts";
import { defineMutation, type Payload } from "../mutation.ts";
import { inOrderOf } from "../reload.ts";
import { balanceNow } from "./balance.ts";
import { CommissionRef, SkippedItemRef } from "./commission.ts";
import { Money, moneyOf, SortDirection, UserErrorCode } from "./common.ts";
import { PayoutMethodTypeEnum } from "./payment-details.ts";
import { PartnerRef } from "./partner.ts";
import { sendPayouts } from "../../services/payment-providers/send-payouts.ts";
import { PayoutRunRef } from "./payout-run.ts";
import { ProviderDiscrepancyRef, TRANSFER_READERS } from "./payout-transfer.ts";
import type { StoredDiscrepancy } from "../../services/payment-providers/reconcile-provider-payouts.ts";

export const PayoutStatusEnum = builder.enumType("PayoutStatus", {
  values: {
    DRAFT: { description: "Drafted from payable lines; can be changed or cancelled." },
    APPROVED: { description: "Approved by an operator; ready to pay or to send." },
    PROCESSING: { description: "Handed to a payment provider (sendPayouts); waiting for it to confirm. Its lines stay in it." },
    PAID: { description: "Payment recorded, by an operator or confirmed by the provider." },
    FAILED: { description: "The provider refused or failed it; nothing was sent. `failureReason` says why; its lines became payable again. Final." },
    RETURNED: { description: "Paid, then the money came back (`bounceReason` says why); booked back to the partner as a bounce is. Final." },
    CANCELLED: { description: "Cancelled before payment; its lines became payable again." },
  } as const,
});

builder.prismaObject("PayoutItem", {
  authScopes: READERS.payout,
  name: "PayoutLine",
  description: "A commission line in a payout.",
  fields: (t) => ({
    // Whoever reads the payout reads the lines it pays (read-rules.ts), through here only.
    commission: t.relation("commission", { authScopes: READERS.payout }),
    amount: t.field({
      type: Money,
      select: { amount: true, payout: { select: { currency: true } } },
      resolve: (item) => moneyOf(item.amount, item.payout.currency),
    }),
    active: t.exposeBoolean("active", { description: "False once removed from the payout, or the payout was cancelled." }),
  }),
});

export const PayoutRef = builder.prismaNode("Payout", {
  id: { field: "id" },
  findUnique: (id) => ({ id }),
  nullable: true,
  authScopes: READERS.payout,
  description: "Money owed to (or paid to) a partner for a set of payable lines: draft, approved, paid or cancelled.",
  fields: (t) => ({
    partner: t.relation("partner", { authScopes: READERS.partner, description: "Needs a token that may read partners." }),
    partnerId: t.globalID({ description: "The partner's id, for tokens that may not read the partner itself.", resolve: (row) => ({ type: "Partner", id: row.partnerId }) }),
    status: t.expose("status", { type: PayoutStatusEnum }),
    amount: t.field({ type: Money, description: "The net of its lines (clawbacks included).", resolve: (p) => moneyOf(p.amount, p.currency) }),
    payableBefore: t.expose("payableBefore", {
      type: "DateTime",
      description: "Positive lines payable at or before this instant were gathered (negative ones payable then always are: a clawback nets against the next payout).",
    }),
    minimumOverrideReason: t.exposeString("minimumOverrideReason", { nullable: true }),
    method: t.expose("method", { type: PayoutMethodTypeEnum, nullable: true, description: "How it was paid." }),
    reference: t.exposeString("reference", { nullable: true, description: "The transaction reference of the payment." }),
    notes: t.exposeString("notes", { nullable: true }),
    sentAmount: t.field({
      type: Money,
      nullable: true,
      description: "What actually left the bank, when recorded (another currency, say).",
      resolve: (p) => (p.sentAmount ? moneyOf(p.sentAmount, p.sentCurrency ?? p.currency) : null),
    }),
    fee: t.field({ type: Money, nullable: true, resolve: (p) => (p.fee ? moneyOf(p.fee, p.sentCurrency ?? p.currency) : null) }),
    approvedAt: t.expose("approvedAt", { type: "DateTime", nullable: true }),
    approvedBy: t.exposeString("approvedBy", { nullable: true, description: "Who approved it (null for payouts approved before this was recorded)." }),
    sentAt: t.expose("sentAt", { type: "DateTime", nullable: true, description: "When it was handed to a payment provider (sendPayouts)." }),
    sentBy: t.exposeString("sentBy", { nullable: true, description: "Who handed it to the provider; above the program's dual-control amount, never its approver." }),
    failedAt: t.expose("failedAt", { type: "DateTime", nullable: true }),
    failureReason: t.exposeString("failureReason", { nullable: true, description: "The provider's reason for FAILED." }),
    returnedAt: t.expose("returnedAt", { type: "DateTime", nullable: true, description: "When the provider reported the money of this paid payout back (RETURNED)." }),
    providerNote: t.exposeString("providerNote", {
      nullable: true,
      description: "What the provider last said of it while on its way (PayPal: unclaimed), or of a partial return.",
    }),
    paidAt: t.expose("paidAt", { type: "DateTime", nullable: true }),
    cancelledAt: t.expose("cancelledAt", { type: "DateTime", nullable: true }),
    cancelReason: t.exposeString("cancelReason", { nullable: true }),
    bouncedAt: t.expose("bouncedAt", { type: "DateTime", nullable: true, description: "When the payment came back (paid stays final; a credit line rebooked it)." }),
    bounceReason: t.exposeString("bounceReason", { nullable: true }),
    createdBy: t.exposeString("createdBy"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    run: t.relation("run", { nullable: true, authScopes: READERS.payoutRun, description: "The payout run that drafted it (admin and finance); null when drafted on its own." }),
    transfers: t.relation("transfers", {
      nullable: true,
      authScopes: TRANSFER_READERS,
      description: "Each attempt to send it through a payment provider, oldest first (operators; partners read status, failureReason and providerNote).",
      query: { orderBy: { attempt: "asc" } },
    }),
    providerDiscrepancy: t.field({
      type: ProviderDiscrepancyRef,
      nullable: true,
      authScopes: TRANSFER_READERS,
      description:
        "What the provider says of this PAID payout when it differs from what accrue booked (the daily provider reconciliation); null when they agree. Shown, never corrected by itself (operators).",
      select: { providerDiscrepancy: true },
      resolve: (p) => (p.providerDiscrepancy as StoredDiscrepancy | null) ?? null,
    }),
    lineCount: t.relationCount("items", { where: { active: true } }),
    lines: t.relation("items", {
      authScopes: READERS.payout,
      args: { includeRemoved: t.arg.boolean({ defaultValue: false }) },
      query: (args, ctx) => ({
        where: { ...inTenant(ctx, { partnerOwned: false }), ...(args.includeRemoved ? {} : { active: true }) },
        orderBy: { createdAt: "asc" },
      }),
    }),
  }),
});

const PayoutSortField = builder.enumType("PayoutSortField", { values: ["CREATED_AT", "PAID_AT", "AMOUNT"] as const });
const sortColumns = { CREATED_AT: "createdAt", PAID_AT: "paidAt", AMOUNT: "amount" } as const;

export const PayoutFilter = builder.inputType("PayoutFilter", {
  fields: (t) => ({
    status: t.field({ type: [PayoutStatusEnum] }),
    partnerId: t.globalID({ for: PartnerRef }),
    paidAfter: t.field({ type: "DateTime", description: "Inclusive." }),
    paidBefore: t.field({ type: "DateTime", description: "Exclusive." }),
  }),
});

const PayoutSort = builder.inputType("PayoutSort", {
  fields: (t) => ({ field: t.field({ type: PayoutSortField, required: true }), direction: t.field({ type: SortDirection, defaultValue: "DESC" }) }),
});

/** PayoutFilter as the payout list's one filter (services/payouts/payout-filter.ts, which the CSV export uses too). */
export function payoutFilterOf(filter: typeof PayoutFilter.$inferInput | null | undefined): PayoutListFilter {
  return { status: filter?.status, partnerId: filter?.partnerId?.id, paidAfter: filter?.paidAfter, paidBefore: filter?.paidBefore };
}

const PAYOUT_READERS = READERS.payout;
const PAYOUT_WRITERS = { role: ["admin" as const, "finance" as const], integration: "payouts:write" as const };

const OverviewRef = builder.objectRef<PayoutsOverview>("PayoutsOverview").implement({
  description: "The payouts dashboard's figures.",
  fields: (t) => {
    const money = (key: keyof PayoutsOverview, description: string) => t.field({ type: Money, description, resolve: (o) => moneyOf(o[key] as string, o.currency) });
    return {
      owedToPartners: money("owedToPartners", "Positive payable balances: what is owed now."),
      recoverable: money("recoverable", "Negative payable balances: clawbacks to recover from future earnings."),
      payableNow: money("payableNow", "What a payout run would draft now (balances at or above the minimum)."),
      payableNowPartners: t.exposeInt("payableNowPartners"),
      pending: money("pending", "Not payable yet: pending review, on hold or inside the hold period."),
      draftsAwaitingApproval: t.exposeInt("draftCount"),
      draftsAmount: money("draftAmount", "Total of draft payouts."),
      approvedAwaitingPayment: t.exposeInt("approvedCount"),
      approvedAmount: money("approvedAmount", "Total of approved payouts not yet paid."),
      paidThisMonth: money("paidThisMonthAmount", "Paid in the current calendar month (program time)."),
      paidThisMonthCount: t.exposeInt("paidThisMonthCount"),
    };
  },
});

builder.queryFields((t) => ({
  payouts: t.prismaConnection({
    type: "Payout",
    cursor: "id",
    description: "Payouts, newest first unless sorted. A partner sees its own.",
    authScopes: PAYOUT_READERS,
    args: { filter: t.arg({ type: PayoutFilter }), sort: t.arg({ type: PayoutSort }) },
    totalCount: (_parent, args, ctx) => {
      if (args.filter?.partnerId) assertMayNamePartner(ctx, args.filter.partnerId.id);
      return ctx.db.payout.count({ where: payoutWhere(payoutFilterOf(args.filter)) });
    },
    resolve: (query, _root, args, ctx) => {
      if (args.filter?.partnerId) assertMayNamePartner(ctx, args.filter.partnerId.id);
      const direction = (args.sort?.direction ?? "DESC").toLowerCase() as "asc" | "desc";
      // Only paidAt can be null (unpaid payouts sort last); PostgreSQL's NULLS LAST on a
      // column that cannot be null is an error from Prisma, not a no-op.
      const column = args.sort ? sortColumns[args.sort.field] : undefined;
      const orderBy: Prisma.PayoutOrderByWithRelationInput[] = column
        ? [{ [column]: column === "paidAt" ? { sort: direction, nulls: "last" } : direction }, { id: direction }]
        : [{ id: "desc" }];
      return ctx.db.payout.findMany({ ...query, where: payoutWhere(payoutFilterOf(args.filter)), orderBy });
    },
  }),
  payout: t.prismaField({
    type: "Payout",
    nullable: true,
    authScopes: PAYOUT_READERS,
    args: { id: t.arg.globalID({ for: PayoutRef, required: true }) },
    resolve: (query, _root, args, ctx) => ctx.db.payout.findUnique({ ...query, where: { id: args.id.id } }),
  }),
  payoutsOverview: t.field({
    type: OverviewRef,
    description: "Owed to partners, payable now, drafts awaiting approval, paid this month (operators).",
    authScopes: { role: OPERATORS },
    resolve: (_root, _args, ctx) => payoutsOverview(ctx.db, actorOf(ctx).programId, ctx.deps.clock.now()),
  }),
  pendingPayouts: t.prismaConnection({
    type: "Balance",
    cursor: "partnerId",
    description: "Partners with a positive payable balance, largest first: what the next payouts would pay (operators).",
    authScopes: { role: OPERATORS },
    totalCount: async (_parent, _args, ctx) => ctx.db.balance.count({ where: await owedWhere(ctx) }),
    resolve: async (query, _root, _args, ctx) => ctx.db.balance.findMany({ ...query, where: await owedWhere(ctx), orderBy: [{ payable: "desc" }, { partnerId: "desc" }] }),
  }),
}));

/** A positive payable balance by the payable rule (balances-by-rule.ts). */
async function owedWhere(ctx: Context): Promise<Prisma.BalanceWhereInput> {
  const trailing = await trailingPayable(ctx.db, actorOf(ctx).programId, ctx.deps.clock.now());
  return payableCondition(trailing, { payable: { gt: 0 } }, (payable) => payable.greaterThan(0));
}

const PayoutBlockerEnum = builder.enumType("PayoutBlocker", {
  description: "Why a partner cannot be paid now.",
  values: Object.fromEntries(PAYOUT_BLOCKERS.map((code) => [code, { description: BLOCKER_MESSAGES[code] }])) as Record<(typeof PAYOUT_BLOCKERS)[number], { description: string }>,
});

builder.prismaObjectFields("Balance", (t) => ({
  payoutBlockers: t.field({
    type: [PayoutBlockerEnum],
    description: "Why this balance cannot be paid out now; empty when it can.",
    select: {
      partnerId: true,
      pending: true,
      payable: true,
      program: { select: { minimumPayout: true } },
      partner: {
        select: {
          _count: { select: { payoutMethods: true } },
          billingProfile: { select: { id: true } },
          payouts: { where: { status: { in: ["DRAFT", "APPROVED"] } }, select: { id: true }, take: 1 },
        },
      },
    },
    resolve: async (b, _args, ctx) =>
      payoutBlockers({
        payable: (await balanceNow(ctx, b)).payable,
        minimum: dec(b.program.minimumPayout),
        hasPayoutMethod: b.partner._count.payoutMethods > 0,
        hasBillingDetails: b.partner.billingProfile !== null,
        hasOpenPayout: b.partner.payouts.length > 0,
      }),
  }),
  payableCommissionCount: t.int({
    description: "How many lines the payable balance is made of.",
    select: { partnerId: true },
    resolve: async (b, _args, ctx) => (await loadersOf(ctx).payableSummary.load(b.partnerId)).count,
  }),
  payableRevenue: t.field({
    type: Money,
    description: "The sales those lines were earned on, in the program's currency.",
    select: { partnerId: true, currency: true },
    resolve: async (b, _args, ctx) => moneyOf((await loadersOf(ctx).payableSummary.load(b.partnerId)).revenue, b.currency),
  }),
  lastPaidAt: t.field({
    type: "DateTime",
    nullable: true,
    select: { partnerId: true },
    resolve: (b, _args, ctx) => loadersOf(ctx).lastPaidAt.load(b.partnerId),
  }),
}));

builder.prismaObjectField("Partner", "payouts", (t) =>
  t.relatedConnection("payouts", { cursor: "id", totalCount: true, authScopes: PAYOUT_READERS, query: { orderBy: { id: "desc" } } }),
);

function payoutResult(t: PothosSchemaTypes.ObjectFieldBuilder<typeof builder.$inferSchemaTypes, Payload<any>>) {
  return {
    payout: t.prismaField({
      type: "Payout",
      nullable: true,
      resolve: (query, payload, _args, ctx) => {
        const payout = payload.result as { id: string } | null;
        return payout ? ctx.db.payout.findUnique({ ...query, where: { id: payout.id } }) : null;
      },
    }),
  };
}

function bulkPayoutFields(t: PothosSchemaTypes.ObjectFieldBuilder<typeof builder.$inferSchemaTypes, Payload<any>>) {
  return {
    payouts: t.prismaField({
      type: ["Payout"],
      description: "The payouts changed, in the order asked.",
      resolve: async (query, payload, _args, ctx) => {
        const changed = (payload.result as BulkResult | null)?.changed ?? [];
        return inOrderOf(changed, await ctx.db.payout.findMany({ ...query, where: { id: { in: changed } } }));
      },
    }),
    skipped: t.field({
      type: [SkippedItemRef],
      resolve: (payload) => ((payload.result as BulkResult | null)?.skipped ?? []).map((item) => ({ ...item, typename: "Payout" })),
    }),
  };
}

const idempotencyKey = (t: PothosSchemaTypes.InputFieldBuilder<typeof builder.$inferSchemaTypes, "InputObject">) =>
  t.string({ description: "Retrying with the same key returns the first result instead of acting twice." });

defineMutation("createPayout", {
  description: "Drafts a payout of all of a partner's payable lines (negatives included). Admins may pay below the minimum, with a reason.",
  authScopes: PAYOUT_WRITERS,
  input: (t) => ({
    partnerId: t.globalID({ for: PartnerRef, required: true }),
    payableBefore: t.field({
      type: "DateTime",
      description: "Gather positive lines payable at or before this instant (negative ones payable now always join: a clawback nets against the next payout); default now.",
    }),
    overrideMinimumReason: t.string({ description: "Admin only: pay although the net is below the program's minimum." }),
    upTo: t.field({
      type: "Decimal",
      description:
        "Settle at most this amount (the amount to be settled): every negative line, then whole positive lines oldest first until the next would go above it (a line is never split, and a newer smaller line is not taken before an older one); the rest stay payable. Default: everything payable.",
    }),
    idempotencyKey: idempotencyKey(t),
  }),
  fields: payoutResult,
  resolve: (input, ctx) => createPayout(ctx.deps, actorOf(ctx), { ...input, partnerId: input.partnerId.id }),
});

defineMutation("requestPayout", {
  description: "A partner asks to be paid its payable balance (when the program allows it): a draft for operators to approve.",
  authScopes: { partner: true },
  input: (t) => ({ idempotencyKey: idempotencyKey(t) }),
  fields: payoutResult,
  resolve: (input, ctx) => requestPayout(ctx.deps, actorOf(ctx), input),
});

export const SkippedPartnerRef = builder.objectRef<PayoutRunReport["skipped"][number]>("SkippedPartner").implement({
  fields: (t) => ({
    partner: t.prismaField({
      type: "Partner",
      nullable: true,
      authScopes: READERS.partner,
      resolve: (query, item, _args, ctx) => ctx.db.partner.findUnique({ ...query, where: { id: item.partnerId } }),
    }),
    reason: t.field({ type: UserErrorCode, resolve: (item) => item.code }),
    message: t.exposeString("message"),
  }),
});

defineMutation("runPayouts", {
  description: "Drafts a payout for every eligible partner and reports each skipped partner with the reason. The run is stored (`run`, `payoutRuns`).",
  authScopes: PAYOUT_WRITERS,
  input: (t) => ({
    payableBefore: t.field({ type: "DateTime", description: "As in createPayout: the period's end for positive lines; default now." }),
    idempotencyKey: idempotencyKey(t),
  }),
  fields: (t) => ({
    run: t.prismaField({
      type: "PayoutRun",
      nullable: true,
      description: "The stored run (admin and finance, and the token that ran it).",
      authScopes: READERS.payoutRun,
      resolve: (query, payload, _args, ctx) => {
        const runId = (payload.result as PayoutRunReport | null)?.runId;
        return runId ? ctx.db.payoutRun.findUnique({ ...query, where: { id: runId } }) : null;
      },
    }),
    payouts: t.prismaField({
      type: ["Payout"],
      resolve: async (query, payload, _args, ctx) => {
        const ids = (payload.result as PayoutRunReport | null)?.payoutIds ?? [];
        return inOrderOf(ids, await ctx.db.payout.findMany({ ...query, where: { id: { in: ids } } }));
      },
    }),
    skipped: t.field({ type: [SkippedPartnerRef], resolve: (payload) => (payload.result as PayoutRunReport | null)?.skipped ?? [] }),
  }),
  resolve: (input, ctx) => runPayouts(ctx.deps, actorOf(ctx), input),
});

defineMutation("approvePayouts", {
  description: "Approves draft payouts; reports those it skipped.",
  authScopes: PAYOUT_WRITERS,
  input: (t) => ({ ids: t.globalIDList({ for: PayoutRef, required: true }), idempotencyKey: idempotencyKey(t) }),
  fields: bulkPayoutFields,
  resolve: (input, ctx) => transitionPayouts(ctx.deps, actorOf(ctx), "approve", { ids: input.ids.map((id) => id.id), idempotencyKey: input.idempotencyKey }),
});

defineMutation("markPayoutsPaid", {
  description: "Records the payment of approved payouts (method, reference, notes); their lines become PAID.",
  authScopes: PAYOUT_WRITERS,
  input: (t) => ({
    ids: t.globalIDList({ for: PayoutRef, required: true }),
    method: t.field({ type: PayoutMethodTypeEnum, required: true }),
    reference: t.string(),
    notes: t.string(),
    sentAmount: t.field({ type: "Decimal", description: "What actually left the bank, in sentCurrency (default the program's)." }),
    sentCurrency: t.string(),
    fee: t.field({ type: "Decimal" }),
    paidAt: t.field({ type: "DateTime", description: "Default now." }),
    idempotencyKey: idempotencyKey(t),
  }),
  fields: bulkPayoutFields,
  resolve: ({ ids, idempotencyKey: key, ...payment }, ctx) => transitionPayouts(ctx.deps, actorOf(ctx), "pay", { ids: ids.map((id) => id.id), payment, idempotencyKey: key }),
});

defineMutation("sendPayouts", {
  description:
    "Hands approved payouts to the payment provider that pays each partner's default method (PayPal, Wise, Stripe; verified, connected): those named by `ids`, or every approved payout of the payout run `runId` (up to 200 a call, oldest first; call again with a new key for the rest). They become PROCESSING; the provider's answers make them PAID or FAILED. Each payout that cannot be sent is skipped with a code (METHOD_NOT_VERIFIED, NOT_CONNECTED, DUAL_CONTROL, …). Admin or finance.",
  authScopes: { role: ["admin", "finance"] },
  input: (t) => ({
    ids: t.globalIDList({ for: PayoutRef, description: "The payouts to send; or name a run instead." }),
    runId: t.globalID({ for: PayoutRunRef, description: "Send every approved payout of this payout run." }),
    idempotencyKey: idempotencyKey(t),
  }),
  fields: bulkPayoutFields,
  resolve: (input, ctx) =>
    sendPayouts(ctx.deps, actorOf(ctx), { ids: input.ids?.map((id) => id.id) ?? null, runId: input.runId?.id ?? null, idempotencyKey: input.idempotencyKey }),
});

defineMutation("cancelPayouts", {
  description: "Cancels draft or approved payouts, with a reason; their lines become payable again.",
  authScopes: PAYOUT_WRITERS,
  input: (t) => ({ ids: t.globalIDList({ for: PayoutRef, required: true }), reason: t.string({ required: true }), idempotencyKey: idempotencyKey(t) }),
  fields: bulkPayoutFields,
  resolve: (input, ctx) => transitionPayouts(ctx.deps, actorOf(ctx), "cancel", { ids: input.ids.map((id) => id.id), reason: input.reason, idempotencyKey: input.idempotencyKey }),
});

/** The input of removePayoutLines and addPayoutLines: a draft, the lines, a reason, a key. */
const payoutLinesInput = (t: PothosSchemaTypes.InputFieldBuilder<typeof builder.$inferSchemaTypes, "InputObject">) => ({
  payoutId: t.globalID({ for: PayoutRef, required: true }),
  commissionIds: t.globalIDList({ for: CommissionRef, required: true }),
  reason: t.string(),
  idempotencyKey: idempotencyKey(t),
});

/** That input as the services take it. */
const payoutLinesRequest = (input: { payoutId: { id: string }; commissionIds: { id: string }[]; reason?: string | null; idempotencyKey?: string | null }) => ({
  payoutId: input.payoutId.id,
  commissionIds: input.commissionIds.map((id) => id.id),
  reason: input.reason,
  idempotencyKey: input.idempotencyKey,
});

defineMutation("removePayoutLines", {
  description: "Takes lines out of a draft payout; they become payable again and the draft is recomputed.",
  authScopes: PAYOUT_WRITERS,
  input: payoutLinesInput,
  fields: payoutResult,
  resolve: (input, ctx) => removePayoutLines(ctx.deps, actorOf(ctx), payoutLinesRequest(input)),
});

defineMutation("addPayoutLines", {
  description: "Puts payable lines of the draft's partner (in its currency) into a draft payout; the draft is recomputed. The reverse of removePayoutLines.",
  authScopes: PAYOUT_WRITERS,
  input: payoutLinesInput,
  fields: payoutResult,
  resolve: (input, ctx) => addPayoutLines(ctx.deps, actorOf(ctx), payoutLinesRequest(input)),
});

defineMutation("recordPayoutBounce", {
  description: "Books a paid payout whose money came back: paid stays final, a credit line owes the amount again.",
  authScopes: { role: ["admin", "finance"] },
  input: (t) => ({ payoutId: t.globalID({ for: PayoutRef, required: true }), reason: t.string({ required: true }), idempotencyKey: idempotencyKey(t) }),
  fields: payoutResult,
  resolve: (input, ctx) => recordPayoutBounce(ctx.deps, actorOf(ctx), { payoutId: input.payoutId.id, reason: input.reason, idempotencyKey: input.idempotencyKey }),
});
