import { encodeGlobalId } from "../global-ids.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { builder } from "../builder.ts";
import { badInput, READERS } from "../guards.ts";

export const AuditEntryRef = builder.prismaNode("AuditEntry", {
  id: { field: "id" },
  findUnique: (id) => ({ id }),
  nullable: true,
  authScopes: READERS.auditEntry,
  description: "Who did what to which record, when, from what to what. Sensitive values are masked.",
  fields: (t) => ({
    actorRole: t.exposeString("actorRole", { description: "The token's role, or system." }),
    actorId: t.exposeString("actorId", { description: "The token's subject." }),
    action: t.exposeString("action", { description: 'Like "commission.approve".' }),
    entityType: t.exposeString("entityType"),
    recordId: t.id({ description: "The global id of the record.", resolve: (e) => encodeGlobalId(e.entityType, e.entityId) }),
    before: t.field({ type: "JSONObject", nullable: true, resolve: (e) => (e.before as Record<string, unknown> | null) ?? null }),
    after: t.field({ type: "JSONObject", nullable: true, resolve: (e) => (e.after as Record<string, unknown> | null) ?? null }),
    reason: t.exposeString("reason", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

const AuditFilter = builder.inputType("AuditFilter", {
  fields: (t) => ({
    recordId: t.id({ description: "One record's trail: any global id (commission, payout, partner, …)." }),
    entityType: t.string({ description: 'Like "Commission".' }),
    action: t.string(),
    actorId: t.string(),
    after: t.field({ type: "DateTime", description: "Inclusive." }),
    before: t.field({ type: "DateTime", description: "Exclusive." }),
  }),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function auditWhere(filter: typeof AuditFilter.$inferInput | null | undefined): Prisma.AuditEntryWhereInput {
  const where: Prisma.AuditEntryWhereInput = {};
  if (filter?.recordId) {
    const decoded = Buffer.from(filter.recordId, "base64").toString("utf8");
    const [type, id] = [decoded.slice(0, decoded.indexOf(":")), decoded.slice(decoded.indexOf(":") + 1)];
    if (!type || !UUID.test(id)) throw badInput("recordId is not a global id");
    where.entityType = type;
    where.entityId = id;
  }
  if (filter?.entityType) where.entityType = filter.entityType;
  if (filter?.action) where.action = filter.action;
  if (filter?.actorId) where.actorId = filter.actorId;
  if (filter?.after || filter?.before) where.createdAt = { ...(filter.after ? { gte: filter.after } : {}), ...(filter.before ? { lt: filter.before } : {}) };
  return where;
}

builder.queryField("auditEntries", (t) =>
  t.prismaConnection({
    type: "AuditEntry",
    cursor: "id",
    description: "The program's audit trail, newest first; filter by record for one record's history (operators).",
    authScopes: READERS.auditEntry,
    args: { filter: t.arg({ type: AuditFilter }) },
    totalCount: (_parent, args, ctx) => ctx.db.auditEntry.count({ where: auditWhere(args.filter) }),
    resolve: (query, _root, args, ctx) => ctx.db.auditEntry.findMany({ ...query, where: auditWhere(args.filter), orderBy: { id: "desc" } }),
  }),
);
