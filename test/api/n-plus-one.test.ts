import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

/**
 * Lists are never N+1: the SQL statements a request sends do not grow with
 * the page size. Counted with Prisma's query events on the real server.
 */
const PartnersNestedDoc = graphql(`
  query PartnersNested($first: Int!) {
    partners(first: $first) {
      totalCount
      edges {
        node {
          id name status
          commissionRuleOverride { type percent tiers { upTo percent } }
        }
      }
    }
  }
`);

describe("statements per request", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  beforeAll(async () => {
    t = await startTestApp("pglite", { countStatements: true });
    acme = await createProgramFixture(t);
    for (let i = 0; i < 25; i += 1) await createPartnerFixture(t, acme);
  });
  afterAll(() => t?.stop());

  async function statementsFor<T, V>(run: () => Promise<T>): Promise<number> {
    const before = t.app.db.statements.count;
    await run();
    return t.app.db.statements.count - before;
  }

  it("lists partners with nested fields in the same number of statements for 2 or 25 rows", async () => {
    const small = await statementsFor(async () => dataOf(await t.gql(PartnersNestedDoc, { first: 2 }, acme.adminToken)));
    const large = await statementsFor(async () => {
      const data = dataOf(await t.gql(PartnersNestedDoc, { first: 25 }, acme.adminToken));
      expect(data.partners.edges).toHaveLength(25);
    });
    expect(large).toBe(small);
    expect(small).toBeLessThanOrEqual(3);
  });
});
