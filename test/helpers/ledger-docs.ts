import { graphql } from "../../src/generated/gql/index.ts";
import type { ConversionInput } from "../../src/generated/gql/graphql.ts";
import { dataOf, type ApiClient } from "./test-app.ts";

export const RecordConversionDoc = graphql(`
  mutation RecordConversion($input: RecordConversionInput!) {
    recordConversion(input: $input) {
      created
      conversion {
        id externalId amount { amount currency } programAmount { amount currency } exchangeRate
        commissions { id kind status amount { amount currency } payableAt tierSequence partnerId }
      }
      userErrors { code message field }
    }
  }
`);

export const RecordConversionsDoc = graphql(`
  mutation RecordConversions($input: RecordConversionsInput!) {
    recordConversions(input: $input) {
      createdCount
      conversions { id externalId commissions { id amount { amount } tierSequence } }
      userErrors { code message field }
    }
  }
`);

export const BalanceDoc = graphql(`
  query PartnerBalance($id: ID!) {
    partner(id: $id) {
      balance {
        pending { amount } payable { amount } inPayouts { amount } paid { amount } lifetimeEarned { amount } recoverable { amount }
      }
    }
  }
`);

export const ReviewDocs = {
  approve: graphql(`
    mutation Approve($input: ApproveCommissionsInput!) {
      approveCommissions(input: $input) { commissions { id status } skipped { id code message } userErrors { code message field } }
    }
  `),
  hold: graphql(`
    mutation Hold($input: HoldCommissionsInput!) {
      holdCommissions(input: $input) { commissions { id status statusReason heldFromStatus } skipped { id code message } userErrors { code message field } }
    }
  `),
  release: graphql(`
    mutation Release($input: ReleaseCommissionsInput!) {
      releaseCommissions(input: $input) { commissions { id status } skipped { id code message } userErrors { code message field } }
    }
  `),
  cancel: graphql(`
    mutation Cancel($input: CancelCommissionsInput!) {
      cancelCommissions(input: $input) { commissions { id status statusReason } skipped { id code message } userErrors { code message field } }
    }
  `),
  reinstate: graphql(`
    mutation Reinstate($input: ReinstateCommissionsInput!) {
      reinstateCommissions(input: $input) { commissions { id status } skipped { id code message } userErrors { code message field } }
    }
  `),
};

export const ReverseDoc = graphql(`
  mutation Reverse($input: ReverseConversionInput!) {
    reverseConversion(input: $input) {
      reversal { id refundId amount { amount currency } kind commissions { id kind status amount { amount } } conversion { reversedAmount { amount } commissions { id status amount { amount } } } }
      userErrors { code message field }
    }
  }
`);

export const ReconcileDoc = graphql(`
  query Reconcile { reconcileBalances { ok checkedPartners mismatches { bucket projected computed partner { id } } } }
`);

let sale = 0;

/** Records one sale for a partner and returns its conversion and first commission line. */
export async function recordSale(
  t: ApiClient,
  token: string,
  partnerId: string,
  input: Partial<ConversionInput> = {},
): Promise<{ conversionId: string; externalId: string; commissionId: string; amount: string }> {
  sale += 1;
  const externalId = input.externalId ?? `sale-${Date.now()}-${sale}`;
  const result = dataOf(
    await t.gql(
      RecordConversionDoc,
      {
        input: {
          externalId,
          partners: [{ id: partnerId }],
          amount: "100.00",
          currency: "USD",
          occurredAt: t.clock.now().toISOString(),
          ...input,
        },
      },
      token,
    ),
  ).recordConversion;
  if (!result.conversion) throw new Error(`recordConversion failed: ${JSON.stringify(result.userErrors)}`);
  const line = result.conversion.commissions[0]!;
  return { conversionId: result.conversion.id, externalId, commissionId: line.id, amount: line.amount.amount };
}

export async function balanceOf(t: ApiClient, token: string, partnerId: string) {
  const balance = dataOf(await t.gql(BalanceDoc, { id: partnerId }, token)).partner?.balance;
  if (!balance) throw new Error("no balance");
  return {
    pending: balance.pending.amount,
    payable: balance.payable.amount,
    inPayouts: balance.inPayouts.amount,
    paid: balance.paid.amount,
    lifetimeEarned: balance.lifetimeEarned.amount,
    recoverable: balance.recoverable.amount,
  };
}

export async function expectReconciled(t: ApiClient, adminToken: string): Promise<void> {
  const report = dataOf(await t.gql(ReconcileDoc, {}, adminToken)).reconcileBalances;
  if (!report.ok) throw new Error(`balances do not reconcile: ${JSON.stringify(report.mismatches)}`);
}
