import { randomUUID } from "node:crypto";
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { buildSchema } from "../../src/graphql/schema.ts";
import { costWeightsFor } from "../../src/limits/field-cost.ts";
import { operationCost } from "../../src/limits/operation-cost.ts";
import { createMigratedPostgresDatabase } from "../helpers/database-templates.ts";
import { hasPostgres, hasRedis, type ScratchDatabase } from "../helpers/databases.ts";
import { createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { startTestApp, type GraphQLResponse, type TestApp } from "../helpers/test-app.ts";

const CreatePartnerDoc = graphql(`
  mutation RateCreatePartner($input: CreatePartnerInput!) { createPartner(input: $input) { partner { id } userErrors { code } } }
`);

const PAGE = "{ partners(first: 50) { edges { node { id name } } } }";
/** What the page costs on the database a test app runs on. */
const costOfPage = (database: "pglite" | "postgres") => {
  const measured = operationCost(buildSchema(), parse(PAGE), undefined, {}, costWeightsFor(database));
  if ("errors" in measured) throw new Error("cannot cost the page");
  return measured.cost;
};

const codeOf = (response: GraphQLResponse<unknown>) => response.errors?.[0]?.extensions?.code;

async function postWithHeaders(url: string, token: string, query: string) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, retryAfter: response.headers.get("retry-after"), body: (await response.json()) as GraphQLResponse<unknown> };
}

/**
 * Per-token budgets: mutations by count (each root field one), queries by
 * their cost. Spent, a request is THROTTLED (429, Retry-After) and changes
 * nothing; other tokens are not affected.
 */
describe("rate limits in one instance (no Redis)", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  const pageCost = costOfPage("pglite");
  beforeAll(async () => {
    t = await startTestApp("pglite", {
      env: { ACCRUE_RATE_LIMIT_MUTATIONS_PER_MINUTE: "3", ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE: String(4 * pageCost), ACCRUE_MAX_QUERY_COST: String(4 * pageCost) },
    });
    acme = await createProgramFixture(t);
  });
  afterAll(() => t?.stop());

  const partners = () => t.app.db.prisma.partner.count();

  it("throttles a token's fourth mutation of the minute, changing nothing, and leaves other tokens alone", async () => {
    const admin = await acme.token("admin");
    for (let i = 0; i < 3; i += 1) {
      const response = await t.gql(CreatePartnerDoc, { input: { name: `Allowed ${i}` } }, admin);
      expect(response.data?.createPartner.partner).toBeTruthy();
    }
    const before = await partners();
    const refused = await postWithHeaders(t.url, admin, `mutation { createPartner(input: { name: "One too many" }) { partner { id } } }`);
    expect(refused.status).toBe(429);
    expect(codeOf(refused.body)).toBe("THROTTLED");
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(refused.body.errors![0]!.extensions!.retryAfterSeconds).toBe(Number(refused.retryAfter));
    expect(await partners()).toBe(before);
    // Another person's token has its own budget.
    const other = await t.token({ role: "admin", programId: acme.rawId, subject: "someone-else@acme.test" });
    expect((await t.gql(CreatePartnerDoc, { input: { name: "Someone else's" } }, other)).data?.createPartner.partner).toBeTruthy();
  });

  it("counts each aliased mutation: four in one request are refused whole", async () => {
    const fresh = await t.token({ role: "admin", programId: acme.rawId, subject: "aliases@acme.test" });
    const before = await partners();
    const query = `mutation { ${Array.from({ length: 4 }, (_, i) => `m${i}: createPartner(input: { name: "Alias ${i}" }) { partner { id } }`).join(" ")} }`;
    const response = await t.raw({ query }, fresh);
    expect(codeOf(response)).toBe("THROTTLED");
    expect(await partners()).toBe(before);
  });

  it("spends a query's cost: a token may run four pages a minute here, not five", async () => {
    const analyst = await acme.token("analyst");
    for (let i = 0; i < 4; i += 1) expect((await t.raw({ query: PAGE }, analyst)).errors).toBeUndefined();
    const refused = await postWithHeaders(t.url, analyst, PAGE);
    expect(refused.status).toBe(429);
    expect(codeOf(refused.body)).toBe("THROTTLED");
  });
});

describe.runIf(hasPostgres && hasRedis)("rate limits across two instances on one Redis", () => {
  let database: ScratchDatabase;
  let a: TestApp;
  let b: TestApp;
  let acme: ProgramFixture;
  const pageCost = costOfPage("postgres");
  beforeAll(async () => {
    database = await createMigratedPostgresDatabase();
    const env = {
      REDIS_URL: process.env.REDIS_URL!,
      ACCRUE_RATE_LIMIT_MUTATIONS_PER_MINUTE: "4",
      ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE: String(4 * pageCost),
      ACCRUE_MAX_QUERY_COST: String(4 * pageCost),
    };
    a = await startTestApp("postgres", { databaseUrl: database.url, env });
    b = await startTestApp("postgres", { databaseUrl: database.url, env });
    // Other test files' servers count in the same Redis (the feed's tests): a platform subject of this run's own.
    acme = await createProgramFixture(a, {}, `rate-limits-${randomUUID()}`);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await database?.drop();
  });

  it("holds a token's mutation budget whichever instance it asks", async () => {
    const admin = await a.token({ role: "admin", programId: acme.rawId, subject: "shared@acme.test" });
    for (const [i, instance] of [a, b, a, b].entries()) {
      const response = await instance.gql(CreatePartnerDoc, { input: { name: `Across ${i}` } }, admin);
      expect(response.data?.createPartner.partner, JSON.stringify(response.errors)).toBeTruthy();
    }
    const before = await a.app.db.prisma.partner.count();
    for (const instance of [a, b]) {
      const refused = await postWithHeaders(instance.url, admin, `mutation { createPartner(input: { name: "Fifth" }) { partner { id } } }`);
      expect(refused.status).toBe(429);
      expect(codeOf(refused.body)).toBe("THROTTLED");
    }
    expect(await a.app.db.prisma.partner.count()).toBe(before);
  });

  it("holds a token's query cost budget across instances", async () => {
    const analyst = await a.token({ role: "analyst", programId: acme.rawId, subject: "reader@acme.test" });
    for (const instance of [a, b, b, a]) expect((await instance.raw({ query: PAGE }, analyst)).errors).toBeUndefined();
    expect(codeOf(await b.raw({ query: PAGE }, analyst))).toBe("THROTTLED");
    expect(codeOf(await a.raw({ query: PAGE }, analyst))).toBe("THROTTLED");
  });
});
