import { graphql } from "../../src/generated/gql/index.ts";
import { dataOf, type ApiClient } from "./test-app.ts";
import { recordSale, ReviewDocs } from "./ledger-docs.ts";
import type { ProgramFixture } from "./fixtures.ts";

export const AddMethodDoc = graphql(`
  mutation AddMethod($input: AddPayoutMethodInput!) {
    addPayoutMethod(input: $input) { payoutMethod { id type isDefault label maskedNumber number email bic routingNumber } userErrors { code message field } }
  }
`);
export const SetBillingDoc = graphql(`
  mutation SetBilling($input: SetBillingProfileInput!) {
    setBillingProfile(input: $input) { billingProfile { legalName maskedTaxId taxId country taxForm } userErrors { code message field } }
  }
`);
export const CreatePayoutDoc = graphql(`
  mutation CreatePayout($input: CreatePayoutInput!) {
    createPayout(input: $input) {
      payout { id status amount { amount currency } lineCount lines { amount { amount } commission { id kind } } minimumOverrideReason partner { id } }
      userErrors { code message field }
    }
  }
`);
export const ApprovePayoutsDoc = graphql(`
  mutation ApprovePayouts($input: ApprovePayoutsInput!) {
    approvePayouts(input: $input) { payouts { id status approvedAt } skipped { id code message } userErrors { code message field } }
  }
`);
export const PayPayoutsDoc = graphql(`
  mutation PayPayouts($input: MarkPayoutsPaidInput!) {
    markPayoutsPaid(input: $input) {
      payouts { id status method reference paidAt lines { commission { id status paidAt } } }
      skipped { id code message }
      userErrors { code message field }
    }
  }
`);
export const CancelPayoutsDoc = graphql(`
  mutation CancelPayouts($input: CancelPayoutsInput!) {
    cancelPayouts(input: $input) { payouts { id status cancelReason } skipped { id code message } userErrors { code message field } }
  }
`);
export const RunPayoutsDoc = graphql(`
  mutation RunPayouts($input: RunPayoutsInput!) {
    runPayouts(input: $input) {
      payouts { id amount { amount } partner { id } }
      skipped { partner { id } reason message }
      userErrors { code message field }
    }
  }
`);

/** Makes a partner able to be paid: a payout method and billing details. */
export async function makePayable(t: ApiClient, program: ProgramFixture, partnerId: string): Promise<void> {
  const method = dataOf(await t.gql(AddMethodDoc, { input: { partnerId, method: { type: "PAYPAL", email: "partner@pay.example" } } }, program.adminToken)).addPayoutMethod;
  if (method.userErrors.length) throw new Error(JSON.stringify(method.userErrors));
  const billing = dataOf(
    await t.gql(
      SetBillingDoc,
      { input: { partnerId, profile: { entityType: "INDIVIDUAL", legalName: "Pat Partner", country: "US", taxForm: "W9", taxId: "123-45-6789" } } },
      program.adminToken,
    ),
  ).setBillingProfile;
  if (billing.userErrors.length) throw new Error(JSON.stringify(billing.userErrors));
}

/** An approved sale old enough to be past any hold: payable now. Returns the commission id. */
export async function payableSale(
  t: ApiClient,
  program: ProgramFixture,
  integration: string,
  partnerId: string,
  amount: string,
): Promise<{ commissionId: string; conversionId: string }> {
  const sale = await recordSale(t, integration, partnerId, { amount, occurredAt: "2025-12-01T00:00:00.000Z" });
  const approved = dataOf(await t.gql(ReviewDocs.approve, { input: { ids: [sale.commissionId] } }, program.adminToken)).approveCommissions;
  if (approved.commissions.length !== 1) throw new Error(JSON.stringify(approved));
  return { commissionId: sale.commissionId, conversionId: sale.conversionId };
}
