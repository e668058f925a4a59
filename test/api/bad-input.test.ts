import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { startTestApp, type TestApp } from "../helpers/test-app.ts";

/** Malformed requests get a clear error with a code, never a stack trace or SQL. */
describe("malformed requests", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  beforeAll(async () => {
    t = await startTestApp("pglite", { env: { ACCRUE_MAX_QUERY_COST: "5000", ACCRUE_MAX_QUERY_DEPTH: "5" } });
    acme = await createProgramFixture(t);
  });
  afterAll(() => t?.stop());

  const noLeak = (body: unknown) => {
    const text = JSON.stringify(body);
    expect(text).not.toMatch(/node_modules|\.ts:\d+|\bat [\w.]+ \(|SELECT |INSERT |prisma/i);
  };

  it.each([
    ["a syntax error", { query: "{ viewer { role " }, "GRAPHQL_PARSE_FAILED"],
    ["an unknown field", { query: "{ viewer { role password } }" }, "GRAPHQL_VALIDATION_FAILED"],
    ["a wrong argument type", { query: '{ partners(first: "ten") { totalCount } }' }, "GRAPHQL_VALIDATION_FAILED"],
    ["a wrong variable type", { query: "query($n: Int) { partners(first: $n) { totalCount } }", variables: { n: "ten" } }, "BAD_USER_INPUT"],
    ["a number for a Decimal", { query: "mutation { updateProgramSettings(input: { minimumPayout: 10.5 }) { userErrors { code } } }" }, "BAD_USER_INPUT"],
    ["a Decimal variable sent as a number", { query: "mutation($m: Decimal) { updateProgramSettings(input: { minimumPayout: $m }) { userErrors { code } } }", variables: { m: 10.5 } }, "BAD_USER_INPUT"],
    ["a malformed global id", { query: '{ partner(id: "not-an-id") { id } }' }, "BAD_USER_INPUT"],
    ["a global id of another type", { query: `{ partner(id: "${Buffer.from("Program:0190d4a0-0000-7000-8000-000000000000").toString("base64")}") { id } }` }, "BAD_USER_INPUT"],
  ])("answers %s with a code", async (_name, body, code) => {
    const response = await t.raw(body, acme.adminToken);
    noLeak(response);
    expect(response.errors?.[0]?.extensions?.code).toBe(code);
  });

  it("refuses depth beyond the limit (5 in this test)", async () => {
    const deep = "{ partners { edges { node { commissionRuleOverride { tiers { upTo } } } } } }";
    const response = await t.raw({ query: deep }, acme.adminToken);
    noLeak(response);
    expect(response.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(response.errors?.[0]?.message).toMatch(/depth/i);
    const shallow = "{ partners { edges { node { commissionRuleOverride { type } } } } }";
    expect((await t.raw({ query: shallow }, acme.adminToken)).errors).toBeUndefined();
  });

  it("refuses a body that is not JSON", async () => {
    const response = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${acme.adminToken}` },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    const body = await response.json();
    noLeak(body);
  });

  it("refuses a query whose page sizes multiply past the cost limit", async () => {
    const fields = Array.from({ length: 20 }, (_, i) => `p${i}: partners(first: 100) { edges { node { id name email externalId status } } }`).join(" ");
    const response = await t.raw({ query: `{ ${fields} }` }, acme.adminToken);
    noLeak(response);
    expect(response.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COMPLEX");
    // The same shape with small pages is cheap enough.
    const small = await t.raw({ query: `{ ${fields.replaceAll("first: 100", "first: 5")} }` }, acme.adminToken);
    expect(small.errors).toBeUndefined();
  });
});
