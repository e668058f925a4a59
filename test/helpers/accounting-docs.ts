import { graphql } from "../../src/generated/gql/index.ts";
import { dataOf, type TestApp } from "./test-app.ts";
import type { ProgramFixture } from "./fixtures.ts";
import type { StandIn } from "./quickbooks-stand-in.ts";

export const ConnectDoc = graphql(`
  mutation ConnectQuickBooks($input: ConnectQuickBooksInput!) {
    connectQuickBooks(input: $input) { authorization { authorizeUrl } userErrors { code message field } }
  }
`);
export const ConnectionDoc = graphql(`
  query AccountingConnection { accountingConnection { provider status realmId expenseAccountId bankAccountId connectedAt changesCheckedAt } }
`);
export const PayoutSyncDoc = graphql(`
  query PayoutSync($id: ID!) { payout(id: $id) { id status accountingSyncStatus accountingSyncError accountingBillId method reference paidAt partner { accountingVendorId } } }
`);

/** Connects the program to the stand-in, the way an admin would (consent screen simulated). */
export async function connectQuickBooks(t: TestApp, program: ProgramFixture, standIn: StandIn, accounts = { expenseAccountId: "62", bankAccountId: "35" }): Promise<void> {
  const started = dataOf(await t.gql(ConnectDoc, { input: accounts }, program.adminToken)).connectQuickBooks;
  if (!started.authorization) throw new Error(JSON.stringify(started.userErrors));
  const state = new URL(started.authorization.authorizeUrl).searchParams.get("state")!;
  const callback = await fetch(`${t.url}/integrations/quickbooks/callback?${new URLSearchParams({ code: standIn.issueCode(), state, realmId: standIn.realmId })}`);
  if (callback.status !== 200) throw new Error(`callback: ${callback.status} ${await callback.text()}`);
}
