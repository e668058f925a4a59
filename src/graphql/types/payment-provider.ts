import { failed, userError } from "../../domain/errors.ts";
import { PAYMENT_PROVIDERS } from "../../integrations/payments/payout-provider.ts";
import { connectPaymentProvider } from "../../services/payment-providers/connect-payment-provider.ts";
import { disconnectPaymentProvider } from "../../services/payment-providers/disconnect-payment-provider.ts";
import { builder } from "../builder.ts";
import { actorOf } from "../guards.ts";
import { defineMutation } from "../mutation.ts";

/**
 * The program's payment rails (PayPal Payouts, Wise, Stripe Connect): admins
 * only, for reading as for writing. Credentials go in and never come out: no
 * field of the connection carries them.
 */
const ADMIN = { role: ["admin" as const] };

export const PaymentProviderEnum = builder.enumType("PaymentProvider", { values: PAYMENT_PROVIDERS });
const EnvironmentEnum = builder.enumType("PaymentProviderEnvironment", {
  values: { SANDBOX: { description: "The provider's test system." }, LIVE: { description: "Real money." } } as const,
});
const StatusEnum = builder.enumType("PaymentProviderStatus", { values: ["CONNECTED", "DISCONNECTED"] as const });

builder.prismaObject("PaymentProviderConnection", {
  authScopes: ADMIN,
  description: "A payment provider the program pays partners through. Its credentials never leave the server.",
  fields: (t) => ({
    provider: t.expose("provider", { type: PaymentProviderEnum }),
    environment: t.expose("environment", { type: EnvironmentEnum }),
    status: t.expose("status", { type: StatusEnum }),
    accountLabel: t.exposeString("accountLabel", { description: "Which account it is: PayPal's app id, the Wise profile, the Stripe platform account." }),
    webhookPath: t.string({
      description: "Where the provider sends this connection's webhooks, under this server's address: register it with the provider.",
      resolve: (c) => `/webhooks/${c.provider.toLowerCase()}/${c.id}`,
    }),
    connectedBy: t.exposeString("connectedBy"),
    connectedAt: t.expose("connectedAt", { type: "DateTime" }),
    disconnectedAt: t.expose("disconnectedAt", { type: "DateTime", nullable: true }),
  }),
});

builder.queryField("paymentProviderConnections", (t) =>
  t.prismaField({
    type: ["PaymentProviderConnection"],
    authScopes: ADMIN,
    description: "The program's payment providers, connected or not (admin).",
    resolve: (query, _root, _args, ctx) => ctx.db.paymentProviderConnection.findMany({ ...query, where: { programId: actorOf(ctx).programId }, orderBy: { provider: "asc" } }),
  }),
);

const PayPalCredentialsInput = builder.inputType("PayPalCredentialsInput", {
  description: "A PayPal REST app's credentials, and the id PayPal gave the webhook listener registered at webhookPath.",
  fields: (t) => ({ clientId: t.string({ required: true }), clientSecret: t.string({ required: true }), webhookId: t.string({ required: true }) }),
});
const WiseCredentialsInput = builder.inputType("WiseCredentialsInput", {
  description: "A Wise API token for the business profile payouts are sent from.",
  fields: (t) => ({ apiToken: t.string({ required: true }), profileId: t.string({ required: true }) }),
});
const StripeCredentialsInput = builder.inputType("StripeCredentialsInput", {
  description: "The platform's secret key (sk_test_… in the sandbox) and the signing secret (whsec_…) of the endpoint registered at webhookPath.",
  fields: (t) => ({ secretKey: t.string({ required: true }), webhookSecret: t.string({ required: true }) }),
});

defineMutation("connectPaymentProvider", {
  description: "Connects a payment provider (admin): the credentials are checked with the provider, then kept encrypted. Connecting again replaces them.",
  authScopes: ADMIN,
  input: (t) => ({
    provider: t.field({ type: PaymentProviderEnum, required: true }),
    environment: t.field({ type: EnvironmentEnum, required: true }),
    paypal: t.field({ type: PayPalCredentialsInput }),
    wise: t.field({ type: WiseCredentialsInput }),
    stripe: t.field({ type: StripeCredentialsInput }),
  }),
  fields: (t) => ({
    connection: t.prismaField({
      type: "PaymentProviderConnection",
      nullable: true,
      resolve: (query, payload, _args, ctx) => {
        const result = payload.result as { id: string } | null;
        return result ? ctx.db.paymentProviderConnection.findUnique({ ...query, where: { id: result.id } }) : null;
      },
    }),
  }),
  resolve: (input, ctx) => connectPaymentProvider(ctx.deps, actorOf(ctx), input),
});

defineMutation("disconnectPaymentProvider", {
  description: "Disconnects a payment provider (admin) and forgets its credentials; its webhooks are refused from then on.",
  authScopes: ADMIN,
  input: (t) => ({ provider: t.field({ type: PaymentProviderEnum, required: true }), confirm: t.boolean({ required: true }) }),
  fields: (t) => ({
    connection: t.prismaField({
      type: "PaymentProviderConnection",
      nullable: true,
      resolve: (query, payload, _args, ctx) => {
        const result = payload.result as { id: string } | null;
        return result ? ctx.db.paymentProviderConnection.findUnique({ ...query, where: { id: result.id } }) : null;
      },
    }),
  }),
  resolve: async (input, ctx) =>
    input.confirm
      ? disconnectPaymentProvider(ctx.deps, actorOf(ctx), { provider: input.provider })
      : failed(userError("INVALID_INPUT", "confirm must be true", ["input", "confirm"])),
});
