import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { hasPostgres } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { balanceOf, expectReconciled, RecordConversionDoc, recordSale, ReverseDoc, ReviewDocs } from "../helpers/ledger-docs.ts";
import { databaseUrlOf, openLockGate, type LockGate } from "../helpers/lock-gate.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const LinesDoc = graphql(`
  query RaceLines($filter: CommissionFilter) { commissions(filter: $filter, first: 100) { totalCount edges { node { id kind status amount { amount } tierSequence } } } }
`);
const ConversionCountDoc = graphql(`query RaceConversionCount { conversions { totalCount } }`);

const POOL = 20;

/**
 * Races need real connections: PostgreSQL only (the embedded database runs
 * one transaction at a time). Each race is forced, not hoped for: a lock
 * gate holds the partners' balance rows every one of these writes locks, so
 * the requests pile up inside their transactions at once (the test sees
 * them wait) and go together when it lets go; where the order matters, the
 * test starts them one by one behind the gate, so each order happens.
 */
describe.runIf(hasPostgres)("races on PostgreSQL", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  let integration: string;
  let gate: LockGate;

  beforeAll(async () => {
    // Requests wait for the gate, and for a connection behind it, as long as the test holds it.
    t = await startTestApp("postgres", {
      env: { DATABASE_POOL_SIZE: String(POOL), DATABASE_CONNECT_TIMEOUT_MS: "60000", DATABASE_TRANSACTION_START_TIMEOUT_MS: "60000" },
    });
    acme = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" } });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    gate = await openLockGate(databaseUrlOf(t));
  });
  afterAll(async () => {
    await gate?.close();
    await t?.stop();
  });

  it("50 concurrent posts of one conversion id make one conversion, and all get its result", async () => {
    const p = await createPartnerFixture(t, acme);
    const input = { externalId: "race-1", partners: [{ id: p.id }], amount: "123.45", currency: "USD", occurredAt: "2026-03-01T00:00:00.000Z" };
    await gate.hold("balances", "partner_id", [p.rawId]);
    const pending = Array.from({ length: 50 }, () => t.gql(RecordConversionDoc, { input }, integration));
    // Every connection of the pool is inside a transaction on this one id at once.
    await gate.waitFor(POOL);
    await gate.release();
    const results = await Promise.all(pending);
    const payloads = results.map((r) => dataOf(r).recordConversion);
    expect(payloads.every((p) => p.userErrors.length === 0)).toBe(true);
    expect(new Set(payloads.map((p) => p.conversion?.id)).size).toBe(1);
    expect(payloads.filter((p) => p.created).length).toBe(1);
    expect(dataOf(await t.gql(ConversionCountDoc, {}, acme.adminToken)).conversions.totalCount).toBe(1);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "12.35", lifetimeEarned: "12.35" });
    await expectReconciled(t, acme.adminToken);
  });

  it("a reversal racing an approval leaves one consistent outcome, whichever goes first", async () => {
    const firsts: string[] = [];
    for (const [round, first] of (["approve", "reverse", "approve", "reverse"] as const).entries()) {
      const p = await createPartnerFixture(t, acme);
      const sale = await recordSale(t, integration, p.id, { amount: "100.00", occurredAt: "2026-01-01T00:00:00.000Z" });
      await gate.hold("balances", "partner_id", [p.rawId]);
      const approve = () => t.gql(ReviewDocs.approve, { input: { ids: [sale.commissionId] } }, acme.adminToken);
      const reverse = () => t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: `race-r-${round}` } }, integration);
      // The first started is the first to wait for the partner's row, and the first to get it.
      let approving: ReturnType<typeof approve>;
      let reversing: ReturnType<typeof reverse>;
      if (first === "approve") {
        approving = approve();
        await gate.waitFor(1);
        reversing = reverse();
      } else {
        reversing = reverse();
        await gate.waitFor(1);
        approving = approve();
      }
      await gate.waitFor(2);
      await gate.release();
      const [approveResult, reverseResult] = await Promise.all([approving, reversing]);
      expect(dataOf(reverseResult).reverseConversion.userErrors).toEqual([]);
      const approved = dataOf(approveResult).approveCommissions;
      // The order is seen in the outcome: approved, then reversed; or reversed, and the approval refused.
      if (first === "approve") expect(approved.commissions.map((c) => c.status)).toEqual(["APPROVED"]);
      else expect(approved.skipped.map((s) => s.code)).toEqual(["INVALID_TRANSITION"]);
      firsts.push(approved.commissions.length === 1 ? "approve" : "reverse");
      const line = dataOf(await t.gql(LinesDoc, { filter: { partnerId: p.id } }, acme.adminToken)).commissions.edges[0]!.node;
      // Whichever ran first, the refund wins: the line ends REVERSED and counts nowhere.
      expect(line.status).toBe("REVERSED");
      expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "0.00", payable: "0.00", lifetimeEarned: "0.00" });
    }
    expect(firsts).toEqual(["approve", "reverse", "approve", "reverse"]);
    await expectReconciled(t, acme.adminToken);
  });

  it("concurrent sales of one partner get distinct sale numbers: only 10 can be in the first tier", async () => {
    const tiered = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "TIERED", tiers: [{ upTo: 10, percent: "10" }, { percent: "20" }] } });
    const token = await tiered.integrationToken(["CONVERSIONS_WRITE"]);
    const p = await createPartnerFixture(t, tiered);
    await gate.hold("balances", "partner_id", [p.rawId]);
    const pending = Array.from({ length: 20 }, (_, i) =>
      t.gql(
        RecordConversionDoc,
        { input: { externalId: `tier-${i}`, partners: [{ id: p.id }], amount: "100.00", currency: "USD", occurredAt: "2026-03-05T00:00:00.000Z" } },
        token,
      ),
    );
    // All twenty inside their transactions at once, each about to count this month's sales.
    await gate.waitFor(20);
    await gate.release();
    for (const result of await Promise.all(pending)) expect(dataOf(result).recordConversion.userErrors).toEqual([]);
    const lines = dataOf(await t.gql(LinesDoc, { filter: { partnerId: p.id } }, tiered.adminToken)).commissions.edges.map((e) => e.node);
    expect(lines.map((l) => l.tierSequence).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(lines.filter((l) => l.amount.amount === "10.00")).toHaveLength(10);
    expect(lines.filter((l) => l.amount.amount === "20.00")).toHaveLength(10);
  });

  it("many partners' batches in parallel keep every balance exact", async () => {
    const partners = await Promise.all(Array.from({ length: 5 }, () => createPartnerFixture(t, acme)));
    await gate.hold(
      "balances",
      "partner_id",
      partners.map((p) => p.rawId),
    );
    const pending = Promise.all(
      partners.flatMap((p, i) =>
        Array.from({ length: 6 }, (_, j) =>
          t.gql(
            RecordConversionDoc,
            {
              input: {
                externalId: `par-${i}-${j}`,
                partners: [{ id: p.id }, { id: partners[(i + 1) % 5]!.id }],
                amount: "10.05",
                currency: "USD",
                occurredAt: "2026-03-01T00:00:00.000Z",
              },
            },
            integration,
          ),
        ),
      ),
    );
    // Thirty sales, each locking two partners (in id order, so none deadlocks): a full pool waits at once.
    await gate.waitFor(POOL);
    await gate.release();
    for (const result of await pending) expect(dataOf(result).recordConversion.userErrors).toEqual([]);
    for (const p of partners) expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "12.12" }); // 12 × round(1.005) = 12 × 1.01
    await expectReconciled(t, acme.adminToken);
  });
});
