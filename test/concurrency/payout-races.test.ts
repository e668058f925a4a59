import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { hasPostgres } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { balanceOf, expectReconciled } from "../helpers/ledger-docs.ts";
import { ApprovePayoutsDoc, CancelPayoutsDoc, CreatePayoutDoc, makePayable, payableSale, PayPayoutsDoc, RunPayoutsDoc } from "../helpers/payout-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const PayoutAuditDoc = graphql(`
  query PayoutAudit($filter: AuditFilter) { auditEntries(filter: $filter, first: 100) { totalCount edges { node { action before after } } } }
`);
const PayoutStatusDoc = graphql(`query PayoutStatus($id: ID!) { payout(id: $id) { status } }`);
const AllPayoutsDoc = graphql(`query AllPayouts { payouts(first: 100, filter: { status: [DRAFT, APPROVED] }) { totalCount edges { node { partner { id } } } } }`);

describe.runIf(hasPostgres)("payout races on PostgreSQL", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  let integration: string;

  beforeAll(async () => {
    t = await startTestApp("postgres", { env: { DATABASE_POOL_SIZE: "20" } });
    acme = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "10.00" });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
  });
  afterAll(() => t?.stop());

  async function draftFor(): Promise<{ payoutId: string; partnerId: string }> {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    await payableSale(t, acme, integration, p.id, "500.00");
    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    return { payoutId: draft.id, partnerId: p.id };
  }

  it("20 concurrent approve / pay / cancel requests leave one valid state and one audit entry per real transition", async () => {
    for (let round = 0; round < 3; round += 1) {
      const { payoutId, partnerId } = await draftFor();
      const requests = Array.from({ length: 20 }, (_, i) => {
        if (i % 3 === 0) return t.gql(ApprovePayoutsDoc, { input: { ids: [payoutId] } }, acme.financeToken);
        if (i % 3 === 1) return t.gql(PayPayoutsDoc, { input: { ids: [payoutId], method: "ACH", reference: `r${i}` } }, acme.financeToken);
        return t.gql(CancelPayoutsDoc, { input: { ids: [payoutId], reason: `race ${i}` } }, acme.financeToken);
      });
      const results = await Promise.all(requests);
      for (const result of results) expect(result.errors).toBeUndefined();
      const status = dataOf(await t.gql(PayoutStatusDoc, { id: payoutId }, acme.adminToken)).payout!.status;
      expect(["APPROVED", "PAID", "CANCELLED"]).toContain(status);

      const trail = dataOf(await t.gql(PayoutAuditDoc, { filter: { recordId: payoutId } }, acme.adminToken)).auditEntries.edges.map((e) => e.node);
      const transitions = trail.filter((entry) => ["payout.approve", "payout.pay", "payout.cancel"].includes(entry.action)).reverse();
      // Each recorded transition starts where the previous one ended: no move happened twice.
      let current = "DRAFT";
      for (const entry of transitions) {
        expect((entry.before as { status: string }).status).toBe(current);
        current = (entry.after as { status: string }).status;
      }
      expect(current).toBe(status);
      const balance = await balanceOf(t, acme.adminToken, partnerId);
      if (status === "PAID") expect(balance).toMatchObject({ paid: "50.00", inPayouts: "0.00", payable: "0.00" });
      if (status === "CANCELLED") expect(balance).toMatchObject({ paid: "0.00", inPayouts: "0.00", payable: "50.00" });
      if (status === "APPROVED") expect(balance).toMatchObject({ inPayouts: "50.00" });
    }
    await expectReconciled(t, acme.adminToken);
  });

  it("two concurrent payout runs draft one payout per partner", async () => {
    const fresh = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "10.00" });
    const token = await fresh.integrationToken(["CONVERSIONS_WRITE"]);
    const partners = [];
    for (let i = 0; i < 8; i += 1) {
      const p = await createPartnerFixture(t, fresh);
      await makePayable(t, fresh, p.id);
      await payableSale(t, fresh, token, p.id, "300.00");
      partners.push(p);
    }
    const [a, b] = await Promise.all([
      t.gql(RunPayoutsDoc, { input: {} }, fresh.financeToken),
      t.gql(RunPayoutsDoc, { input: {} }, fresh.adminToken),
    ]);
    const runs = [dataOf(a).runPayouts, dataOf(b).runPayouts];
    expect(runs[0]!.payouts.length + runs[1]!.payouts.length).toBe(8);
    const skipped = [...runs[0]!.skipped, ...runs[1]!.skipped];
    expect(skipped.every((s) => s.reason === "OPEN_PAYOUT_EXISTS")).toBe(true);
    expect(skipped).toHaveLength(8);
    const open = dataOf(await t.gql(AllPayoutsDoc, {}, fresh.adminToken)).payouts;
    expect(open.totalCount).toBe(8);
    expect(new Set(open.edges.map((e) => e.node.partner.id)).size).toBe(8);
    await expectReconciled(t, fresh.adminToken);
  });
});
