import { graphql } from "../../src/generated/gql/index.ts";
import type { CreateProgramInput } from "../../src/generated/gql/graphql.ts";
import { dataOf, rawId, type ApiClient } from "./test-app.ts";

export const CreateProgramDoc = graphql(`
  mutation FixtureCreateProgram($input: CreateProgramInput!) {
    createProgram(input: $input) {
      program { id name currency timeZone }
      userErrors { code message field }
    }
  }
`);

export const CreatePartnerDoc = graphql(`
  mutation FixtureCreatePartner($input: CreatePartnerInput!) {
    createPartner(input: $input) {
      partner { id name email externalId status }
      userErrors { code message field }
    }
  }
`);

export interface ProgramFixture {
  /** Global id. */
  id: string;
  rawId: string;
  currency: string;
  adminToken: string;
  financeToken: string;
  analystToken: string;
  token(role: "admin" | "finance" | "analyst"): Promise<string>;
  partnerToken(partnerGlobalId: string): Promise<string>;
  integrationToken(scopes: string[]): Promise<string>;
}

/**
 * A program with operator tokens (made through the API, as a platform
 * operator would). `platformSubject` names the operator: a test whose
 * server counts rate limits in a Redis other test files share gives one of
 * its own, since the default subject's budget there is everyone's.
 */
export async function createProgramFixture(t: ApiClient, input: Partial<CreateProgramInput> = {}, platformSubject?: string): Promise<ProgramFixture> {
  const platform = await t.token({ role: "platform", ...(platformSubject ? { subject: platformSubject } : {}) });
  const result = dataOf(
    await t.gql(
      CreateProgramDoc,
      {
        input: {
          name: "Acme Outdoor",
          currency: "USD",
          commissionRule: { type: "PERCENTAGE", percent: "10" },
          holdPeriodDays: 0,
          ...input,
        },
      },
      platform,
    ),
  ).createProgram;
  if (!result.program) throw new Error(`createProgram failed: ${JSON.stringify(result.userErrors)}`);
  const programId = rawId(result.program.id);
  const token = (role: "admin" | "finance" | "analyst") => t.token({ role, programId, subject: `${role}@acme.test` });
  return {
    id: result.program.id,
    rawId: programId,
    currency: result.program.currency,
    adminToken: await token("admin"),
    financeToken: await token("finance"),
    analystToken: await token("analyst"),
    token,
    partnerToken: (partnerGlobalId) => t.token({ role: "partner", programId, partnerId: rawId(partnerGlobalId) }),
    integrationToken: async (scopes) => {
      const { issueIntegrationTokenDoc } = await import("./integration-token.ts");
      return issueIntegrationTokenDoc(t, await token("admin"), scopes);
    },
  };
}

let partnerCounter = 0;

export async function createPartnerFixture(
  t: ApiClient,
  program: ProgramFixture,
  input: { name?: string; email?: string; externalId?: string; country?: string } = {},
): Promise<{ id: string; rawId: string; token: string; name: string }> {
  partnerCounter += 1;
  const name = input.name ?? `Partner ${partnerCounter}`;
  const result = dataOf(
    await t.gql(
      CreatePartnerDoc,
      { input: { name, email: input.email ?? `p${partnerCounter}-${Date.now()}@partners.test`, externalId: input.externalId, country: input.country } },
      program.adminToken,
    ),
  ).createPartner;
  if (!result.partner) throw new Error(`createPartner failed: ${JSON.stringify(result.userErrors)}`);
  return { id: result.partner.id, rawId: rawId(result.partner.id), token: await program.partnerToken(result.partner.id), name };
}
