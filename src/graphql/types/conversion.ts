import type { Prisma } from "../../generated/prisma/client.ts";
import { MAX_BATCH, recordConversions, type ConversionInput, type RecordedConversion } from "../../services/conversions/record-conversions.ts";
import { reverseConversion } from "../../services/conversions/reverse-conversion.ts";
import { builder } from "../builder.ts";
import { inTenant } from "../loaders/nested-scope.ts";
import { actorOf, assertMayLookUpPartners, assertMayNamePartner, READERS } from "../guards.ts";
import { defineMutation } from "../mutation.ts";
import { inOrderOf } from "../reload.ts";
import { Money, moneyOf, SortDirection } from "./common.ts";
import { PartnerRef } from "./partner.ts";

const isPartner = (ctx: { viewer: { role: string } | null }) => ctx.viewer?.role === "partner";

export const ConversionRef = builder.prismaNode("Conversion", {
  id: { field: "id" },
  findUnique: (id) => ({ id }),
  nullable: true,
  authScopes: READERS.conversion,
  description: "A sale or event attributed to one or more partners, as the integrator posted it.",
  fields: (t) => ({
    externalId: t.exposeString("externalId", { description: "The integrator's id; unique in the program." }),
    amount: t.field({ type: Money, description: "The sale as posted, in its own currency.", resolve: (c) => moneyOf(c.amount, c.currency) }),
    exchangeRate: t.field({
      type: "Decimal",
      nullable: true,
      description: "Program-currency units per unit of the sale's currency, when they differ.",
      resolve: (c) => c.exchangeRate,
    }),
    programAmount: t.field({
      type: Money,
      description: "The sale in the program's currency, rounded to its minor unit (commissions use the unrounded figure).",
      select: { programAmount: true, program: { select: { currency: true } } },
      resolve: (c) => moneyOf(c.programAmount, c.program.currency),
    }),
    reversedAmount: t.field({ type: Money, description: "Refunded so far, in the sale's currency.", resolve: (c) => moneyOf(c.reversedAmount, c.currency) }),
    occurredAt: t.expose("occurredAt", { type: "DateTime" }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    metadata: t.field({
      type: "JSONObject",
      nullable: true,
      description: "The integrator's own data. Not shown to partners (it may name the customer).",
      resolve: (c, _args, ctx) => (isPartner(ctx) ? null : ((c.metadata as Record<string, unknown> | null) ?? null)),
    }),
    commissions: t.relation("commissions", {
      authScopes: READERS.commission,
      description: "One line per partner (and any corrections). A partner sees its own lines only.",
      query: (_args, ctx) => ({ where: inTenant(ctx, { partnerOwned: true }), orderBy: { id: "asc" } }),
    }),
    reversals: t.relation("reversals", {
      authScopes: READERS.conversion,
      query: (_args, ctx) => ({ where: inTenant(ctx, { partnerOwned: false }), orderBy: { createdAt: "asc" } }),
    }),
  }),
});

export const ReversalKindEnum = builder.enumType("ReversalKind", { values: ["REFUND", "CHARGEBACK"] as const });

export const ReversalRef = builder.prismaNode("Reversal", {
  id: { field: "id" },
  findUnique: (id) => ({ id }),
  nullable: true,
  authScopes: READERS.conversion,
  description: "A refund or chargeback of part or all of a sale.",
  fields: (t) => ({
    refundId: t.exposeString("externalId", { description: "The integrator's refund id." }),
    kind: t.expose("kind", { type: ReversalKindEnum }),
    amount: t.field({
      type: Money,
      select: { amount: true, conversion: { select: { currency: true } } },
      resolve: (r) => moneyOf(r.amount, r.conversion.currency),
    }),
    reason: t.exposeString("reason", { nullable: true }),
    occurredAt: t.expose("occurredAt", { type: "DateTime" }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    conversion: t.relation("conversion", { authScopes: READERS.conversion }),
    commissions: t.relation("commissions", {
      authScopes: READERS.commission,
      description: "The lines this reversal booked (reversal shares and clawbacks).",
      query: (_args, ctx) => ({ where: inTenant(ctx, { partnerOwned: true }), orderBy: { id: "asc" } }),
    }),
  }),
});

const ConversionSortField = builder.enumType("ConversionSortField", { values: ["CREATED_AT", "OCCURRED_AT", "AMOUNT"] as const });
const sortColumns = { CREATED_AT: "createdAt", OCCURRED_AT: "occurredAt", AMOUNT: "programAmount" } as const;

const ConversionFilter = builder.inputType("ConversionFilter", {
  fields: (t) => ({
    partnerId: t.globalID({ for: PartnerRef }),
    occurredAfter: t.field({ type: "DateTime", description: "Inclusive." }),
    occurredBefore: t.field({ type: "DateTime", description: "Exclusive." }),
    reversed: t.boolean({ description: "true: refunded in part or whole; false: never refunded." }),
  }),
});

const ConversionSort = builder.inputType("ConversionSort", {
  fields: (t) => ({
    field: t.field({ type: ConversionSortField, required: true }),
    direction: t.field({ type: SortDirection, defaultValue: "DESC" }),
  }),
});

function conversionWhere(filter: typeof ConversionFilter.$inferInput | null | undefined): Prisma.ConversionWhereInput {
  const where: Prisma.ConversionWhereInput = {};
  if (filter?.partnerId) where.commissions = { some: { partnerId: filter.partnerId.id } };
  if (filter?.occurredAfter || filter?.occurredBefore) {
    where.occurredAt = { ...(filter.occurredAfter ? { gte: filter.occurredAfter } : {}), ...(filter.occurredBefore ? { lt: filter.occurredBefore } : {}) };
  }
  if (filter?.reversed === true) where.reversedAmount = { gt: 0 };
  if (filter?.reversed === false) where.reversedAmount = 0;
  return where;
}

/** Whether a filter narrows the list at all (an empty one, or one of nulls, does not). */
function hasFilter(filter: typeof ConversionFilter.$inferInput | null | undefined): boolean {
  return Object.values(filter ?? {}).some((value) => value != null);
}

const CONVERSION_READERS = READERS.conversion;
const CONVERSION_WRITERS = { role: ["admin" as const], integration: "conversions:write" as const };

builder.queryFields((t) => ({
  conversions: t.prismaConnection({
    type: "Conversion",
    cursor: "id",
    description: "Conversions, newest first unless sorted. A partner sees those attributed to it.",
    authScopes: CONVERSION_READERS,
    args: { filter: t.arg({ type: ConversionFilter }), sort: t.arg({ type: ConversionSort }) },
    totalCount: async (_parent, args, ctx) => {
      if (args.filter?.partnerId) assertMayNamePartner(ctx, args.filter.partnerId.id);
      // All of the program's conversions: the count kept as they are recorded, not a count of every row.
      if (!isPartner(ctx) && !hasFilter(args.filter)) {
        const counted = await ctx.db.conversionCount.aggregate({ _sum: { conversions: true } });
        return Number(counted._sum.conversions ?? 0n);
      }
      return ctx.db.conversion.count({ where: conversionWhere(args.filter) });
    },
    resolve: (query, _root, args, ctx) => {
      if (args.filter?.partnerId) assertMayNamePartner(ctx, args.filter.partnerId.id);
      const direction = (args.sort?.direction ?? "DESC").toLowerCase() as "asc" | "desc";
      const orderBy: Prisma.ConversionOrderByWithRelationInput[] = args.sort ? [{ [sortColumns[args.sort.field]]: direction }, { id: direction }] : [{ id: "desc" }];
      return ctx.db.conversion.findMany({ ...query, where: conversionWhere(args.filter), orderBy });
    },
  }),
  conversion: t.prismaField({
    type: "Conversion",
    nullable: true,
    authScopes: CONVERSION_READERS,
    args: { id: t.arg.globalID({ for: ConversionRef, required: true }) },
    resolve: (query, _root, args, ctx) => ctx.db.conversion.findUnique({ ...query, where: { id: args.id.id } }),
  }),
  conversionByExternalId: t.prismaField({
    type: "Conversion",
    nullable: true,
    authScopes: CONVERSION_READERS,
    args: { externalId: t.arg.string({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.conversion.findUnique({ ...query, where: { programId_externalId: { programId: actorOf(ctx).programId, externalId: args.externalId } } }),
  }),
}));

const PartnerRefInput = builder.inputType("PartnerRefInput", {
  description: "A partner, by exactly one of: our id, the integrator's externalId, or the email.",
  fields: (t) => ({
    id: t.globalID({ for: PartnerRef }),
    externalId: t.string(),
    email: t.string(),
  }),
});

const conversionFields = (t: PothosSchemaTypes.InputFieldBuilder<typeof builder.$inferSchemaTypes, "InputObject">) => ({
  externalId: t.string({ required: true, description: "Your id for the sale; posting it again with the same content returns the first result." }),
  partners: t.field({ type: [PartnerRefInput], required: true, description: "The partners it is attributed to (first and last referrer both earn)." }),
  amount: t.field({ type: "Decimal", required: true, description: "Positive, with at most the currency's decimal places." }),
  currency: t.field({ type: "CurrencyCode", required: true }),
  exchangeRate: t.field({ type: "Decimal", description: "Program-currency units per unit of `currency`; required when they differ." }),
  occurredAt: t.field({ type: "DateTime", required: true }),
  metadata: t.field({ type: "JSONObject" }),
});

export const ConversionInputRef = builder.inputType("ConversionInput", { fields: conversionFields });

type PartnerRefShape = typeof PartnerRefInput.$inferInput;
function toServiceInput(item: {
  externalId: string;
  partners: PartnerRefShape[];
  amount: string;
  currency: string;
  exchangeRate?: string | null;
  occurredAt: Date;
  metadata?: Record<string, unknown> | null;
}): ConversionInput {
  return { ...item, partners: item.partners.map((ref) => ({ id: ref.id?.id ?? null, externalId: ref.externalId, email: ref.email })) };
}

/** Whether plugin-prisma's query for a selection asks for nothing but the model's own columns (no relation, no count). */
function columnsOnly(query: { include?: object; select?: object }): boolean {
  return query.select === undefined && (query.include === undefined || Object.keys(query.include).length === 0);
}

defineMutation("recordConversion", {
  description: "Records a conversion and accrues its commissions. Idempotent by externalId.",
  authScopes: CONVERSION_WRITERS,
  input: conversionFields,
  fields: (t) => ({
    conversion: t.prismaField({
      type: "Conversion",
      nullable: true,
      resolve: async (query, payload, _args, ctx) => {
        const [first] = (payload.result as RecordedConversion[] | null) ?? [];
        if (!first) return null;
        // Written by this request: a selection of its own columns alone is answered from what was written.
        if (first.row && columnsOnly(query)) return first.row();
        return ctx.db.conversion.findUnique({ ...query, where: { id: first.id } });
      },
    }),
    created: t.boolean({
      nullable: true,
      description: "False when this externalId was recorded before with the same content (nothing new was written).",
      resolve: (payload) => (payload.result as RecordedConversion[] | null)?.[0]?.created ?? null,
    }),
  }),
  resolve: (input, ctx) => {
    assertMayLookUpPartners(ctx, input.partners);
    return recordConversions(ctx.deps, actorOf(ctx), [toServiceInput(input)], () => ["input"]);
  },
});

defineMutation("recordConversions", {
  description: `Records up to ${MAX_BATCH} conversions, all or nothing; errors name the item index.`,
  authScopes: CONVERSION_WRITERS,
  input: (t) => ({ items: t.field({ type: [ConversionInputRef], required: true }) }),
  fields: (t) => ({
    conversions: t.prismaField({
      type: ["Conversion"],
      description: "In the order posted.",
      resolve: async (query, payload, _args, ctx) => {
        const ids = ((payload.result as RecordedConversion[] | null) ?? []).map((r) => r.id);
        return inOrderOf(ids, await ctx.db.conversion.findMany({ ...query, where: { id: { in: ids } } }));
      },
    }),
    createdCount: t.int({
      nullable: true,
      description: "How many were new (the rest had been recorded before).",
      resolve: (payload) => (payload.result as RecordedConversion[] | null)?.filter((r) => r.created).length ?? null,
    }),
  }),
  resolve: (input, ctx) => {
    assertMayLookUpPartners(
      ctx,
      input.items.flatMap((item) => item.partners),
    );
    return recordConversions(ctx.deps, actorOf(ctx), input.items.map(toServiceInput), (index) => ["input", "items", String(index)]);
  },
});

defineMutation("reverseConversion", {
  description: "Refunds or charges back part or all of a sale. Idempotent by refundId.",
  authScopes: { role: ["admin", "finance"], integration: "conversions:write" },
  input: (t) => ({
    conversionId: t.globalID({ for: ConversionRef }),
    conversionExternalId: t.string(),
    refundId: t.string({ required: true }),
    amount: t.field({ type: "Decimal", description: "In the sale's currency; omit to reverse all that is left." }),
    kind: t.field({ type: ReversalKindEnum, defaultValue: "REFUND" }),
    reason: t.string(),
    occurredAt: t.field({ type: "DateTime" }),
  }),
  result: { field: "reversal", type: ReversalRef },
  resolve: ({ conversionId, ...input }, ctx) => reverseConversion(ctx.deps, actorOf(ctx), { ...input, conversionId: conversionId?.id ?? null }),
});
