import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { recordSale } from "../helpers/ledger-docs.ts";
import { CreatePayoutDoc, makePayable, payableSale } from "../helpers/payout-docs.ts";
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

const PartnersWithLinesDoc = graphql(`
  query PartnersWithLines($first: Int!) {
    partners(first: $first) {
      edges {
        node {
          id name
          balance { payable { amount } pending { amount } }
          commissions(first: 5) {
            totalCount
            edges { node { id amount { amount } status conversion { externalId programAmount { amount } } corrections { id } } }
          }
        }
      }
    }
  }
`);

const ConversionsWithLinesDoc = graphql(`
  query ConversionsWithLines($first: Int!) {
    conversions(first: $first) {
      edges { node { id externalId reversals { refundId } commissions { id isPayable partner { id name } related { id } } } }
    }
  }
`);

const CommissionsWithParentsDoc = graphql(`
  query CommissionsWithParents($first: Int!) {
    commissions(first: $first) {
      totalCount
      edges { node { id partner { name balance { payable { amount } } } conversion { externalId commissions { id } } } }
    }
  }
`);

const PayoutsWithLinesDoc = graphql(`
  query PayoutsWithLines($first: Int!) {
    payouts(first: $first) {
      totalCount
      edges { node { id amount { amount } lineCount partner { name payoutMethods { label } billingProfile { legalName } balance { payoutBlockers } } lines { amount { amount } commission { id status conversion { externalId } } } } }
    }
    pendingPayouts(first: $first) { edges { node { partner { id } payableCommissionCount payableRevenue { amount } lastPaidAt payoutBlockers } } }
  }
`);

describe("statements per request", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  beforeAll(async () => {
    // This file counts statements; the cost limit is query-cost.test.ts's (a page of payouts with their lines is over it).
    // The count is the app's: with the scheduler off, nothing but this file's
    // requests (sent one at a time, no feed open) sends a statement, so a
    // difference is one request's statements and never a background task's.
    t = await startTestApp("pglite", {
      countStatements: true,
      env: { ACCRUE_SCHEDULER: "0", ACCRUE_MAX_QUERY_COST: "10000000", ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE: "10000000000" },
    });
    acme = await createProgramFixture(t);
    const integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    for (let i = 0; i < 25; i += 1) {
      const partner = await createPartnerFixture(t, acme);
      for (let j = 0; j < 6; j += 1) await recordSale(t, integration, partner.id, { amount: `${10 + j}.00` });
      await makePayable(t, acme, partner.id);
      for (let j = 0; j < 2; j += 1) await payableSale(t, acme, integration, partner.id, "100.00");
      if (i % 2 === 0) await t.gql(CreatePayoutDoc, { input: { partnerId: partner.id } }, acme.adminToken);
      if (i % 2 === 1) await payableSale(t, acme, integration, partner.id, "50.00");
    }
  }, 180_000);
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

  it.each([
    ["partners → balance, commissions → conversion, corrections", PartnersWithLinesDoc, "partners"],
    ["conversions → reversals, commissions → partner, related", ConversionsWithLinesDoc, "conversions"],
    ["commissions → partner → balance, conversion → commissions", CommissionsWithParentsDoc, "commissions"],
    ["payouts → partner → methods, billing, blockers; lines → commission → conversion; pending payouts", PayoutsWithLinesDoc, "payouts"],
  ] as const)("%s: constant in the page size", async (_name, document, field) => {
    const count = (first: number) =>
      statementsFor(async () => {
        const data = dataOf(await t.gql(document as typeof PartnersWithLinesDoc, { first }, acme.adminToken)) as Record<string, { edges: unknown[] }>;
        expect(data[field]!.edges).toHaveLength(first);
      });
    const small = await count(2);
    const large = await count(field === "payouts" ? 12 : 20);
    expect(large).toBe(small);
    expect(small).toBeLessThanOrEqual(field === "payouts" ? 24 : 6);
  });
});
