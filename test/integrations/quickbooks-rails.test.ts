import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { createPaymentRails } from "../../src/integrations/payments/payment-rails.ts";
import { connectQuickBooks, PayoutSyncDoc } from "../helpers/accounting-docs.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { connectProvider, draftPayoutThrough, railsEnv, type RailStandIns } from "../helpers/payment-rails-docs.ts";
import { ApprovePayoutsDoc, CreatePayoutDoc, PayPayoutsDoc } from "../helpers/payout-docs.ts";
import { startPayPalStandIn } from "../helpers/paypal-stand-in.ts";
import { startQuickBooksStandIn, type StandIn } from "../helpers/quickbooks-stand-in.ts";
import { SendPayoutsDoc } from "../helpers/sending-docs.ts";
import { startStripeStandIn } from "../helpers/stripe-stand-in.ts";
import { dataOf, rawId, startTestApp, type TestApp } from "../helpers/test-app.ts";
import { startWiseStandIn } from "../helpers/wise-stand-in.ts";

const BounceByHandDoc = graphql(`
  mutation BounceByHand($input: RecordPayoutBounceInput!) {
    recordPayoutBounce(input: $input) { payout { id status bouncedAt } userErrors { code message } }
  }
`);

/**
 * QuickBooks follows a payout sent through Wise or Stripe (their stand-ins
 * and QuickBooks', over HTTP) as it follows one an operator marks paid
 * (docs/payment-rails.md, "QuickBooks"): approval books the Bill; PAID by the
 * provider books one BillPayment, as markPayoutsPaid does; FAILED books no
 * payment and removes the Bill; RETURNED after paid is what a bounce recorded
 * by hand is in QuickBooks: the Bill and its payment stay, nothing else is
 * written, and the money owed again is billed with the partner's next payout.
 * PayPal's paid and failed case is in test/api/payout-sending.test.ts; its
 * returns (a paid item refunded, an unclaimed one returned) are here.
 */
describe.each(databaseTargets())("QuickBooks through Wise and Stripe on %s", (target) => {
  let t: TestApp;
  let s: RailStandIns;
  let qbo: StandIn;
  let acme: ProgramFixture;
  let integration: string;

  const db = () => t.app.db.prisma;
  const tick = () => t.app.scheduler.runOnce({ poll: false });
  const sync = async (id: string) => dataOf(await t.gql(PayoutSyncDoc, { id }, acme.adminToken)).payout!;
  const row = (id: string) => db().payout.findUniqueOrThrow({ where: { id: rawId(id) } });
  const paymentsFor = (billId: string) => [...qbo.billPayments.values()].filter((p) => p.Line.some((l: { LinkedTxn: { TxnId: string }[] }) => l.LinkedTxn[0]!.TxnId === billId));
  /** What accrue asked QuickBooks to write (creates and deletes), from request `from` on. */
  const writesSince = (from: number) =>
    qbo.requests
      .slice(from)
      .filter((r) => r.method === "POST" && r.path.includes("/v3/company/"))
      .map((r) => `${r.path.split("/").at(-1)}${r.query.operation ? `?${r.query.operation}` : ""}`);

  /** A partner with a verified default method, and an APPROVED payout of 10% of `sale` whose Bill is booked. */
  async function billedPayout(name: string, method: Record<string, unknown>, sale: string) {
    const { partner, payout } = await draftPayoutThrough(t, acme, integration, name, method, sale);
    await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, acme.adminToken);
    await tick(); // the approval's Bill
    const billed = await sync(payout.id);
    expect([billed.status, billed.accountingSyncStatus]).toEqual(["APPROVED", "BILLED"]);
    expect(qbo.bills.get(billed.accountingBillId!)).toMatchObject({ Balance: Number(payout.amount.amount) });
    return { partner, payoutId: payout.id, billId: billed.accountingBillId!, vendorId: billed.partner.accountingVendorId! };
  }

  const send = async (ids: string[]) => {
    const sent = dataOf(await t.gql(SendPayoutsDoc, { input: { ids } }, acme.financeToken)).sendPayouts;
    expect(sent.payouts.map((p) => p.status)).toEqual(ids.map(() => "PROCESSING"));
  };
  const transferOf = async (payoutId: string) => db().payoutTransfer.findFirstOrThrow({ where: { payoutId: rawId(payoutId) }, orderBy: { attempt: "desc" } });

  /** Paid through a provider: one BillPayment as markPayoutsPaid books it (the whole bill, the program's bank account, the reference, the paid day). */
  async function expectBookedPaid(p: { payoutId: string; billId: string; vendorId: string }, amount: number) {
    const state = await sync(p.payoutId);
    expect([state.status, state.accountingSyncStatus, state.accountingBillId]).toEqual(["PAID", "PAID", p.billId]);
    const payments = paymentsFor(p.billId);
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({
      VendorRef: { value: p.vendorId },
      PayType: "Check",
      CheckPayment: { BankAccountRef: { value: "35" } },
      TotalAmt: amount,
      DocNumber: state.reference!.slice(0, 21),
      TxnDate: state.paidAt!.slice(0, 10),
      PrivateNote: `accrue payout ${rawId(p.payoutId)} (${state.method})`,
    });
    expect(qbo.bills.get(p.billId)).toMatchObject({ Balance: 0 });
    expect((await row(p.payoutId)).accountingBillPaymentId).toBe(payments[0].Id);
  }
  /** Failed by the provider: no payment was ever booked, and the Bill is gone. */
  async function expectBookedNothing(p: { payoutId: string; billId: string }) {
    const state = await row(p.payoutId);
    expect([state.status, state.accountingSyncStatus, state.accountingBillPaymentId, state.accountingBillId]).toEqual(["FAILED", "REMOVED", null, p.billId]);
    expect(qbo.bills.has(p.billId)).toBe(false);
    expect(paymentsFor(p.billId)).toEqual([]);
  }

  beforeAll(async () => {
    s = { paypal: await startPayPalStandIn(), wise: await startWiseStandIn(), stripe: await startStripeStandIn() };
    qbo = await startQuickBooksStandIn();
    t = await startTestApp(target, { env: { ...railsEnv(s), ...qbo.env, ACCRUE_SCHEDULER: "0" } });
    Object.assign(t.app.deps, { paymentRails: createPaymentRails(t.app.config.payments, t.app.deps.secrets, { attempts: 2, baseDelayMs: 5, maxDelayMs: 50 }) });
    acme = await createProgramFixture(t, { name: "Acme" });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    for (const provider of ["PAYPAL", "WISE", "STRIPE"] as const) {
      const path = (await connectProvider(t, acme, s, provider)).webhookPath;
      s[provider === "PAYPAL" ? "paypal" : provider === "WISE" ? "wise" : "stripe"].listener = `${t.url}${path}`;
    }
    for (const account of ["acct_1Ida", "acct_1Jon", "acct_1Kai"]) s.stripe.connectedAccounts.set(account, { transfers: "active" });
    await connectQuickBooks(t, acme, qbo);
  });
  afterAll(async () => {
    await t?.stop();
    await Promise.all([s?.paypal.close(), s?.wise.close(), s?.stripe.close(), qbo?.close()]);
  });

  it("Wise: a transfer paid books its BillPayment as markPayoutsPaid does; one Wise cancels books nothing and removes its Bill", async () => {
    const ada = await billedPayout("Ada Stone", { type: "WISE", currency: "EUR", accountName: "Ada Stone", iban: "DE89 3704 0044 0532 0130 00" }, "1000.00");
    const ben = await billedPayout("Ben Ames", { type: "WISE", currency: "EUR", accountName: "Ben Ames", iban: "DE89 3704 0044 0532 0130 00" }, "600.00");
    await send([ada.payoutId, ben.payoutId]);
    await tick(); // quoted, created and funded at Wise: on its way
    const [adaTransfer, benTransfer] = [await transferOf(ada.payoutId), await transferOf(ben.payoutId)];
    expect([adaTransfer.status, benTransfer.status]).toEqual(["PROCESSING", "PROCESSING"]);
    // On its way: still the approval's Bill, nothing paid.
    expect((await sync(ada.payoutId)).accountingSyncStatus).toBe("BILLED");
    expect(paymentsFor(ada.billId)).toEqual([]);

    await s.wise.simulate(Number(adaTransfer.providerTransferId), "funds_converted");
    await s.wise.simulate(Number(adaTransfer.providerTransferId), "outgoing_payment_sent");
    await s.wise.simulate(Number(benTransfer.providerTransferId), "cancelled");
    await tick(); // the events: PAID and FAILED, each queueing its accounting
    await tick(); // the accounting jobs
    await expectBookedPaid(ada, 100); // the bill's amount in the program's currency, not the EUR sent
    expect((await sync(ada.payoutId)).reference).toBe(adaTransfer.providerTransferId);
    await expectBookedNothing(ben);

    // Nothing more to book, however often it runs.
    const before = qbo.requests.length;
    await tick();
    expect(writesSince(before)).toEqual([]);
  });

  it("Stripe: a transfer paid at once books its BillPayment; one Stripe refuses books nothing and removes its Bill", async () => {
    const ida = await billedPayout("Ida Roth", { type: "STRIPE", accountId: "acct_1Ida" }, "1200.00");
    await send([ida.payoutId]);
    await tick(); // the transfer: paid at once
    await tick(); // its accounting
    await expectBookedPaid(ida, 120);
    expect((await sync(ida.payoutId)).reference).toBe((await transferOf(ida.payoutId)).providerTransferId);

    // The platform balance cannot cover the next one: Stripe refuses it.
    const jon = await billedPayout("Jon Vale", { type: "STRIPE", accountId: "acct_1Jon" }, "800.00");
    const balance = s.stripe.balances.get("usd")!;
    s.stripe.balances.set("usd", 0n);
    try {
      await send([jon.payoutId]);
      await tick();
    } finally {
      s.stripe.balances.set("usd", balance);
    }
    expect((await row(jon.payoutId)).failureReason).toMatch(/^Stripe: balance_insufficient/);
    await tick(); // the Bill's removal
    await expectBookedNothing(jon);
  });

  it("a return after paid, through Wise or Stripe, is in QuickBooks what a bounce recorded by hand is: the Bill and its payment stay, and the money owed again is billed with the next payout", async () => {
    // By hand: paid by an operator, then bounced.
    const cy = await billedPayout("Cy Hand", { type: "STRIPE", accountId: "acct_1Kai" }, "500.00");
    await t.gql(PayPayoutsDoc, { input: { ids: [cy.payoutId], method: "ACH", reference: "ACH-CY" } }, acme.financeToken);
    await tick();
    await expectBookedPaid(cy, 50);
    // Through the providers: paid, then the money comes back.
    const eve = await billedPayout("Eve Wise", { type: "WISE", currency: "EUR", accountName: "Eve Wise", iban: "DE89 3704 0044 0532 0130 00" }, "700.00");
    const kai = await billedPayout("Kai Stripe", { type: "STRIPE", accountId: "acct_1Kai" }, "900.00");
    await send([eve.payoutId, kai.payoutId]);
    await tick();
    const [eveTransfer, kaiTransfer] = [await transferOf(eve.payoutId), await transferOf(kai.payoutId)];
    await s.wise.simulate(Number(eveTransfer.providerTransferId), "funds_converted");
    await s.wise.simulate(Number(eveTransfer.providerTransferId), "outgoing_payment_sent");
    await tick();
    await tick();
    await expectBookedPaid(eve, 70);
    await expectBookedPaid(kai, 90);
    const booked = (id: string) => row(id).then((r) => [r.accountingSyncStatus, r.accountingBillId, r.accountingBillPaymentId]);
    const bookedBefore = await Promise.all([cy, eve, kai].map((p) => booked(p.payoutId)));

    const from = qbo.requests.length;
    expect(dataOf(await t.gql(BounceByHandDoc, { input: { payoutId: cy.payoutId, reason: "account closed" } }, acme.financeToken)).recordPayoutBounce.userErrors).toEqual([]);
    await s.wise.simulate(Number(eveTransfer.providerTransferId), "bounced_back");
    await s.stripe.reverse(kaiTransfer.providerTransferId!);
    await tick(); // the events: the bounces booked, RETURNED
    await tick(); // anything they queued
    await tick();
    expect((await Promise.all([cy, eve, kai].map((p) => row(p.payoutId)))).map((r) => [r.status, r.bouncedAt !== null])).toEqual([
      ["PAID", true],
      ["RETURNED", true],
      ["RETURNED", true],
    ]);
    // Nothing written to QuickBooks for any of the three: no payment voided or booked again, no bill deleted.
    expect(writesSince(from)).toEqual([]);
    expect(await Promise.all([cy, eve, kai].map((p) => booked(p.payoutId)))).toEqual(bookedBefore);
    for (const p of [cy, eve, kai]) {
      expect(qbo.bills.get(p.billId)).toMatchObject({ Balance: 0 });
      expect(paymentsFor(p.billId)).toHaveLength(1);
    }

    // The money owed again joins each partner's next payout, and is billed with it as any line is.
    for (const [p, owed] of [
      [cy, 50],
      [eve, 70],
      [kai, 90],
    ] as const) {
      const next = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.partner.id } }, acme.adminToken)).createPayout;
      expect(next.payout?.amount.amount).toBe(`${owed}.00`);
      await t.gql(ApprovePayoutsDoc, { input: { ids: [next.payout!.id] } }, acme.adminToken);
      await tick();
      const billed = await sync(next.payout!.id);
      expect(billed.accountingSyncStatus).toBe("BILLED");
      expect(billed.partner.accountingVendorId).toBe(p.vendorId);
      expect(qbo.bills.get(billed.accountingBillId!)).toMatchObject({ TotalAmt: owed, Balance: owed, Line: [expect.objectContaining({ Amount: owed })] });
    }
  });

  it("PayPal: a paid item refunded leaves QuickBooks as it was; an unclaimed one returned after 30 days never arrived, so it books nothing and its Bill is removed", async () => {
    const lia = await billedPayout("Lia Refund", { type: "PAYPAL", email: "lia@example.com" }, "400.00");
    const max = await billedPayout("Max Unclaimed", { type: "PAYPAL", email: "max@example.com" }, "300.00");
    s.paypal.fates.set("max@example.com", "UNCLAIMED");
    await send([lia.payoutId, max.payoutId]);
    await tick();
    await s.paypal.settle((await transferOf(lia.payoutId)).providerBatchId!);
    await tick();
    await tick();
    await expectBookedPaid(lia, 40);
    // Unclaimed: still on its way, still the approval's Bill, nothing paid.
    expect([(await row(max.payoutId)).status, (await sync(max.payoutId)).accountingSyncStatus]).toEqual(["PROCESSING", "BILLED"]);
    expect(paymentsFor(max.billId)).toEqual([]);

    const booked = await row(lia.payoutId);
    const from = qbo.requests.length;
    await s.paypal.refund((await transferOf(lia.payoutId)).providerTransferId!);
    await tick();
    await tick();
    expect((await row(lia.payoutId)).status).toBe("RETURNED");
    expect(writesSince(from)).toEqual([]);
    expect(await row(lia.payoutId)).toMatchObject({ accountingSyncStatus: booked.accountingSyncStatus, accountingBillPaymentId: booked.accountingBillPaymentId });
    expect(paymentsFor(lia.billId)).toHaveLength(1);

    await s.paypal.expireUnclaimed((await transferOf(max.payoutId)).providerTransferId!);
    await tick(); // FAILED: it never arrived
    await tick(); // the Bill's removal
    await expectBookedNothing(max);
  });
});
