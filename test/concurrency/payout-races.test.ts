import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { hasPostgres } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { balanceOf, expectReconciled } from "../helpers/ledger-docs.ts";
import { ApprovePayoutsDoc, CancelPayoutsDoc, CreatePayoutDoc, makePayable, payableSale, PayPayoutsDoc, RunPayoutsDoc } from "../helpers/payout-docs.ts";
import { databaseUrlOf, openLockGate, type LockGate } from "../helpers/lock-gate.ts";
import { dataOf, rawId, startTestApp, type TestApp } from "../helpers/test-app.ts";

const PayoutAuditDoc = graphql(`
  query PayoutAudit($filter: AuditFilter) { auditEntries(filter: $filter, first: 100) { totalCount edges { node { action before after } } } }
`);
const PayoutStatusDoc = graphql(`query PayoutStatus($id: ID!) { payout(id: $id) { status } }`);
const AllPayoutsDoc = graphql(`query AllPayouts { payouts(first: 100, filter: { status: [DRAFT, APPROVED] }) { totalCount edges { node { partner { id } } } } }`);

/**
 * Forced races (see lock-gate.ts): every payout transition and every draft
 * locks the partner's balance row first, so requests started one by one
 * behind the gate's lock on it queue in that order, all inside their
 * transactions at once, and go when the test lets go.
 */
describe.runIf(hasPostgres)("payout races on PostgreSQL", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  let integration: string;
  let gate: LockGate;

  beforeAll(async () => {
    t = await startTestApp("postgres", {
      env: { DATABASE_POOL_SIZE: "20", DATABASE_CONNECT_TIMEOUT_MS: "60000", DATABASE_TRANSACTION_START_TIMEOUT_MS: "60000" },
    });
    acme = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "10.00" });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    gate = await openLockGate(databaseUrlOf(t));
  });
  afterAll(async () => {
    await gate?.close();
    await t?.stop();
  });

  async function draftFor(): Promise<{ payoutId: string; partnerId: string }> {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    await payableSale(t, acme, integration, p.id, "500.00");
    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    return { payoutId: draft.id, partnerId: p.id };
  }

  it("20 concurrent approve / pay / cancel requests leave one valid state and one audit entry per real transition, in whichever order they come", async () => {
    const firstMoves: string[] = [];
    for (const [round, first] of (["approve", "cancel", "approve"] as const).entries()) {
      const { payoutId, partnerId } = await draftFor();
      const send = (kind: "approve" | "pay" | "cancel", i: number) => {
        if (kind === "approve") return t.gql(ApprovePayoutsDoc, { input: { ids: [payoutId] } }, acme.financeToken);
        if (kind === "pay") return t.gql(PayPayoutsDoc, { input: { ids: [payoutId], method: "ACH", reference: `r${round}-${i}` } }, acme.financeToken);
        return t.gql(CancelPayoutsDoc, { input: { ids: [payoutId], reason: `race ${round}-${i}` } }, acme.financeToken);
      };
      await gate.hold("balances", "partner_id", [rawId(partnerId)]);
      // The first mover waits alone for the row, so it is the first to get it;
      // the other nineteen (approve, pay and cancel mixed) queue behind it.
      const requests = [send(first, 0)];
      await gate.waitFor(1);
      for (let i = 1; i < 20; i += 1) requests.push(send((["approve", "pay", "cancel"] as const)[i % 3]!, i));
      await gate.waitFor(20);
      await gate.release();
      const results = await Promise.all(requests);
      for (const result of results) expect(result.errors).toBeUndefined();
      const status = dataOf(await t.gql(PayoutStatusDoc, { id: payoutId }, acme.adminToken)).payout!.status;
      expect(["APPROVED", "PAID", "CANCELLED"]).toContain(status);

      const trail = dataOf(await t.gql(PayoutAuditDoc, { filter: { recordId: payoutId } }, acme.adminToken)).auditEntries.edges.map((e) => e.node);
      const transitions = trail.filter((entry) => ["payout.approve", "payout.pay", "payout.cancel"].includes(entry.action)).reverse();
      // The first mover's transition is the first one recorded: the order was the one forced.
      expect(transitions[0]!.action).toBe(`payout.${first}`);
      firstMoves.push(transitions[0]!.action);
      // Each recorded transition starts where the previous one ended: no move happened twice.
      let current = "DRAFT";
      for (const entry of transitions) {
        expect((entry.before as { status: string }).status).toBe(current);
        current = (entry.after as { status: string }).status;
      }
      expect(current).toBe(status);
      if (first === "cancel") expect(status).toBe("CANCELLED");
      const balance = await balanceOf(t, acme.adminToken, partnerId);
      if (status === "PAID") expect(balance).toMatchObject({ paid: "50.00", inPayouts: "0.00", payable: "0.00" });
      if (status === "CANCELLED") expect(balance).toMatchObject({ paid: "0.00", inPayouts: "0.00", payable: "50.00" });
      if (status === "APPROVED") expect(balance).toMatchObject({ inPayouts: "50.00" });
    }
    // Both orders of approve and cancel happened.
    expect(firstMoves).toEqual(["payout.approve", "payout.cancel", "payout.approve"]);
    await expectReconciled(t, acme.adminToken);
  });

  it("a payout run skips a partner with an open payout without waiting for the partner's lock", async () => {
    const fresh = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "10.00" });
    const token = await fresh.integrationToken(["CONVERSIONS_WRITE"]);
    const busy = await createPartnerFixture(t, fresh);
    await makePayable(t, fresh, busy.id);
    await payableSale(t, fresh, token, busy.id, "300.00");
    expect(dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: busy.id } }, fresh.financeToken)).createPayout.userErrors).toEqual([]);
    // More payable since the draft: still a candidate of the run.
    await payableSale(t, fresh, token, busy.id, "200.00");
    const free = await createPartnerFixture(t, fresh);
    await makePayable(t, fresh, free.id);
    await payableSale(t, fresh, token, free.id, "300.00");
    // The busy partner's balance row stays locked (a sale being recorded, say) until the run has answered.
    await gate.hold("balances", "partner_id", [busy.rawId]);
    try {
      const run = dataOf(await t.gql(RunPayoutsDoc, { input: {} }, fresh.financeToken)).runPayouts;
      expect(run.payouts.map((p) => p.partner.id)).toEqual([free.id]);
      expect(run.skipped.map((s) => [s.partner?.id, s.reason])).toEqual([[busy.id, "OPEN_PAYOUT_EXISTS"]]);
      expect(await gate.waiting()).toBe(0);
    } finally {
      await gate.release();
    }
    await expectReconciled(t, fresh.adminToken);
  });

  it("two concurrent payout runs draft one payout per partner, whichever reaches a partner first", async () => {
    for (const first of ["finance", "admin"] as const) {
      const fresh = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "10.00" });
      const token = await fresh.integrationToken(["CONVERSIONS_WRITE"]);
      const partners = [];
      for (let i = 0; i < 8; i += 1) {
        const p = await createPartnerFixture(t, fresh);
        await makePayable(t, fresh, p.id);
        await payableSale(t, fresh, token, p.id, "300.00");
        partners.push(p);
      }
      // Both runs take partners in id order: both meet at the first one, behind the gate.
      const contested = [...partners].sort((x, y) => (x.rawId < y.rawId ? -1 : 1))[0]!;
      await gate.hold("balances", "partner_id", [contested.rawId]);
      const tokens = { finance: fresh.financeToken, admin: fresh.adminToken };
      const second = first === "finance" ? "admin" : "finance";
      const leading = t.gql(RunPayoutsDoc, { input: {} }, tokens[first]);
      await gate.waitFor(1);
      const trailing = t.gql(RunPayoutsDoc, { input: {} }, tokens[second]);
      await gate.waitFor(2);
      await gate.release();
      const runs = [dataOf(await leading).runPayouts, dataOf(await trailing).runPayouts];
      // The run that waited first drafted the contested partner; the other, inside the race, found its open payout.
      expect(runs[0]!.payouts.map((p) => p.partner.id)).toContain(contested.id);
      expect(runs[1]!.skipped.find((s) => s.partner?.id === contested.id)?.reason).toBe("OPEN_PAYOUT_EXISTS");
      expect(runs[0]!.payouts.length + runs[1]!.payouts.length).toBe(8);
      const skipped = [...runs[0]!.skipped, ...runs[1]!.skipped];
      expect(skipped.every((s) => s.reason === "OPEN_PAYOUT_EXISTS")).toBe(true);
      expect(skipped).toHaveLength(8);
      const open = dataOf(await t.gql(AllPayoutsDoc, {}, fresh.adminToken)).payouts;
      expect(open.totalCount).toBe(8);
      expect(new Set(open.edges.map((e) => e.node.partner.id)).size).toBe(8);
      await expectReconciled(t, fresh.adminToken);
    }
  });
});
