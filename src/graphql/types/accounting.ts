import { GraphQLError } from "graphql";
import { fail, failed, userError, type Result } from "../../domain/errors.ts";
import { QuickBooksError } from "../../integrations/quickbooks/client.ts";
import { disconnectQuickBooks, startQuickBooksConnect, withCompany } from "../../integrations/quickbooks/connection.ts";
import { enqueueAccountingSync } from "../../services/accounting/enqueue.ts";
import { audit } from "../../services/audit.ts";
import type { Actor, ServiceDeps } from "../../services/deps.ts";
import { transact } from "../../services/transact.ts";
import { builder } from "../builder.ts";
import { actorOf, READERS } from "../guards.ts";
import { defineMutation } from "../mutation.ts";
import { inOrderOf } from "../reload.ts";
import { PartnerRef } from "./partner.ts";
import { PayoutRef } from "./payout.ts";

const SyncStatusEnum = builder.enumType("AccountingSyncStatus", {
  values: {
    NOT_SYNCED: { description: "Not for the accounting system (none connected, or not approved yet)." },
    PENDING: { description: "Queued; the worker will book it." },
    BILLED: { description: "The bill exists in QuickBooks." },
    PAID: { description: "The bill and its payment exist in QuickBooks." },
    FAILED: { description: "Stopped on an error QuickBooks will not accept again; see accountingSyncError, then retry." },
    REMOVED: { description: "The payout was cancelled and its bill (and vendor credit) deleted from QuickBooks." },
  } as const,
});
const ConnectionStatusEnum = builder.enumType("AccountingConnectionStatus", { values: ["CONNECTED", "DISCONNECTED"] as const });

builder.prismaObjectFields("Payout", (t) => ({
  accountingSyncStatus: t.expose("accountingSyncStatus", { type: SyncStatusEnum }),
  accountingSyncError: t.exposeString("accountingSyncError", { nullable: true, authScopes: READERS.accounting, description: "Why the last sync failed." }),
  accountingBillId: t.exposeString("accountingBillId", { nullable: true, authScopes: READERS.accounting, description: "The QuickBooks Bill's id." }),
}));

builder.prismaObjectFields("Partner", (t) => ({
  accountingVendorId: t.exposeString("accountingVendorId", { nullable: true, authScopes: READERS.accounting, description: "The partner as a QuickBooks vendor." }),
}));

builder.prismaObject("AccountingConnection", {
  authScopes: READERS.accounting,
  description: "The program's QuickBooks Online company. Its tokens never leave the server.",
  fields: (t) => ({
    provider: t.exposeString("provider"),
    status: t.expose("status", { type: ConnectionStatusEnum }),
    realmId: t.exposeString("realmId", { description: "The QuickBooks company id." }),
    expenseAccountId: t.exposeString("expenseAccountId"),
    bankAccountId: t.exposeString("bankAccountId", { nullable: true }),
    connectedBy: t.exposeString("connectedBy"),
    connectedAt: t.expose("connectedAt", { type: "DateTime" }),
    disconnectedAt: t.expose("disconnectedAt", { type: "DateTime", nullable: true }),
    changesCheckedAt: t.expose("changesCheckedAt", { type: "DateTime", nullable: true, description: "Payments made in QuickBooks are known up to here." }),
  }),
});

builder.queryField("accountingConnection", (t) =>
  t.prismaField({
    type: "AccountingConnection",
    nullable: true,
    authScopes: READERS.accounting,
    resolve: (query, _root, _args, ctx) => ctx.db.accountingConnection.findUnique({ ...query, where: { programId: actorOf(ctx).programId } }),
  }),
);

const AuthorizeRef = builder.objectRef<{ authorizeUrl: string }>("QuickBooksAuthorization").implement({
  fields: (t) => ({ authorizeUrl: t.exposeString("authorizeUrl", { description: "Send the admin here to approve the connection in QuickBooks." }) }),
});

function quickbooksOf(deps: ServiceDeps) {
  if (!deps.quickbooks) throw new GraphQLError("accounting is not available", { extensions: { code: "INTERNAL_SERVER_ERROR" } });
  return deps.quickbooks;
}

defineMutation("connectQuickBooks", {
  description: "Starts connecting QuickBooks Online (admin): returns Intuit's authorization URL. Bills are booked to the expense account; bill payments come from the bank account.",
  authScopes: { role: ["admin"] },
  input: (t) => ({ expenseAccountId: t.string({ required: true }), bankAccountId: t.string() }),
  result: { field: "authorization", type: AuthorizeRef },
  resolve: async (input, ctx) => startQuickBooksConnect(ctx.deps, quickbooksOf(ctx.deps), actorOf(ctx), input),
});

defineMutation("disconnectQuickBooks", {
  description: "Disconnects QuickBooks (admin): revokes and forgets the tokens.",
  authScopes: { role: ["admin"] },
  input: (t) => ({ confirm: t.boolean({ required: true }) }),
  fields: (t) => ({ connection: t.prismaField({ type: "AccountingConnection", nullable: true, resolve: (query, _p, _a, ctx) => ctx.db.accountingConnection.findUnique({ ...query, where: { programId: actorOf(ctx).programId } }) }) }),
  resolve: async (input, ctx) => (input.confirm ? disconnectQuickBooks(ctx.deps, quickbooksOf(ctx.deps), actorOf(ctx)) : failed(userError("INVALID_INPUT", "confirm must be true", ["input", "confirm"]))),
});

/** Maps a partner to a vendor that already exists in QuickBooks (admin). Errors: INVALID_INPUT, NOT_FOUND. */
function mapVendor(deps: ServiceDeps, actor: Actor, partnerId: string, vendorId: string): Promise<Result<{ id: string }>> {
  return transact(deps, actor, async (tx) => {
    const trimmed = vendorId.trim();
    if (!/^\d{1,20}$/.test(trimmed)) fail("INVALID_INPUT", "vendorId is a QuickBooks vendor id (digits)", ["input", "vendorId"]);
    const before = await tx.db.partner.findUnique({ where: { id: partnerId }, select: { id: true, accountingVendorId: true } });
    if (!before) fail("NOT_FOUND", "no such partner", ["input", "partnerId"]);
    await tx.db.partner.update({ where: { id: partnerId }, data: { accountingVendorId: trimmed, accountingVendorName: null } });
    await audit(tx, { action: "accounting.vendor_map", entityType: "Partner", entityId: partnerId, before: { vendorId: before.accountingVendorId }, after: { vendorId: trimmed } });
    return { id: partnerId };
  });
}

defineMutation("mapPartnerToVendor", {
  description: "Books a partner's payouts to an existing QuickBooks vendor instead of creating one (admin).",
  authScopes: { role: ["admin"] },
  input: (t) => ({ partnerId: t.globalID({ for: PartnerRef, required: true }), vendorId: t.string({ required: true }) }),
  fields: (t) => ({
    partner: t.prismaField({
      type: "Partner",
      nullable: true,
      resolve: (query, payload, _a, ctx) => ((payload.result as { id: string } | null) ? ctx.db.partner.findUnique({ ...query, where: { id: (payload.result as { id: string }).id } }) : null),
    }),
  }),
  resolve: async (input, ctx) => {
    const vendorId = input.vendorId.trim();
    const connection = await ctx.db.accountingConnection.findUnique({ where: { programId: actorOf(ctx).programId } });
    if (connection?.status === "CONNECTED" && /^\d{1,20}$/.test(vendorId)) {
      // The vendor must exist in the connected company, or every bill would fail.
      const found = await withCompany(ctx.deps, quickbooksOf(ctx.deps), connection, (company) =>
        company.query<{ QueryResponse?: { Vendor?: unknown[] } }>(`select * from Vendor where Id = '${vendorId}'`),
      ).catch((error: unknown) => {
        if (error instanceof QuickBooksError) return { error };
        throw error;
      });
      if ("error" in found) return failed(userError("ACCOUNTING_ERROR", (found.error as QuickBooksError).message, ["input", "vendorId"]));
      if (!found.QueryResponse?.Vendor?.length) return failed(userError("NOT_FOUND", `QuickBooks has no vendor ${vendorId}`, ["input", "vendorId"]));
    }
    return mapVendor(ctx.deps, actorOf(ctx), input.partnerId.id, vendorId);
  },
});

/**
 * Queues approved and paid payouts for the accounting system (and cancelled
 * ones whose bill is still there): the named ones, or every one not yet
 * booked (a backlog after connecting). Failed ones are retried from the start.
 */
function queueSync(deps: ServiceDeps, actor: Actor, payoutIds: string[] | null): Promise<Result<string[]>> {
  return transact(deps, actor, async (tx) => {
    const connection = await tx.db.accountingConnection.findUnique({ where: { programId: tx.programId }, select: { status: true } });
    if (connection?.status !== "CONNECTED") fail("NOT_CONNECTED", "QuickBooks is not connected");
    const candidates = await tx.db.payout.findMany({
      where: {
        OR: [
          { status: { in: ["APPROVED", "PAID"] }, accountingSyncStatus: { in: ["NOT_SYNCED", "FAILED", "BILLED"] } },
          // Cancelled with a bill (or a failed sync that may have left one): the bill is to be deleted.
          { status: "CANCELLED", accountingSyncStatus: { in: ["FAILED", "BILLED"] } },
        ],
        ...(payoutIds ? { id: { in: payoutIds } } : {}),
      },
      select: { id: true },
    });
    const ids = candidates.map((p) => p.id);
    await enqueueAccountingSync(tx, ids);
    if (ids.length > 0) await audit(tx, { action: "accounting.sync_requested", entityType: "Program", entityId: tx.programId, after: { payouts: ids.length } });
    return ids;
  });
}

function syncMutation(name: string, description: string, required: boolean) {
  defineMutation(name, {
    description,
    authScopes: { role: ["admin", "finance"] },
    input: (t) => ({ payoutIds: t.globalIDList({ for: PayoutRef, required }) }),
    fields: (t) => ({
      payouts: t.prismaField({
        type: ["Payout"],
        description: "The payouts queued.",
        resolve: async (query, payload, _a, ctx) => {
          const ids = (payload.result as string[] | null) ?? [];
          return inOrderOf(ids, await ctx.db.payout.findMany({ ...query, where: { id: { in: ids } } }));
        },
      }),
    }),
    resolve: (input, ctx) => queueSync(ctx.deps, actorOf(ctx), input.payoutIds ? input.payoutIds.map((id) => id.id) : null),
  });
}

syncMutation("syncPayoutsToAccounting", "Queues approved and paid payouts not yet in QuickBooks (all of them when no ids are given).", false);
syncMutation("retryAccountingSync", "Retries the accounting sync of the given payouts (after a failure, for example).", true);

