import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { balanceOf, expectReconciled, ReverseDoc } from "../helpers/ledger-docs.ts";
import { ApprovePayoutsDoc, CreatePayoutDoc, makePayable, payableSale, PayPayoutsDoc, RunPayoutsDoc } from "../helpers/payout-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const WriteOffDoc = graphql(`
  mutation WriteOffNegative($input: WriteOffBalanceInput!) {
    writeOffBalance(input: $input) { commission { id kind status amount { amount currency } isPayable } userErrors { code message field } }
  }
`);
const AdjustDoc = graphql(`
  mutation WriteOffAdjust($input: AdjustCommissionInput!) { adjustCommission(input: $input) { commission { id status isPayable } userErrors { code message } } }
`);
const WriteOffAuditDoc = graphql(`
  query WriteOffAudit($filter: AuditFilter) { auditEntries(filter: $filter, first: 10) { edges { node { action actorId before after reason } } } }
`);

/**
 * Writing off a negative balance: a partner paid for a sale that was then
 * refunded owes the clawback; the program forgives it. The write-off is a
 * line of the opposite amount, payable goes to zero (never past it), what
 * was paid stays paid, the next sale is the partner's in full, and the
 * ledger reconciles at every step.
 */
describe.each(databaseTargets())("writing off a negative balance on %s", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  let integration: string;

  beforeAll(async () => {
    t = await startTestApp(target);
    acme = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "1.00" });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
  });
  afterAll(() => t?.stop());

  it("refuses to write off a debt a later change could undo: a correction of a line not yet paid", async () => {
    // A 10.00 line sits in a draft; a -8.00 correction of it is payable at once,
    // so payable is -8.00. Written off, then the draft cancelled, the line would
    // come back payable and the partner would be owed 10.00 for 2.00 earned.
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    const sale = await payableSale(t, acme, integration, p.id, "100.00");
    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    expect(draft.amount.amount).toBe("10.00");
    const adjusted = dataOf(await t.gql(AdjustDoc, { input: { id: sale.commissionId, amount: "-8.00", reasonCode: "CORRECTION" } }, acme.adminToken)).adjustCommission;
    expect(adjusted.userErrors).toEqual([]);
    const before = await balanceOf(t, acme.adminToken, p.id);
    expect(before).toMatchObject({ payable: "-8.00", inPayouts: "10.00" });

    const refused = dataOf(await t.gql(WriteOffDoc, { input: { partnerId: p.id, reason: "forgive it" } }, acme.adminToken)).writeOffBalance;
    expect(refused.userErrors).toEqual([expect.objectContaining({ code: "BALANCE_NOT_FINAL", field: ["input", "partnerId"] })]);
    expect(refused.commission).toBeNull();
    expect(await balanceOf(t, acme.adminToken, p.id)).toEqual(before);
    await expectReconciled(t, acme.adminToken);
  });

  it("brings a negative payable balance to zero once, keeps what was paid, and leaves later earnings whole", async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    const sale = await payableSale(t, acme, integration, p.id, "123.45"); // $12.35 (half-even of 12.345)
    const payout = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    expect(payout.amount.amount).toBe("12.35");
    dataOf(await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, acme.financeToken));
    dataOf(await t.gql(PayPayoutsDoc, { input: { ids: [payout.id], method: "PAYPAL", reference: "wo-1" } }, acme.financeToken));

    // Refunded in full after it was paid: the clawback leaves the partner owing.
    const refund = dataOf(await t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: `wo-refund-${p.id}` } }, integration)).reverseConversion;
    expect(refund.userErrors).toEqual([]);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "0.00", payable: "-12.35", inPayouts: "0.00", paid: "12.35", recoverable: "12.35" });
    await expectReconciled(t, acme.adminToken);

    // Refused without a reason, and to finance: nothing is written.
    expect(dataOf(await t.gql(WriteOffDoc, { input: { partnerId: p.id, reason: "  " } }, acme.adminToken)).writeOffBalance.userErrors.map((e) => e.code)).toEqual([
      "INVALID_INPUT",
    ]);
    expect((await t.gql(WriteOffDoc, { input: { partnerId: p.id, reason: "left" } }, acme.financeToken)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ payable: "-12.35", recoverable: "12.35" });

    const written = dataOf(await t.gql(WriteOffDoc, { input: { partnerId: p.id, reason: "partner left the program" } }, acme.adminToken)).writeOffBalance;
    expect(written.userErrors).toEqual([]);
    expect(written.commission).toMatchObject({ kind: "WRITE_OFF", status: "APPROVED", amount: { amount: "12.35", currency: "USD" } });
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "0.00", payable: "0.00", inPayouts: "0.00", paid: "12.35", recoverable: "0.00" });
    await expectReconciled(t, acme.adminToken);

    // Once: the balance is no longer negative.
    const again = dataOf(await t.gql(WriteOffDoc, { input: { partnerId: p.id, reason: "again" } }, acme.adminToken)).writeOffBalance;
    expect(again.userErrors).toEqual([expect.objectContaining({ code: "BALANCE_NOT_NEGATIVE", message: expect.stringContaining("is 0") })]);

    // The write-off is no payable line of its own: a run has nothing to draft for this partner.
    const run = dataOf(await t.gql(RunPayoutsDoc, { input: {} }, acme.financeToken)).runPayouts;
    expect(run.payouts.map((x) => x.partner.id)).not.toContain(p.id);

    // The next sale is the partner's in full: the forgiven debt is not taken from it.
    await payableSale(t, acme, integration, p.id, "50.00");
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ payable: "5.00", paid: "12.35", recoverable: "0.00" });
    await expectReconciled(t, acme.adminToken);

    const trail = dataOf(await t.gql(WriteOffAuditDoc, { filter: { recordId: written.commission!.id } }, acme.adminToken)).auditEntries.edges.map((e) => e.node);
    expect(trail).toEqual([
      { action: "balance.write_off", actorId: "admin@acme.test", before: { payable: "-12.35" }, after: { payable: "0", amount: "12.35" }, reason: "partner left the program" },
    ]);
  });
});
