import { graphql } from "../../src/generated/gql/index.ts";
import type { IntegrationScope } from "../../src/generated/gql/graphql.ts";
import { dataOf, type ApiClient } from "./test-app.ts";

export const IssueIntegrationTokenDoc = graphql(`
  mutation IssueIntegrationToken($input: IssueIntegrationTokenInput!) {
    issueIntegrationToken(input: $input) {
      issued { token integrationToken { id name scopes expiresAt revokedAt } }
      userErrors { code message field }
    }
  }
`);

export async function issueIntegrationTokenDoc(t: ApiClient, adminToken: string, scopes: string[]): Promise<string> {
  const result = dataOf(await t.gql(IssueIntegrationTokenDoc, { input: { name: "test integration", scopes: scopes as IntegrationScope[] } }, adminToken)).issueIntegrationToken;
  if (!result.issued) throw new Error(`issueIntegrationToken failed: ${JSON.stringify(result.userErrors)}`);
  return result.issued.token;
}
