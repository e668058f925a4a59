import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasPostgres } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { balanceOf, expectReconciled } from "../helpers/ledger-docs.ts";
import { databaseUrlOf, openLockGate, type LockGate } from "../helpers/lock-gate.ts";
import { makePayable, payableSale, RunPayoutsDoc } from "../helpers/payout-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const PARTNERS = 4;

/**
 * A partner whose records stay busy past the lock timeout in the middle of a
 * payout run: the run waits for that partner's balance row at most
 * DATABASE_LOCK_TIMEOUT_MS, reports the partner as skipped
 * (CONCURRENT_UPDATE, "run again"), drafts every other partner, and
 * answers; the next run drafts the one it skipped. PostgreSQL: the lock
 * gate holds the row from a connection of its own.
 */
describe.runIf(hasPostgres)("a payout run meeting a partner busy past the lock timeout (PostgreSQL)", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  let gate: LockGate;
  let partners: { id: string; rawId: string }[];

  beforeAll(async () => {
    t = await startTestApp("postgres", { env: { DATABASE_LOCK_TIMEOUT_MS: "1500", ACCRUE_SCHEDULER: "0" } });
    acme = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "10.00" });
    const integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    partners = [];
    for (let i = 0; i < PARTNERS; i += 1) {
      const p = await createPartnerFixture(t, acme);
      await makePayable(t, acme, p.id);
      await payableSale(t, acme, integration, p.id, "200.00");
      partners.push(p);
    }
    // The run drafts in partner id order; the held one is in the middle.
    partners.sort((x, y) => (x.rawId < y.rawId ? -1 : 1));
    gate = await openLockGate(databaseUrlOf(t));
  });
  afterAll(async () => {
    await gate?.close();
    await t?.stop();
  });

  it("skips that partner with CONCURRENT_UPDATE, drafts the others, and the next run drafts it", async () => {
    const busy = partners[1]!;
    await gate.hold("balances", "partner_id", [busy.rawId]);
    const running = t.gql(RunPayoutsDoc, { input: { idempotencyKey: "busy-partner-run" } }, acme.financeToken);
    // Positive marker: the run really waits on the held row (it is not skipped for another reason).
    await gate.waitFor(1);
    const run = dataOf(await running).runPayouts;
    await gate.release();

    expect(run.userErrors).toEqual([]);
    expect(run.skipped).toEqual([{ partner: { id: busy.id }, reason: "CONCURRENT_UPDATE", message: "the partner's records were busy; run again to draft this one" }]);
    expect(run.payouts.map((p) => p.partner.id).sort()).toEqual(
      partners
        .filter((p) => p !== busy)
        .map((p) => p.id)
        .sort(),
    );
    // Nothing of the busy partner moved.
    expect(await balanceOf(t, acme.adminToken, busy.id)).toMatchObject({ payable: "20.00", inPayouts: "0.00" });
    for (const p of partners.filter((x) => x !== busy)) expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ payable: "0.00", inPayouts: "20.00" });

    // The key keeps the report it gave; a new run drafts the skipped partner alone.
    const replay = dataOf(await t.gql(RunPayoutsDoc, { input: { idempotencyKey: "busy-partner-run" } }, acme.financeToken)).runPayouts;
    expect(replay.skipped.map((s) => s.partner?.id)).toEqual([busy.id]);
    const next = dataOf(await t.gql(RunPayoutsDoc, { input: {} }, acme.financeToken)).runPayouts;
    expect(next.payouts.map((p) => p.partner.id)).toEqual([busy.id]);
    expect(next.skipped).toEqual([]); // the others have nothing payable left: they are no candidates
    expect(await balanceOf(t, acme.adminToken, busy.id)).toMatchObject({ payable: "0.00", inPayouts: "20.00" });
    await expectReconciled(t, acme.adminToken);
  });
});
