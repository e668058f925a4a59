import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { hasPostgres } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { balanceOf, expectReconciled, RecordConversionDoc, recordSale, ReverseDoc, ReviewDocs } from "../helpers/ledger-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const LinesDoc = graphql(`
  query RaceLines($filter: CommissionFilter) { commissions(filter: $filter, first: 100) { totalCount edges { node { id kind status amount { amount } tierSequence } } } }
`);
const ConversionCountDoc = graphql(`query RaceConversionCount { conversions { totalCount } }`);

/** Races need real connections: PostgreSQL only (the embedded database runs one transaction at a time). */
describe.runIf(hasPostgres)("races on PostgreSQL", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  let integration: string;

  beforeAll(async () => {
    t = await startTestApp("postgres", { env: { DATABASE_POOL_SIZE: "20" } });
    acme = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" } });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
  });
  afterAll(() => t?.stop());

  it("50 concurrent posts of one conversion id make one conversion, and all get its result", async () => {
    const p = await createPartnerFixture(t, acme);
    const input = { externalId: "race-1", partners: [{ id: p.id }], amount: "123.45", currency: "USD", occurredAt: "2026-03-01T00:00:00.000Z" };
    const results = await Promise.all(Array.from({ length: 50 }, () => t.gql(RecordConversionDoc, { input }, integration)));
    const payloads = results.map((r) => dataOf(r).recordConversion);
    expect(payloads.every((p) => p.userErrors.length === 0)).toBe(true);
    expect(new Set(payloads.map((p) => p.conversion?.id)).size).toBe(1);
    expect(payloads.filter((p) => p.created).length).toBe(1);
    expect(dataOf(await t.gql(ConversionCountDoc, {}, acme.adminToken)).conversions.totalCount).toBe(1);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "12.35", lifetimeEarned: "12.35" });
    await expectReconciled(t, acme.adminToken);
  });

  it("a reversal racing an approval leaves one consistent outcome", async () => {
    for (let round = 0; round < 10; round += 1) {
      const p = await createPartnerFixture(t, acme);
      const sale = await recordSale(t, integration, p.id, { amount: "100.00", occurredAt: "2026-01-01T00:00:00.000Z" });
      const [approve, reverse] = await Promise.all([
        t.gql(ReviewDocs.approve, { input: { ids: [sale.commissionId] } }, acme.adminToken),
        t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: `race-r-${round}` } }, integration),
      ]);
      expect(dataOf(reverse).reverseConversion.userErrors).toEqual([]);
      const approved = dataOf(approve).approveCommissions;
      const line = dataOf(await t.gql(LinesDoc, { filter: { partnerId: p.id } }, acme.adminToken)).commissions.edges[0]!.node;
      // Whichever ran first, the refund wins: the line ends REVERSED and counts nowhere.
      expect(line.status).toBe("REVERSED");
      if (approved.commissions.length === 0) expect(approved.skipped[0]?.code).toBe("INVALID_TRANSITION");
      expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "0.00", payable: "0.00", lifetimeEarned: "0.00" });
    }
    await expectReconciled(t, acme.adminToken);
  });

  it("concurrent sales of one partner get distinct sale numbers: only 10 can be in the first tier", async () => {
    const tiered = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "TIERED", tiers: [{ upTo: 10, percent: "10" }, { percent: "20" }] } });
    const token = await tiered.integrationToken(["CONVERSIONS_WRITE"]);
    const p = await createPartnerFixture(t, tiered);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.gql(RecordConversionDoc, { input: { externalId: `tier-${i}`, partners: [{ id: p.id }], amount: "100.00", currency: "USD", occurredAt: "2026-03-05T00:00:00.000Z" } }, token),
      ),
    );
    const lines = dataOf(await t.gql(LinesDoc, { filter: { partnerId: p.id } }, tiered.adminToken)).commissions.edges.map((e) => e.node);
    expect(lines.map((l) => l.tierSequence).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(lines.filter((l) => l.amount.amount === "10.00")).toHaveLength(10);
    expect(lines.filter((l) => l.amount.amount === "20.00")).toHaveLength(10);
  });

  it("many partners' batches in parallel keep every balance exact", async () => {
    const partners = await Promise.all(Array.from({ length: 5 }, () => createPartnerFixture(t, acme)));
    await Promise.all(
      partners.flatMap((p, i) =>
        Array.from({ length: 6 }, (_, j) =>
          t.gql(
            RecordConversionDoc,
            { input: { externalId: `par-${i}-${j}`, partners: [{ id: p.id }, { id: partners[(i + 1) % 5]!.id }], amount: "10.05", currency: "USD", occurredAt: "2026-03-01T00:00:00.000Z" } },
            integration,
          ),
        ),
      ),
    );
    for (const p of partners) expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "12.12" }); // 12 × round(1.005) = 12 × 1.01
    await expectReconciled(t, acme.adminToken);
  });
});
