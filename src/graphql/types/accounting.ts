import { GraphQLError } from "graphql";
import { failed, userError } from "../../domain/errors.ts";
import { disconnectQuickBooks, startQuickBooksConnect } from "../../integrations/quickbooks/connection.ts";
import { mapPartnerToVendor } from "../../services/accounting/map-partner-to-vendor.ts";
import { queueAccountingSync } from "../../services/accounting/queue-accounting-sync.ts";
import type { ServiceDeps } from "../../services/deps.ts";
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
  description:
    "Starts connecting QuickBooks Online (admin): returns Intuit's authorization URL. Bills are booked to the expense account; bill payments come from the bank account.",
  authScopes: { role: ["admin"] },
  input: (t) => ({ expenseAccountId: t.string({ required: true }), bankAccountId: t.string() }),
  result: { field: "authorization", type: AuthorizeRef },
  resolve: async (input, ctx) => startQuickBooksConnect(ctx.deps, quickbooksOf(ctx.deps), actorOf(ctx), input),
});

defineMutation("disconnectQuickBooks", {
  description: "Disconnects QuickBooks (admin): revokes and forgets the tokens.",
  authScopes: { role: ["admin"] },
  input: (t) => ({ confirm: t.boolean({ required: true }) }),
  fields: (t) => ({
    connection: t.prismaField({
      type: "AccountingConnection",
      nullable: true,
      resolve: (query, _p, _a, ctx) => ctx.db.accountingConnection.findUnique({ ...query, where: { programId: actorOf(ctx).programId } }),
    }),
  }),
  resolve: async (input, ctx) =>
    input.confirm ? disconnectQuickBooks(ctx.deps, quickbooksOf(ctx.deps), actorOf(ctx)) : failed(userError("INVALID_INPUT", "confirm must be true", ["input", "confirm"])),
});

defineMutation("mapPartnerToVendor", {
  description: "Books a partner's payouts to an existing QuickBooks vendor instead of creating one (admin).",
  authScopes: { role: ["admin"] },
  input: (t) => ({ partnerId: t.globalID({ for: PartnerRef, required: true }), vendorId: t.string({ required: true }) }),
  fields: (t) => ({
    partner: t.prismaField({
      type: "Partner",
      nullable: true,
      authScopes: READERS.partner,
      resolve: (query, payload, _a, ctx) =>
        (payload.result as { id: string } | null) ? ctx.db.partner.findUnique({ ...query, where: { id: (payload.result as { id: string }).id } }) : null,
    }),
  }),
  resolve: (input, ctx) => mapPartnerToVendor(ctx.deps, actorOf(ctx), { partnerId: input.partnerId.id, vendorId: input.vendorId }),
});

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
    resolve: (input, ctx) => queueAccountingSync(ctx.deps, actorOf(ctx), input.payoutIds ? input.payoutIds.map((id) => id.id) : null),
  });
}

syncMutation("syncPayoutsToAccounting", "Queues approved and paid payouts not yet in QuickBooks (all of them when no ids are given).", false);
syncMutation("retryAccountingSync", "Retries the accounting sync of the given payouts (after a failure, for example).", true);
