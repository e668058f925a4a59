import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { IssueIntegrationTokenDoc } from "../helpers/integration-token.ts";
import { recordSale } from "../helpers/ledger-docs.ts";
import { AddMethodDoc } from "../helpers/payout-docs.ts";
import { dataOf, startTestApp, TEST_JWT_SECRET, type TestApp } from "../helpers/test-app.ts";

const ViewerDoc = graphql(`
  query Viewer {
    viewer { role subject scopes program { id name } partner { id } }
  }
`);

const RevokeDoc = graphql(`
  mutation RevokeIntegrationToken($input: RevokeIntegrationTokenInput!) {
    revokeIntegrationToken(input: $input) { integrationToken { id revokedAt } userErrors { code message } }
  }
`);

const NodeDoc = graphql(`query ScopedNode($id: ID!) { node(id: $id) { id } }`);
const CommissionOfDoc = graphql(`query ScopedCommission($id: ID!) { node(id: $id) { ... on Commission { id partnerId } } }`);
const CommissionPartnerDoc = graphql(`query ScopedCommissionPartner($id: ID!) { node(id: $id) { ... on Commission { id partner { id name email } } } }`);
const PartnerCommissionsDoc = graphql(
  `query ScopedPartnerLines($id: ID!) { node(id: $id) { ... on Partner { id commissions(first: 10) { edges { node { id amount { amount } } } } } } }`,
);
const PartnerNameDoc = graphql(`query ScopedPartnerName($id: ID!) { node(id: $id) { ... on Partner { id name email } } }`);
const ProgramsPartnersDoc = graphql(`query ScopedPartnersList { partners(first: 5) { totalCount } }`);

const ProgramsDoc = graphql(`
  query Programs { programs(first: 5) { totalCount edges { node { id name } } } }
`);

function sign(payload: Record<string, unknown>, options: { secret?: string; iss?: string; aud?: string; exp?: number; header?: Record<string, unknown> } = {}) {
  const now = Math.floor(new Date("2026-03-10T12:00:00Z").getTime() / 1000);
  return new SignJWT(payload)
    .setProtectedHeader({ ...options.header, alg: "HS256" })
    .setIssuer(options.iss ?? "accrue")
    .setAudience(options.aud ?? "accrue")
    .setIssuedAt(now)
    .setExpirationTime(options.exp ?? now + 3600)
    .setSubject("someone")
    .sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}

describe("authentication and roles", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  beforeAll(async () => {
    t = await startTestApp("pglite");
    acme = await createProgramFixture(t);
  });
  afterAll(() => t?.stop());

  it("answers 401 UNAUTHENTICATED without a token, and does not run the field", async () => {
    const response = await t.gql(ViewerDoc, {});
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });

  it.each([
    ["a token signed with another secret", () => sign({ role: "platform" }, { secret: "another-secret-another-secret-another!!" })],
    ["an expired token", () => sign({ role: "platform" }, { exp: Math.floor(new Date("2026-03-10T11:00:00Z").getTime() / 1000) })],
    ["a token from another issuer", () => sign({ role: "platform" }, { iss: "evil" })],
    ["a token for another audience", () => sign({ role: "platform" }, { aud: "elsewhere" })],
    ["a token with an unknown role", () => sign({ role: "superuser" })],
    ["a program role without program_id", () => sign({ role: "admin" })],
    ["a partner token without partner_id", () => sign({ role: "partner", program_id: "0190d4a0-0000-7000-8000-000000000000" })],
    [
      "an alg:none token",
      async () => {
        const header = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
        const body = Buffer.from(JSON.stringify({ role: "platform", sub: "x", iss: "accrue", aud: "accrue", exp: 4102444800 })).toString("base64url");
        return `${header}.${body}.`;
      },
    ],
    [
      "a tampered token",
      async () => {
        const [header, , signature] = (await sign({ role: "analyst", program_id: "0190d4a0-0000-7000-8000-000000000000" })).split(".");
        const body = Buffer.from(JSON.stringify({ role: "platform", sub: "x", iss: "accrue", aud: "accrue", exp: 4102444800 })).toString("base64url");
        return `${header}.${body}.${signature}`;
      },
    ],
    ["garbage", async () => "not.a.jwt"],
    ["a token whose header asks for an extension", () => sign({ role: "platform" }, { header: { crit: ["b64"], b64: true } })],
    ["a token whose signature is padded", async () => `${await sign({ role: "platform" })}=`],
  ])("refuses %s with 401 and no stack trace", async (_name, make) => {
    const response = await t.gql(ViewerDoc, {}, await make());
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(JSON.stringify(response)).not.toMatch(/\bat \w|node_modules|\.ts:\d/);
    expect(response.data ?? null).toBeNull();
  });

  it("refuses a malformed Authorization header", async () => {
    const response = await t.raw({ query: "{ viewer { role } }" }, null, { authorization: "Basic abc" });
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("accepts a tolerable clock skew but not more", async () => {
    const now = Math.floor(t.clock.now().getTime() / 1000);
    expect((await t.gql(ViewerDoc, {}, await sign({ role: "platform" }, { exp: now - 3 }))).status).toBe(200);
    expect((await t.gql(ViewerDoc, {}, await sign({ role: "platform" }, { exp: now - 30 }))).status).toBe(401);
  });

  it("tells each role who it is, and keeps program roles out of platform fields", async () => {
    const viewer = dataOf(await t.gql(ViewerDoc, {}, acme.financeToken)).viewer;
    expect(viewer).toMatchObject({ role: "FINANCE", subject: "finance@acme.test", program: { id: acme.id }, partner: null });
    const programs = await t.gql(ProgramsDoc, {}, acme.adminToken);
    expect(programs.status).toBe(200);
    expect(programs.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const platform = dataOf(await t.gql(ProgramsDoc, {}, await t.token({ role: "platform" }))).programs;
    expect(platform.edges.map((e) => e.node.id)).toContain(acme.id);
  });

  it("issues integration tokens with scopes, and revocation takes effect at once", async () => {
    const issued = dataOf(await t.gql(IssueIntegrationTokenDoc, { input: { name: "tracker", scopes: ["CONVERSIONS_WRITE", "PARTNERS_READ"] } }, acme.adminToken))
      .issueIntegrationToken.issued!;
    const viewer = dataOf(await t.gql(ViewerDoc, {}, issued.token)).viewer;
    expect(viewer.role).toBe("INTEGRATION");
    expect([...viewer.scopes].sort()).toEqual(["CONVERSIONS_WRITE", "PARTNERS_READ"]);

    // finance may not issue or revoke tokens
    const byFinance = await t.gql(RevokeDoc, { input: { id: issued.integrationToken.id } }, acme.financeToken);
    expect(byFinance.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

    const revoked = dataOf(await t.gql(RevokeDoc, { input: { id: issued.integrationToken.id } }, acme.adminToken)).revokeIntegrationToken;
    expect(revoked.integrationToken?.revokedAt).toBeTruthy();
    const after = await t.gql(ViewerDoc, {}, issued.token);
    expect(after.status).toBe(401);
    expect(after.errors?.[0]?.message).toMatch(/revoked/);
  });

  it("lets an integration token see only the records its scopes read, whatever path it takes", async () => {
    const p = await createPartnerFixture(t, acme, { email: "scoped@example.com" });
    const method = dataOf(
      await t.gql(
        AddMethodDoc,
        { input: { partnerId: p.id, method: { type: "ACH", accountName: "Scoped LLC", routingNumber: "011000015", accountNumber: "123456789", accountType: "CHECKING" } } },
        p.token,
      ),
    ).addPayoutMethod;
    expect(method.userErrors).toEqual([]);
    const writer = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    const sale = await recordSale(t, writer, p.id, { amount: "100.00" });

    // Posting a sale shows its commissions and whose they are (recordSale read them from
    // the payload), but neither the lines afterwards, through node, nor the partner's record.
    expect(sale.commissionId).toBeTruthy();
    const forbidden = (response: { errors?: readonly { extensions?: Record<string, unknown> }[] }) => response.errors?.map((e) => e.extensions?.code);
    for (const id of [p.id, method.payoutMethod!.id, sale.commissionId]) {
      const byNode = await t.gql(NodeDoc, { id }, writer);
      expect(byNode.data?.node ?? null).toBeNull();
      expect(forbidden(byNode)).toEqual(["FORBIDDEN"]);
    }
    const viaCommission = await t.gql(CommissionPartnerDoc, { id: sale.commissionId }, writer);
    expect(forbidden(viaCommission)).toContain("FORBIDDEN");
    expect(JSON.stringify(viaCommission.data)).not.toContain("scoped@example.com");

    // partners:read does not reach commission lines through a partner; commissions:read does not reach the partner's record.
    const partnerReader = await acme.integrationToken(["PARTNERS_READ"]);
    const lines = await t.gql(PartnerCommissionsDoc, { id: p.id }, partnerReader);
    expect(forbidden(lines)).toContain("FORBIDDEN");
    expect(dataOf(await t.gql(PartnerNameDoc, { id: p.id }, partnerReader)).node).toMatchObject({ email: "scoped@example.com" });
    const commissionReader = await acme.integrationToken(["COMMISSIONS_READ"]);
    expect(dataOf(await t.gql(CommissionOfDoc, { id: sale.commissionId }, commissionReader)).node).toMatchObject({ partnerId: p.id });
    const partnerOfLine = await t.gql(CommissionPartnerDoc, { id: sale.commissionId }, commissionReader);
    expect(forbidden(partnerOfLine)).toContain("FORBIDDEN");
    expect(JSON.stringify(partnerOfLine.data)).not.toContain("scoped@example.com");
  });

  it("bounds an integration token's scopes by those issued, whatever its claims say", async () => {
    const issued = dataOf(await t.gql(IssueIntegrationTokenDoc, { input: { name: "narrow", scopes: ["CONVERSIONS_WRITE"] } }, acme.adminToken)).issueIntegrationToken.issued!;
    const tokenId = Buffer.from(issued.integrationToken.id, "base64").toString().split(":")[1]!;
    const widened = await t.token({ role: "integration", programId: acme.rawId, tokenId, scopes: ["conversions:write", "partners:read", "payouts:write"] });
    expect(dataOf(await t.gql(ViewerDoc, {}, widened)).viewer.scopes).toEqual(["CONVERSIONS_WRITE"]);
    expect((await t.gql(ProgramsPartnersDoc, {}, widened)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("refuses an integration token whose jti names no issued token", async () => {
    const forged = await t.token({ role: "integration", programId: acme.rawId, scopes: ["partners:read"], tokenId: "0190d4a0-0000-7000-8000-000000000001" });
    const response = await t.gql(ViewerDoc, {}, forged);
    expect(response.status).toBe(401);
  });

  it("refuses unknown scopes in issueIntegrationToken with a GraphQL error, and a bad expiry as a user error", async () => {
    const response = await t.raw({ query: 'mutation { issueIntegrationToken(input: { name: "x", scopes: [EVERYTHING] }) { issued { token } } }' }, acme.adminToken);
    expect(response.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const tooLong = dataOf(await t.gql(IssueIntegrationTokenDoc, { input: { name: "x", scopes: ["PARTNERS_READ"], expiresInDays: 99999 } }, acme.adminToken)).issueIntegrationToken;
    expect(tooLong.userErrors).toEqual([expect.objectContaining({ code: "INVALID_INPUT", field: ["input", "expiresInDays"] })]);
  });
});

describe("tokens from an identity provider (JWKS)", () => {
  let jwks: Server;
  let t: TestApp;
  let privateKey: CryptoKey;
  let otherKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair("ES256");
    privateKey = pair.privateKey;
    otherKey = (await generateKeyPair("ES256")).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    jwks = createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
    const port = (jwks.address() as AddressInfo).port;
    t = await startTestApp("pglite", { env: { ACCRUE_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`, ACCRUE_JWT_ISSUER: "https://idp.test/" } });
  });
  afterAll(async () => {
    await t?.stop();
    jwks?.close();
  });

  const idpToken = (key: CryptoKey, alg = "ES256") =>
    new SignJWT({ role: "platform" })
      .setProtectedHeader({ alg, kid: "k1" })
      .setIssuer("https://idp.test/")
      .setAudience("accrue")
      .setSubject("ops@brand.test")
      .setIssuedAt(Math.floor(t.clock.now().getTime() / 1000))
      .setExpirationTime(Math.floor(t.clock.now().getTime() / 1000) + 600)
      .sign(key);

  it("accepts an ES256 token signed by a key in the set", async () => {
    const viewer = dataOf(await t.gql(ViewerDoc, {}, await idpToken(privateKey))).viewer;
    expect(viewer).toMatchObject({ role: "PLATFORM", subject: "ops@brand.test" });
  });

  it("refuses a token signed by a key not in the set", async () => {
    expect((await t.gql(ViewerDoc, {}, await idpToken(otherKey))).status).toBe(401);
  });
});
