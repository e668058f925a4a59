import type { CommissionRule } from "../../domain/commission-rule.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { createPartner } from "../../services/partners/create-partner.ts";
import { updatePartner } from "../../services/partners/update-partner.ts";
import { builder } from "../builder.ts";
import { actorOf, assertMayNamePartner, OPERATORS, READERS } from "../guards.ts";
import { scopesAtEntry } from "../scopes-at-entry.ts";
import { resolvePartners } from "../loaders/partners-connection.ts";
import type { RowConnection } from "../loaders/row-connection.ts";
import { defineMutation } from "../mutation.ts";
import { SortDirection } from "./common.ts";
import { CommissionRuleInput, CommissionRuleRef } from "./program.ts";

export const PartnerStatus = builder.enumType("PartnerStatus", {
  values: {
    ACTIVE: { description: "Earns commissions." },
    SUSPENDED: { description: "Earns nothing new; existing balances stay." },
    ARCHIVED: { description: "Gone from the program; kept for the record." },
  } as const,
});

export const PartnerRef = builder.prismaNode("Partner", {
  id: { field: "id" },
  findUnique: (id) => ({ id }),
  nullable: true,
  // Who may read partners is checked where a partner is reached (a list, a relation, a payload), once,
  // not around each field of each partner (scopes-at-entry.ts): the schema does not build while a
  // field reaching Partner lacks READERS.partner, but for these, whose own check is as strict or stricter.
  extensions: scopesAtEntry({
    scopes: READERS.partner,
    checkedElsewhere: {
      "Query.partners": "Its own map, PARTNER_READERS: READERS.partner narrowed to the operators' roles (a partner reads itself through `partner` and `viewer`).",
      "Query.partnerByExternalId": "Its own map, PARTNER_READERS: READERS.partner narrowed to the operators' roles.",
      "Query.node": "By the type the id names, before any lookup (guards.ts, mayLoadNodes): Partner's readers, without the payload scopes.",
      "Query.nodes": "By the type each id names, before any lookup (guards.ts, mayLoadNodes): Partner's readers, without the payload scopes.",
      "Viewer.partner": "The viewer's own record, looked up only for a partner token (a role READERS.partner admits); null for every other viewer.",
    },
  }),
  description: "An affiliate, reseller or creator in one program.",
  fields: (t) => ({
    externalId: t.exposeString("externalId", { nullable: true, description: "The integrator's own key; unique in the program." }),
    email: t.exposeString("email", { nullable: true, description: "Unique in the program (case-insensitive)." }),
    name: t.exposeString("name"),
    status: t.expose("status", { type: PartnerStatus }),
    country: t.exposeString("country", { nullable: true, description: "ISO 3166-1 alpha-2." }),
    commissionRuleOverride: t.field({
      type: CommissionRuleRef,
      nullable: true,
      description: "Replaces the program's rule for this partner's new sales.",
      select: { commissionRuleOverride: true, program: { select: { currency: true } } },
      resolve: (partner) => (partner.commissionRuleOverride ? { rule: partner.commissionRuleOverride as unknown as CommissionRule, currency: partner.program.currency } : null),
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

const PartnerSortField = builder.enumType("PartnerSortField", { values: ["CREATED_AT", "NAME", "EXTERNAL_ID"] as const });

const PartnerFilter = builder.inputType("PartnerFilter", {
  fields: (t) => ({
    status: t.field({ type: [PartnerStatus], description: "Any of these statuses." }),
    search: t.string({ description: "Case-insensitive text in the name, email or externalId." }),
  }),
});

const PartnerSort = builder.inputType("PartnerSort", {
  fields: (t) => ({
    field: t.field({ type: PartnerSortField, required: true }),
    direction: t.field({ type: SortDirection, defaultValue: "ASC" }),
  }),
});

const sortColumns = { CREATED_AT: "createdAt", NAME: "name", EXTERNAL_ID: "externalId" } as const;

function partnerWhere(filter: { status?: string[] | null; search?: string | null } | null | undefined): Prisma.PartnerWhereInput {
  const where: Prisma.PartnerWhereInput = {};
  if (filter?.status?.length) where.status = { in: filter.status as Prisma.PartnerWhereInput["status"] as never };
  const search = filter?.search?.trim();
  if (search) {
    where.OR = [
      { name: { contains: search, mode: "insensitive" } },
      { email: { contains: search, mode: "insensitive" } },
      { externalId: { contains: search, mode: "insensitive" } },
    ];
  }
  return where;
}

/** Listing and looking up partners is for operators and partner-reading tokens (a partner reads itself through `partner` and `viewer`). */
const PARTNER_READERS = { ...READERS.partner, role: OPERATORS };
const PARTNER_WRITERS = { role: ["admin" as const], integration: "partners:write" } as const;

builder.queryFields((t) => ({
  partners: t.connection(
    {
      type: PartnerRef,
      description: "The program's partners, filtered and sorted (newest first by default).",
      authScopes: PARTNER_READERS,
      args: {
        filter: t.arg({ type: PartnerFilter }),
        sort: t.arg({ type: PartnerSort }),
      },
      // A plain page (no relation among the nodes, no filter or sort) is one statement without Prisma;
      // anything else as plugin-prisma's prismaConnection read it (loaders/partners-connection.ts).
      resolve: (_root, args, ctx, info) => {
        const where = partnerWhere(args.filter);
        return resolvePartners(ctx, info, args, {
          unfiltered: !args.sort && Object.keys(where).length === 0,
          findMany: (query) => {
            const direction = (args.sort?.direction ?? "ASC").toLowerCase() as "asc" | "desc";
            const orderBy: Prisma.PartnerOrderByWithRelationInput[] = args.sort ? [{ [sortColumns[args.sort.field]]: direction }, { id: direction }] : [{ id: "desc" }];
            return ctx.db.partner.findMany({ ...query, where, orderBy }) as never;
          },
          count: () => ctx.db.partner.count({ where }),
        }) as never;
      },
    },
    {
      // plugin-prisma's `prismaConnection` added this field, marked so a count alone reads no page.
      fields: (c) => ({
        totalCount: c.int({ nullable: false, extensions: { pothosPrismaTotalCount: true }, resolve: (connection) => (connection as unknown as RowConnection).totalCount() }),
      }),
    },
  ),
  partner: t.prismaField({
    type: "Partner",
    nullable: true,
    description: "A partner by id. A partner token may name only itself.",
    authScopes: READERS.partner,
    args: { id: t.arg.globalID({ for: PartnerRef, required: true }) },
    resolve: (query, _root, args, ctx) => {
      assertMayNamePartner(ctx, args.id.id);
      return ctx.db.partner.findUnique({ ...query, where: { id: args.id.id } });
    },
  }),
  partnerByExternalId: t.prismaField({
    type: "Partner",
    nullable: true,
    description: "A partner by the integrator's own key.",
    authScopes: PARTNER_READERS,
    args: { externalId: t.arg.string({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.partner.findUnique({ ...query, where: { programId_externalId: { programId: actorOf(ctx).programId, externalId: args.externalId } } }),
  }),
}));

const partnerFields = (t: PothosSchemaTypes.InputFieldBuilder<typeof builder.$inferSchemaTypes, "InputObject">) => ({
  externalId: t.string({ description: "The integrator's own key; unique in the program." }),
  email: t.string({ description: "Unique in the program." }),
  country: t.string({ description: "ISO 3166-1 alpha-2, like US." }),
  status: t.field({ type: PartnerStatus }),
  commissionRuleOverride: t.field({ type: CommissionRuleInput, description: "Replaces the program's rule for this partner; null clears it." }),
});

defineMutation("createPartner", {
  description: "Adds a partner to the program.",
  authScopes: PARTNER_WRITERS,
  input: (t) => ({ name: t.string({ required: true }), ...partnerFields(t) }),
  result: { field: "partner", type: PartnerRef, authScopes: READERS.partner },
  resolve: (input, ctx) => createPartner(ctx.deps, actorOf(ctx), input),
});

defineMutation("updatePartner", {
  description: "Changes a partner. Absent fields stay; null clears an optional one.",
  authScopes: PARTNER_WRITERS,
  input: (t) => ({ id: t.globalID({ for: PartnerRef, required: true }), name: t.string(), ...partnerFields(t) }),
  result: { field: "partner", type: PartnerRef, authScopes: READERS.partner },
  resolve: ({ id, ...input }, ctx) => updatePartner(ctx.deps, actorOf(ctx), { ...input, id: id.id }),
});
