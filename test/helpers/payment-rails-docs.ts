import { graphql } from "../../src/generated/gql/index.ts";
import { createPartnerFixture, type ProgramFixture } from "./fixtures.ts";
import { CreatePayoutDoc, payableSale, SetBillingDoc } from "./payout-docs.ts";
import type { PayPalStandIn } from "./paypal-stand-in.ts";
import type { StripeStandIn } from "./stripe-stand-in.ts";
import { dataOf, type TestApp } from "./test-app.ts";
import type { WiseStandIn } from "./wise-stand-in.ts";

export const ConnectProviderDoc = graphql(`
  mutation ConnectPaymentProvider($input: ConnectPaymentProviderInput!) {
    connectPaymentProvider(input: $input) {
      connection { provider environment status accountLabel webhookPath connectedBy connectedAt disconnectedAt }
      userErrors { code message field }
    }
  }
`);
export const DisconnectProviderDoc = graphql(`
  mutation DisconnectPaymentProvider($input: DisconnectPaymentProviderInput!) {
    disconnectPaymentProvider(input: $input) { connection { provider status disconnectedAt } userErrors { code message field } }
  }
`);
export const ProviderConnectionsDoc = graphql(`
  query PaymentProviderConnections { paymentProviderConnections { provider environment status accountLabel webhookPath } }
`);

export const AddMethodDoc = graphql(`
  mutation RailsAddMethod($input: AddPayoutMethodInput!) {
    addPayoutMethod(input: $input) { payoutMethod { id type label isDefault currency email accountName sortCode accountId maskedNumber number verificationStatus verifiedWith verifiedAt } userErrors { code message field } }
  }
`);
export const UpdateMethodDoc = graphql(`
  mutation RailsUpdateMethod($input: UpdatePayoutMethodInput!) {
    updatePayoutMethod(input: $input) { payoutMethod { id type label isDefault currency email accountName sortCode accountId maskedNumber number verificationStatus verifiedWith verifiedAt } userErrors { code message field } }
  }
`);
export const VerifyMethodDoc = graphql(`
  mutation RailsVerifyMethod($input: VerifyPayoutMethodInput!) {
    verifyPayoutMethod(input: $input) { payoutMethod { id isDefault verificationStatus verifiedWith } userErrors { code message field } }
  }
`);
export const SetDefaultDoc = graphql(`
  mutation RailsSetDefault($input: SetDefaultPayoutMethodInput!) {
    setDefaultPayoutMethod(input: $input) { payoutMethod { id isDefault } userErrors { code message field } }
  }
`);
export const PartnerMethodsDoc = graphql(`
  query RailsPartnerMethods($id: ID!) { node(id: $id) { ... on Partner { payoutMethods { id type isDefault verificationStatus verifiedWith label } } } }
`);

export interface RailStandIns {
  paypal: PayPalStandIn;
  wise: WiseStandIn;
  stripe: StripeStandIn;
}

/** The app's environment for talking to the stand-ins instead of the providers. */
export const railsEnv = (s: RailStandIns) => ({
  PAYPAL_API_URL: s.paypal.url,
  WISE_API_URL: s.wise.url,
  STRIPE_API_URL: s.stripe.url,
  WISE_WEBHOOK_PUBLIC_KEY: s.wise.webhookPublicKey,
  ACCRUE_PAYMENTS_TIMEOUT_MS: "800",
});

export const credentialsFor = (s: RailStandIns) => ({
  PAYPAL: { paypal: { clientId: s.paypal.clientId, clientSecret: s.paypal.clientSecret, webhookId: s.paypal.webhookId } },
  WISE: { wise: { apiToken: s.wise.token, profileId: s.wise.profileId } },
  STRIPE: { stripe: { secretKey: s.stripe.secretKey, webhookSecret: s.stripe.webhookSecrets[0]! } },
});

/** Connects one provider as the program's admin would; returns the connection. */
export async function connectProvider(t: TestApp, program: ProgramFixture, s: RailStandIns, provider: "PAYPAL" | "WISE" | "STRIPE") {
  const result = dataOf(
    await t.gql(ConnectProviderDoc, { input: { provider, environment: "SANDBOX", ...credentialsFor(s)[provider] } }, program.adminToken),
  ).connectPaymentProvider;
  if (!result.connection) throw new Error(`connect ${provider}: ${JSON.stringify(result.userErrors)}`);
  return result.connection;
}

/**
 * A partner named `name` with `method` as its verified default payout
 * method and US billing details, a payable sale of `sale`, and a DRAFT
 * payout of its 10%: what a payout sent through a provider starts from.
 */
export async function draftPayoutThrough(t: TestApp, program: ProgramFixture, integration: string, name: string, method: Record<string, unknown>, sale: string) {
  const partner = await createPartnerFixture(t, program, { name });
  const added = dataOf(await t.gql(AddMethodDoc, { input: { partnerId: partner.id, method: method as never, makeDefault: true } }, program.adminToken)).addPayoutMethod;
  if (added.payoutMethod?.verificationStatus !== "VERIFIED") throw new Error(`method: ${JSON.stringify(added)}`);
  const billing = dataOf(
    await t.gql(
      SetBillingDoc,
      { input: { partnerId: partner.id, profile: { entityType: "INDIVIDUAL", legalName: name, country: "US", taxForm: "W9", taxId: "123-45-6789" } } },
      program.adminToken,
    ),
  ).setBillingProfile;
  if (billing.userErrors.length) throw new Error(JSON.stringify(billing.userErrors));
  await payableSale(t, program, integration, partner.id, sale);
  const created = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: partner.id } }, program.adminToken)).createPayout;
  if (!created.payout) throw new Error(JSON.stringify(created.userErrors));
  return { partner, payout: created.payout };
}
