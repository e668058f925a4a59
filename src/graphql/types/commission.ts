import { encodeGlobalId } from "../global-ids.ts";
import type { CommissionRule } from "../../domain/commission-rule.ts";
import type { USER_ERROR_CODES } from "../../domain/errors.ts";
import { isPayable } from "../../domain/payable.ts";
import { LINE_HOLDING_PAYOUT_STATUSES } from "../../domain/payout-status.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { adjustCommission } from "../../services/commissions/adjust-commission.ts";
import { REASON_CODES } from "../../services/commissions/correction-input.ts";
import { type CommissionListFilter, commissionWhere, filtersOnlyByPartner } from "../../services/commissions/commission-filter.ts";
import { creditPartner } from "../../services/commissions/credit-partner.ts";
import { reviewCommissions, type BulkResult, type ReviewAction } from "../../services/commissions/review-commissions.ts";
import { writeOffBalance } from "../../services/commissions/write-off-balance.ts";
import type { LineRow } from "../../services/ledger/ledger.ts";
import { builder } from "../builder.ts";
import { scopesAtEntry } from "../scopes-at-entry.ts";
import { actorOf, assertMayNamePartner, badInput, READERS } from "../guards.ts";
import { defineMutation, type Payload } from "../mutation.ts";
import { inTenant } from "../loaders/nested-scope.ts";
import { countPartnerLines } from "../loaders/partner-commissions.ts";
import { resolvePartnerLines } from "../loaders/partner-lines-connection.ts";
import type { RowConnection } from "../loaders/row-connection.ts";
import { inOrderOf } from "../reload.ts";
import { Money, moneyOf, SortDirection, UserErrorCode } from "./common.ts";
import { PartnerRef } from "./partner.ts";
import { CommissionRuleRef } from "./program.ts";

export const CommissionStatusEnum = builder.enumType("CommissionStatus", {
  values: {
    PENDING: { description: "Awaiting an operator's approval." },
    APPROVED: { description: "Approved; payable once payableAt has passed." },
    ON_HOLD: { description: "Held by an operator; release returns it to where it was." },
    CANCELLED: { description: "Declined; an admin may reinstate it." },
    PAID: { description: "Paid in a payout. Final." },
    REVERSED: { description: "Reversed by a refund or chargeback before it was paid." },
  } as const,
});

export const CommissionKindEnum = builder.enumType("CommissionKind", {
  values: {
    CONVERSION: { description: "Earned on a conversion." },
    ADJUSTMENT: { description: "An operator's correction of another line." },
    CREDIT: { description: "A bonus, or a bounced payment booked back to the partner." },
    REVERSAL: { description: "The reversed share of an unpaid line (a partial refund)." },
    CLAWBACK: { description: "A refund of a line already in an approved or paid payout; nets against the next payout." },
    WRITE_OFF: { description: "An admin's write-off of a negative balance." },
  } as const,
});

export const ReasonCodeEnum = builder.enumType("ReasonCode", { values: REASON_CODES });

export const CommissionRef = builder.prismaNode("Commission", {
  id: { field: "id" },
  findUnique: (id) => ({ id }),
  nullable: true,
  // plugin-prisma's select mode: only the columns a query asks for, not all 23. The few that
  // nearly every read shows are always selected, so their fields read the row as it is: an
  // exposed one (status) has no resolver at all (plain-columns.ts), where an exposed field in
  // select mode would otherwise look its selection up for every line it resolves.
  select: { id: true, status: true, amount: true, currency: true },
  // Who may read lines is checked where a line is reached (a list, a relation, a payload), once,
  // not around each field of each line (scopes-at-entry.ts): the schema does not build while a
  // field reaching Commission lacks READERS.commission, but for these three.
  extensions: scopesAtEntry({
    scopes: READERS.commission,
    checkedElsewhere: {
      "PayoutLine.commission": "A payout's lines are read with the payout, by whoever reads it (read-rules.ts): PayoutLine's own scopes.",
      "Query.node": "By the type the id names, before any lookup (guards.ts, mayLoadNodes).",
      "Query.nodes": "By the type each id names, before any lookup (guards.ts, mayLoadNodes).",
    },
  }),
  description: "One line of what a partner earned or owes back. Amounts are never edited: corrections are lines of their own.",
  fields: (t) => ({
    kind: t.expose("kind", { type: CommissionKindEnum }),
    // In the type's `select`, so a plain property read (plain-columns.ts).
    status: t.expose("status", { type: CommissionStatusEnum }),
    amount: t.field({
      type: Money,
      description: "Rounded once to the currency's minor unit; negative for corrections.",
      resolve: (c) => moneyOf(c.amount, c.currency),
    }),
    partner: t.relation("partner", { authScopes: READERS.partner, description: "Needs a token that may read partners." }),
    partnerId: t.field({
      type: "ID",
      description: "The partner's id, for tokens that may not read the partner itself.",
      select: { partnerId: true },
      resolve: (row) => encodeGlobalId("Partner", row.partnerId),
    }),
    conversion: t.relation("conversion", { nullable: true, authScopes: READERS.conversion }),
    reversal: t.relation("reversal", { nullable: true, authScopes: READERS.conversion }),
    related: t.relation("related", { nullable: true, authScopes: READERS.commission, description: "The line this one corrects." }),
    corrections: t.relation("corrections", {
      authScopes: READERS.commission,
      description: "Lines that correct this one (adjustments, reversal shares, clawbacks).",
      query: (_args, ctx) => ({ where: inTenant(ctx, { partnerOwned: true }) }),
    }),
    rule: t.field({
      type: CommissionRuleRef,
      nullable: true,
      description: "The rule that computed a CONVERSION line, as it was then.",
      select: { rule: true, currency: true },
      resolve: (c) => (c.rule ? { rule: c.rule as unknown as CommissionRule, currency: c.currency } : null),
    }),
    tierSequence: t.exposeInt("tierSequence", { nullable: true, description: "The partner's sale number in its month (tiered rules)." }),
    occurredAt: t.expose("occurredAt", { type: "DateTime" }),
    payableAt: t.expose("payableAt", { type: "DateTime", description: "occurredAt plus the hold period, fixed when the line was written." }),
    isPayable: t.boolean({
      description: "APPROVED, payableAt has passed, and in no open payout (whether or not the hold-release job has run since).",
      select: { status: true, payableAt: true, payoutItems: { where: { active: true, payout: { status: { in: [...LINE_HOLDING_PAYOUT_STATUSES] } } }, select: { id: true } } },
      resolve: (c, _args, ctx) => isPayable({ status: c.status, payableAt: c.payableAt, inOpenPayout: c.payoutItems.length > 0 }, ctx.deps.clock.now()),
    }),
    heldFromStatus: t.expose("heldFromStatus", { type: CommissionStatusEnum, nullable: true }),
    statusReason: t.exposeString("statusReason", { nullable: true, description: "Why it was last held, cancelled or reversed." }),
    reasonCode: t.exposeString("reasonCode", { nullable: true }),
    note: t.exposeString("note", { nullable: true }),
    createdBy: t.exposeString("createdBy", { description: "Who booked it (token subject), or the integration." }),
    paidAt: t.expose("paidAt", { type: "DateTime", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

const CommissionSortField = builder.enumType("CommissionSortField", { values: ["CREATED_AT", "OCCURRED_AT", "PAYABLE_AT", "AMOUNT"] as const });
const sortColumns = { CREATED_AT: "createdAt", OCCURRED_AT: "occurredAt", PAYABLE_AT: "payableAt", AMOUNT: "amount" } as const;

export const CommissionFilter = builder.inputType("CommissionFilter", {
  fields: (t) => ({
    status: t.field({ type: [CommissionStatusEnum] }),
    kind: t.field({ type: [CommissionKindEnum] }),
    partnerId: t.globalID({ for: PartnerRef }),
    // A global id without `for`: the Conversion type imports this file.
    conversionId: t.globalID({ description: "A Conversion's id." }),
    occurredAfter: t.field({ type: "DateTime", description: "Inclusive." }),
    occurredBefore: t.field({ type: "DateTime", description: "Exclusive." }),
    payableBefore: t.field({ type: "DateTime", description: "payableAt before this instant (exclusive)." }),
    payable: t.boolean({ description: "true: only lines payable now (as `isPayable`); false: only lines that are not." }),
  }),
});

const CommissionSort = builder.inputType("CommissionSort", {
  fields: (t) => ({
    field: t.field({ type: CommissionSortField, required: true }),
    direction: t.field({ type: SortDirection, defaultValue: "DESC" }),
  }),
});

type FilterShape = typeof CommissionFilter.$inferInput | null | undefined;

/**
 * CommissionFilter as the commission lists' one filter
 * (services/commissions/commission-filter.ts, which the CSV export uses too).
 */
export function commissionFilterOf(filter: FilterShape): CommissionListFilter {
  if (filter?.conversionId && filter.conversionId.typename !== "Conversion") throw badInput(`conversionId: "${filter.conversionId.typename}" ids name no conversion`);
  return {
    status: filter?.status,
    kind: filter?.kind,
    partnerId: filter?.partnerId?.id,
    conversionId: filter?.conversionId?.id,
    occurredAfter: filter?.occurredAfter,
    occurredBefore: filter?.occurredBefore,
    payableBefore: filter?.payableBefore,
    payable: filter?.payable,
  };
}

export function commissionOrder(sort: typeof CommissionSort.$inferInput | null | undefined): Prisma.CommissionOrderByWithRelationInput[] {
  const direction = (sort?.direction ?? "DESC").toLowerCase() as "asc" | "desc";
  return sort ? [{ [sortColumns[sort.field]]: direction }, { id: direction }] : [{ id: "desc" }];
}

export const COMMISSION_READERS = READERS.commission;
const REVIEWERS = { role: ["admin" as const, "finance" as const] };

builder.queryFields((t) => ({
  commissions: t.prismaConnection({
    type: "Commission",
    cursor: "id",
    description: "Commission lines, newest first unless sorted. A partner sees its own only.",
    authScopes: COMMISSION_READERS,
    args: { filter: t.arg({ type: CommissionFilter }), sort: t.arg({ type: CommissionSort }) },
    totalCount: (_parent, args, ctx) => {
      if (args.filter?.partnerId) assertMayNamePartner(ctx, args.filter.partnerId.id);
      const filter = commissionFilterOf(args.filter);
      // One partner's lines and no other filter (a partner's own list, say): its kept count.
      const partnerId = filter.partnerId ?? ctx.actor?.partnerId;
      if (partnerId && filtersOnlyByPartner(filter)) return countPartnerLines(ctx, partnerId, null);
      return ctx.db.commission.count({ where: commissionWhere(filter, ctx.deps.clock.now()) });
    },
    resolve: (query, _root, args, ctx) => {
      if (args.filter?.partnerId) assertMayNamePartner(ctx, args.filter.partnerId.id);
      return ctx.db.commission.findMany({ ...query, where: commissionWhere(commissionFilterOf(args.filter), ctx.deps.clock.now()), orderBy: commissionOrder(args.sort) });
    },
  }),
  commission: t.prismaField({
    type: "Commission",
    nullable: true,
    authScopes: COMMISSION_READERS,
    args: { id: t.arg.globalID({ for: CommissionRef, required: true }) },
    resolve: (query, _root, args, ctx) => ctx.db.commission.findUnique({ ...query, where: { id: args.id.id } }),
  }),
}));

builder.prismaObjectField("Partner", "commissions", (t) =>
  t.connection(
    {
      type: CommissionRef,
      description: "This partner's lines, newest first.",
      // On the field, not only on Commission: a refused list shows no count or cursor either.
      authScopes: READERS.commission,
      args: { filter: t.arg({ type: CommissionFilter }) },
      // A page of partners loads its lines' pages and counts in one statement each (loaders/partner-commissions.ts),
      // or its pages within the partners' own statement when they are asked plainly (loaders/lines-ahead.ts);
      // the nodes' selection is planned once for the page where it can be (loaders/partner-lines-connection.ts).
      resolve: (partner, args, ctx, info) => resolvePartnerLines(ctx, info, partner.id, args, () => commissionFilterOf(args.filter)) as never,
    },
    {
      // plugin-prisma's `prismaConnection` added this field, marked so a count alone reads no page.
      fields: (c) => ({
        totalCount: c.int({ nullable: false, extensions: { pothosPrismaTotalCount: true }, resolve: (connection) => (connection as unknown as RowConnection).totalCount() }),
      }),
    },
  ),
);

export const SkippedItemRef = builder.objectRef<{ id: string; code: (typeof USER_ERROR_CODES)[number]; message: string; typename: string }>("SkippedItem").implement({
  description: "An item a bulk operation left alone, and why.",
  fields: (t) => ({
    id: t.id({ resolve: (item) => encodeGlobalId(item.typename, item.id) }),
    code: t.field({ type: UserErrorCode, resolve: (item) => item.code }),
    message: t.exposeString("message"),
  }),
});

function bulkFields(t: PothosSchemaTypes.ObjectFieldBuilder<typeof builder.$inferSchemaTypes, Payload<any>>) {
  return {
    commissions: t.prismaField({
      type: ["Commission"],
      description: "The lines changed, in the order asked.",
      authScopes: READERS.commission,
      resolve: async (query, payload, _args, ctx) => {
        const changed = (payload.result as BulkResult | null)?.changed ?? [];
        return inOrderOf(changed, await ctx.db.commission.findMany({ ...query, where: { id: { in: changed } } }));
      },
    }),
    skipped: t.field({
      type: [SkippedItemRef],
      resolve: (payload) => ((payload.result as BulkResult | null)?.skipped ?? []).map((item) => ({ ...item, typename: "Commission" })),
    }),
  };
}

function defineReview(name: string, action: ReviewAction, description: string, options: { reason: "required" | "optional"; admin?: boolean }) {
  defineMutation(name, {
    description,
    authScopes: options.admin ? { role: ["admin"] } : REVIEWERS,
    input: (t) => ({
      ids: t.globalIDList({ for: CommissionRef, required: true, description: "1 to 500 commissions." }),
      reason: t.string({ required: options.reason === "required" }),
    }),
    fields: bulkFields,
    resolve: (input, ctx) =>
      reviewCommissions(
        ctx.deps,
        actorOf(ctx),
        action,
        input.ids.map((id) => id.id),
        input.reason,
      ),
  });
}

defineReview("approveCommissions", "approve", "Approves PENDING lines (admin, finance).", { reason: "optional" });
defineReview("holdCommissions", "hold", "Holds PENDING or APPROVED lines with a reason (admin, finance).", { reason: "required" });
defineReview("releaseCommissions", "release", "Returns held lines to the status they had (admin, finance).", { reason: "optional" });
defineReview("cancelCommissions", "cancel", "Declines lines with a reason (admin, finance).", { reason: "required" });
defineReview("reinstateCommissions", "reinstate", "Returns cancelled lines to PENDING (admin).", { reason: "optional", admin: true });

function lineResult(t: PothosSchemaTypes.ObjectFieldBuilder<typeof builder.$inferSchemaTypes, Payload<any>>, description: string) {
  return {
    commission: t.prismaField({
      type: "Commission",
      nullable: true,
      description,
      authScopes: READERS.commission,
      resolve: (query, payload, _args, ctx) => {
        const line = payload.result as LineRow | null;
        return line ? ctx.db.commission.findUnique({ ...query, where: { id: line.id } }) : null;
      },
    }),
  };
}

const idempotencyKey = (t: PothosSchemaTypes.InputFieldBuilder<typeof builder.$inferSchemaTypes, "InputObject">) =>
  t.string({ description: "Retrying with the same key returns the first result instead of acting twice." });

defineMutation("adjustCommission", {
  description: "Corrects a line by a signed amount, as a new ADJUSTMENT line linked to it (admin, finance).",
  authScopes: REVIEWERS,
  input: (t) => ({
    id: t.globalID({ for: CommissionRef, required: true }),
    amount: t.field({ type: "Decimal", required: true, description: 'Signed: "-5.00" takes five off.' }),
    reasonCode: t.field({ type: ReasonCodeEnum, required: true }),
    note: t.string(),
    idempotencyKey: idempotencyKey(t),
  }),
  fields: (t) => lineResult(t, "The new adjustment line."),
  resolve: ({ id, ...input }, ctx) => adjustCommission(ctx.deps, actorOf(ctx), { ...input, commissionId: id.id }),
});

defineMutation("creditPartner", {
  description: "Credits a partner (a bonus): an approved CREDIT line, payable at once (admin, finance).",
  authScopes: REVIEWERS,
  input: (t) => ({
    partnerId: t.globalID({ for: PartnerRef, required: true }),
    amount: t.field({ type: "Decimal", required: true }),
    reasonCode: t.field({ type: ReasonCodeEnum, defaultValue: "BONUS" }),
    note: t.string(),
    idempotencyKey: idempotencyKey(t),
  }),
  fields: (t) => lineResult(t, "The credit line."),
  resolve: ({ partnerId, reasonCode, ...input }, ctx) => creditPartner(ctx.deps, actorOf(ctx), { ...input, reasonCode: reasonCode ?? "BONUS", partnerId: partnerId.id }),
});

defineMutation("writeOffBalance", {
  description: "Writes off a partner's negative payable balance, with a reason (admin).",
  authScopes: { role: ["admin"] },
  input: (t) => ({ partnerId: t.globalID({ for: PartnerRef, required: true }), reason: t.string({ required: true }), idempotencyKey: idempotencyKey(t) }),
  fields: (t) => lineResult(t, "The write-off line."),
  resolve: (input, ctx) => writeOffBalance(ctx.deps, actorOf(ctx), { partnerId: input.partnerId.id, reason: input.reason, idempotencyKey: input.idempotencyKey }),
});
