import { maskSecret, PAYOUT_METHOD_TYPES } from "../../domain/payout-method.ts";
import { addPayoutMethod, removePayoutMethod, setDefaultPayoutMethod } from "../../services/payment-details/payout-methods.ts";
import { updatePayoutMethod } from "../../services/payment-details/update-payout-method.ts";
import { verifyPayoutMethod } from "../../services/payment-details/verify-payout-method.ts";
import { PaymentProviderEnum } from "./payment-provider.ts";
import { revealPayoutMethod, revealTaxId } from "../../services/payment-details/reveal-payment-details.ts";
import { setBillingProfile } from "../../services/payment-details/set-billing-profile.ts";
import type { Context } from "../../context.ts";
import { builder } from "../builder.ts";
import { actorOf, assertMayNamePartner, READERS } from "../guards.ts";
import { defineMutation } from "../mutation.ts";
import { PartnerRef } from "./partner.ts";

export const PayoutMethodTypeEnum = builder.enumType("PayoutMethodType", { values: PAYOUT_METHOD_TYPES });
const AccountTypeEnum = builder.enumType("BankAccountType", { values: ["CHECKING", "SAVINGS"] as const });
const TaxFormEnum = builder.enumType("TaxForm", { values: { W9: {}, W8BEN: {}, W8BEN_E: {} } as const });
const EntityTypeEnum = builder.enumType("BillingEntityType", { values: ["INDIVIDUAL", "COMPANY"] as const });
const VerificationEnum = builder.enumType("PayoutMethodVerification", {
  values: {
    UNVERIFIED: { description: "Not checked with a provider: none is connected for it, or its type cannot be. A connected provider's unverified method cannot be the default." },
    VERIFIED: { description: "The provider accepted it (Wise created the recipient; PayPal's checks passed; the Stripe account takes transfers)." },
  } as const,
});

const isOwner = (ctx: Context, partnerId: string) => ctx.viewer?.role === "partner" && ctx.viewer.partnerId === partnerId;

type Details = Record<string, string | undefined>;
const detail = (key: string) => (method: { details: unknown }) => ((method.details as Details)[key] ?? null) as string | null;

export const PayoutMethodRef = builder.prismaNode("PayoutMethod", {
  id: { field: "id" },
  findUnique: (id) => ({ id }),
  nullable: true,
  authScopes: READERS.paymentDetails,
  description: "How a partner is paid. Bank numbers are shown in full to the partner only; operators see the last four.",
  fields: (t) => ({
    type: t.expose("type", { type: PayoutMethodTypeEnum }),
    isDefault: t.exposeBoolean("isDefault"),
    label: t.string({ description: 'Short, masked, like "Bank transfer DE•••• 3000".', resolve: (m) => detail("label")(m) ?? m.type }),
    currency: t.exposeString("currency", { nullable: true, description: "Wise: the currency paid in." }),
    email: t.string({ nullable: true, resolve: detail("email") }),
    accountName: t.string({ nullable: true, resolve: detail("accountName") }),
    bic: t.string({ nullable: true, resolve: detail("bic") }),
    bankName: t.string({ nullable: true, resolve: detail("bankName") }),
    bankAddress: t.string({ nullable: true, resolve: detail("bankAddress") }),
    routingNumber: t.string({ nullable: true, resolve: detail("routingNumber") }),
    accountType: t.field({ type: AccountTypeEnum, nullable: true, resolve: (m) => detail("accountType")(m) as "CHECKING" | "SAVINGS" | null }),
    handle: t.string({ nullable: true, description: "Venmo.", resolve: detail("handle") }),
    phone: t.string({ nullable: true, description: "Zelle.", resolve: detail("phone") }),
    payeeName: t.string({ nullable: true, description: "Check.", resolve: detail("payeeName") }),
    mailingAddress: t.string({
      nullable: true,
      description: "Check: where to mail it.",
      resolve: (m) => {
        const d = m.details as Details;
        return d.addressLine1 ? [d.addressLine1, d.addressLine2, [d.postalCode, d.city].filter(Boolean).join(" "), d.region, d.country].filter(Boolean).join(", ") : null;
      },
    }),
    instructions: t.string({ nullable: true, resolve: detail("instructions") }),
    sortCode: t.string({ nullable: true, description: "Wise to a UK account.", resolve: detail("sortCode") }),
    accountId: t.string({ nullable: true, description: "Stripe: the connected account.", resolve: detail("accountId") }),
    verificationStatus: t.expose("verificationStatus", { type: VerificationEnum }),
    verifiedWith: t.expose("verifiedWith", { type: PaymentProviderEnum, nullable: true }),
    verifiedAt: t.expose("verifiedAt", { type: "DateTime", nullable: true }),
    maskedNumber: t.string({ nullable: true, description: 'The IBAN or account number\'s last four, like "•••• 3000".', resolve: (m) => maskSecret(m.secretLast4) }),
    number: t.string({
      nullable: true,
      description: "The full IBAN or account number: for the partner itself only (operators use revealPayoutMethod, which is audited).",
      resolve: (m, _args, ctx) => (m.secret && isOwner(ctx, m.partnerId) ? ctx.deps.secrets.open(m.secret) : null),
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

export const BillingProfileRef = builder.prismaObject("BillingProfile", {
  authScopes: READERS.paymentDetails,
  description: "Who the partner is for tax and invoicing.",
  fields: (t) => ({
    entityType: t.expose("entityType", { type: EntityTypeEnum }),
    legalName: t.exposeString("legalName"),
    maskedTaxId: t.string({ nullable: true, resolve: (b) => maskSecret(b.taxIdLast4) }),
    taxId: t.string({
      nullable: true,
      description: "In full for the partner itself only (admins use revealTaxId, which is audited).",
      resolve: (b, _args, ctx) => (b.taxId && isOwner(ctx, b.partnerId) ? ctx.deps.secrets.open(b.taxId) : null),
    }),
    vatId: t.exposeString("vatId", { nullable: true }),
    addressLine1: t.exposeString("addressLine1", { nullable: true }),
    addressLine2: t.exposeString("addressLine2", { nullable: true }),
    city: t.exposeString("city", { nullable: true }),
    region: t.exposeString("region", { nullable: true }),
    postalCode: t.exposeString("postalCode", { nullable: true }),
    country: t.exposeString("country"),
    taxForm: t.expose("taxForm", { type: TaxFormEnum, nullable: true }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

const DETAIL_READERS = READERS.paymentDetails;
builder.prismaObjectFields("Partner", (t) => ({
  payoutMethods: t.relation("payoutMethods", { authScopes: DETAIL_READERS, query: { orderBy: [{ isDefault: "desc" }, { id: "asc" }] } }),
  billingProfile: t.relation("billingProfile", { nullable: true, authScopes: DETAIL_READERS }),
}));

const PayoutMethodInputRef = builder.inputType("PayoutMethodInput", {
  description:
    "Fields by type — PAYPAL: email; WISE: currency and one of email (accountName?), iban (accountName, bic?), sortCode and accountNumber (accountName; GBP), routingNumber, accountNumber, accountType and the address (accountName; USD); STRIPE: accountId; BANK_TRANSFER: accountName, iban, bic?; ACH: accountName, routingNumber, accountNumber, accountType; WIRE: accountName, accountNumber, bic, bankName, bankAddress?, routingNumber?; CHECK: payeeName and address; VENMO: handle; ZELLE: email or phone; STORE_CREDIT: instructions?; OTHER: instructions.",
  fields: (t) => ({
    type: t.field({ type: PayoutMethodTypeEnum, required: true }),
    email: t.string(),
    currency: t.string(),
    accountName: t.string(),
    iban: t.string(),
    bic: t.string(),
    accountNumber: t.string(),
    routingNumber: t.string(),
    accountType: t.field({ type: AccountTypeEnum }),
    bankName: t.string(),
    bankAddress: t.string(),
    handle: t.string(),
    phone: t.string(),
    payeeName: t.string(),
    addressLine1: t.string(),
    addressLine2: t.string(),
    city: t.string(),
    region: t.string(),
    postalCode: t.string(),
    country: t.string(),
    instructions: t.string(),
    sortCode: t.string(),
    accountId: t.string(),
  }),
});

const BillingProfileInputRef = builder.inputType("BillingProfileInput", {
  fields: (t) => ({
    entityType: t.field({ type: EntityTypeEnum, required: true }),
    legalName: t.string({ required: true }),
    taxId: t.string({ description: "Omit to keep the one on file." }),
    vatId: t.string(),
    addressLine1: t.string(),
    addressLine2: t.string(),
    city: t.string(),
    region: t.string(),
    postalCode: t.string(),
    country: t.string({ required: true, description: "ISO 3166-1 alpha-2." }),
    taxForm: t.field({ type: TaxFormEnum }),
  }),
});

/** Partners manage their own; admin and finance manage any partner's. */
const DETAIL_WRITERS = { role: ["admin" as const, "finance" as const, "partner" as const] };

defineMutation("addPayoutMethod", {
  description: "Adds a payout method for a partner (the partner itself, admin or finance).",
  authScopes: DETAIL_WRITERS,
  input: (t) => ({
    partnerId: t.globalID({ for: PartnerRef, required: true }),
    method: t.field({ type: PayoutMethodInputRef, required: true }),
    makeDefault: t.boolean({ description: "The first method is the default anyway." }),
  }),
  result: { field: "payoutMethod", type: PayoutMethodRef },
  resolve: (input, ctx) => {
    assertMayNamePartner(ctx, input.partnerId.id);
    return addPayoutMethod(ctx.deps, actorOf(ctx), { partnerId: input.partnerId.id, method: input.method, makeDefault: input.makeDefault });
  },
});

defineMutation("updatePayoutMethod", {
  description:
    "Edits a payout method (the partner itself, admin or finance): its fields are replaced by these; the type stays, and the IBAN or account number may be left out to keep the one on file. Checked with the provider again when one is connected for it.",
  authScopes: DETAIL_WRITERS,
  input: (t) => ({
    id: t.globalID({ for: PayoutMethodRef, required: true }),
    method: t.field({ type: PayoutMethodInputRef, required: true }),
    makeDefault: t.boolean(),
  }),
  result: { field: "payoutMethod", type: PayoutMethodRef },
  resolve: (input, ctx) => updatePayoutMethod(ctx.deps, actorOf(ctx), { id: input.id.id, method: input.method, makeDefault: input.makeDefault }),
});

defineMutation("verifyPayoutMethod", {
  description: "Checks a payout method with the program's provider now (a method saved before the provider was connected must be, before it can be the default).",
  authScopes: DETAIL_WRITERS,
  input: (t) => ({ id: t.globalID({ for: PayoutMethodRef, required: true }) }),
  result: { field: "payoutMethod", type: PayoutMethodRef },
  resolve: (input, ctx) => verifyPayoutMethod(ctx.deps, actorOf(ctx), { id: input.id.id }),
});

defineMutation("removePayoutMethod", {
  description: "Removes a payout method; the newest remaining one becomes the default.",
  authScopes: DETAIL_WRITERS,
  input: (t) => ({ id: t.globalID({ for: PayoutMethodRef, required: true }) }),
  result: { field: "payoutMethod", type: PayoutMethodRef },
  resolve: (input, ctx) => removePayoutMethod(ctx.deps, actorOf(ctx), { id: input.id.id }),
});

defineMutation("setDefaultPayoutMethod", {
  description: "Makes a payout method the partner's default.",
  authScopes: DETAIL_WRITERS,
  input: (t) => ({ id: t.globalID({ for: PayoutMethodRef, required: true }) }),
  result: { field: "payoutMethod", type: PayoutMethodRef },
  resolve: (input, ctx) => setDefaultPayoutMethod(ctx.deps, actorOf(ctx), { id: input.id.id }),
});

defineMutation("setBillingProfile", {
  description: "Sets a partner's billing details (the partner itself, admin or finance).",
  authScopes: DETAIL_WRITERS,
  input: (t) => ({ partnerId: t.globalID({ for: PartnerRef, required: true }), profile: t.field({ type: BillingProfileInputRef, required: true }) }),
  result: { field: "billingProfile", type: BillingProfileRef },
  resolve: (input, ctx) => {
    assertMayNamePartner(ctx, input.partnerId.id);
    return setBillingProfile(ctx.deps, actorOf(ctx), { partnerId: input.partnerId.id, profile: input.profile });
  },
});

const RevealedRef = builder.objectRef<{ id: string; number: string }>("RevealedNumber").implement({
  description: "A sensitive number shown in full; the reveal is in the audit trail.",
  fields: (t) => ({ number: t.exposeString("number") }),
});

defineMutation("revealPayoutMethod", {
  description: "Shows a payout method's full number (admin; finance while paying this partner's approved payout). Audited.",
  authScopes: { role: ["admin", "finance"] },
  input: (t) => ({ id: t.globalID({ for: PayoutMethodRef, required: true }), reason: t.string() }),
  result: { field: "revealed", type: RevealedRef },
  resolve: (input, ctx) => revealPayoutMethod(ctx.deps, actorOf(ctx), { id: input.id.id, reason: input.reason }),
});

defineMutation("revealTaxId", {
  description: "Shows a partner's full tax id (admin), for tax filing. Audited.",
  authScopes: { role: ["admin"] },
  input: (t) => ({ partnerId: t.globalID({ for: PartnerRef, required: true }), reason: t.string() }),
  result: { field: "revealed", type: RevealedRef },
  resolve: (input, ctx) => revealTaxId(ctx.deps, actorOf(ctx), { partnerId: input.partnerId.id, reason: input.reason }),
});
