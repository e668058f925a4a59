import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPaymentRails } from "../../src/integrations/payments/payment-rails.ts";
import { Dec } from "../../src/domain/money.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { connectProvider, draftPayoutThrough, railsEnv, type RailStandIns } from "../helpers/payment-rails-docs.ts";
import { ApprovePayoutsDoc } from "../helpers/payout-docs.ts";
import { startPayPalStandIn } from "../helpers/paypal-stand-in.ts";
import { connectQuickBooks } from "../helpers/accounting-docs.ts";
import { startQuickBooksStandIn, type StandIn } from "../helpers/quickbooks-stand-in.ts";
import { DualControlDoc, SendPayoutsDoc, SentPayoutDoc } from "../helpers/sending-docs.ts";
import { startStripeStandIn } from "../helpers/stripe-stand-in.ts";
import { dataOf, rawId, startTestApp, type TestApp } from "../helpers/test-app.ts";
import { startWiseStandIn } from "../helpers/wise-stand-in.ts";

/**
 * Payouts sent through PayPal, Wise and Stripe (their stand-ins, over HTTP):
 * sendPayouts hands them over through the outbox, the providers' answers,
 * webhooks and lookups move them to PAID, FAILED or RETURNED, and nothing is
 * ever sent twice.
 */
describe.each(databaseTargets())("sending payouts through a provider on %s", (target) => {
  let t: TestApp;
  let s: RailStandIns;
  let acme: ProgramFixture;
  let integration: string;
  let qbo: StandIn;

  const db = () => t.app.db.prisma;
  const tick = () => t.app.scheduler.runOnce({ poll: false });
  const send = (ids: string[], token: string, idempotencyKey?: string) => t.gql(SendPayoutsDoc, { input: { ids, idempotencyKey } }, token).then((r) => dataOf(r).sendPayouts);
  const payout = async (id: string, token = acme.adminToken) => {
    const node = dataOf(await t.gql(SentPayoutDoc, { id }, token)).node;
    if (!node || !("status" in node)) throw new Error(`no payout ${id}`);
    return node;
  };
  const transfersOf = (payoutId: string) => db().payoutTransfer.findMany({ where: { payoutId: rawId(payoutId) }, orderBy: { attempt: "asc" } });
  const auditsOf = (payoutId: string) => db().auditEntry.findMany({ where: { entityId: rawId(payoutId) }, orderBy: { createdAt: "asc" } });
  const feedStatuses = async (payoutId: string) =>
    (await db().event.findMany({ where: { type: "payout.changed", entityId: rawId(payoutId) }, orderBy: { partnerSequence: "asc" } })).map(
      (e) => (e.payload as { status: string }).status,
    );
  const commissionStatuses = async (payoutId: string) => {
    const items = await db().payoutItem.findMany({ where: { payoutId: rawId(payoutId) }, select: { commissionId: true, active: true } });
    const lines = await db().commission.findMany({ where: { id: { in: items.map((i) => i.commissionId) } }, select: { status: true } });
    return { active: items.map((i) => i.active), statuses: lines.map((l) => l.status) };
  };

  /** A partner with a verified method of `method`, and an APPROVED payout of 10% of `sale`, approved by the admin. */
  async function approvedPayout(name: string, method: Record<string, unknown>, sale = "500.00") {
    const { partner, payout } = await draftPayoutThrough(t, acme, integration, name, method, sale);
    const approved = dataOf(await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, acme.adminToken)).approvePayouts;
    expect(approved.payouts.map((p) => p.status)).toEqual(["APPROVED"]);
    return { partner, payoutId: payout.id };
  }

  beforeAll(async () => {
    s = { paypal: await startPayPalStandIn(), wise: await startWiseStandIn(), stripe: await startStripeStandIn() };
    qbo = await startQuickBooksStandIn();
    // The scheduler runs when the test says (tick), never on its own timer meanwhile.
    t = await startTestApp(target, { env: { ...railsEnv(s), ...qbo.env, ACCRUE_SCHEDULER: "0" } });
    // The connectors retry twice within a call; longer outages are the outbox's to retry.
    Object.assign(t.app.deps, { paymentRails: createPaymentRails(t.app.config.payments, t.app.deps.secrets, { attempts: 2, baseDelayMs: 5, maxDelayMs: 50 }) });
    acme = await createProgramFixture(t, { name: "Acme" });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE", "COMMISSIONS_READ", "PARTNERS_READ", "PAYOUTS_READ", "PAYOUTS_WRITE"]);
    const hooks: Record<string, string> = {};
    for (const provider of ["PAYPAL", "WISE", "STRIPE"] as const) hooks[provider] = (await connectProvider(t, acme, s, provider)).webhookPath;
    s.paypal.listener = `${t.url}${hooks.PAYPAL}`;
    s.wise.listener = `${t.url}${hooks.WISE}`;
    s.stripe.listener = `${t.url}${hooks.STRIPE}`;
    s.stripe.connectedAccounts.set("acct_1Sam", { transfers: "active" });
    s.stripe.connectedAccounts.set("acct_1Tess", { transfers: "active" });
  });
  afterAll(async () => {
    await t?.stop();
    await Promise.all([s?.paypal.close(), s?.wise.close(), s?.stripe.close(), qbo?.close()]);
  });

  it("sends a PayPal batch once, follows each item by webhook to PAID or FAILED with its reason, and ignores a duplicate or forged delivery", async () => {
    const ana = await approvedPayout("Ana Lima", { type: "PAYPAL", email: "ana@example.com" });
    const gone = await approvedPayout("Gus Gone", { type: "PAYPAL", email: "gone@example.com" }, "300.00");
    s.paypal.fates.set("gone@example.com", "FAILED");

    const sent = await send([ana.payoutId, gone.payoutId], acme.financeToken, "send-paypal-1");
    expect(sent.skipped).toEqual([]);
    expect(sent.payouts.map((p) => [p.status, p.sentBy, p.approvedBy, p.method])).toEqual([
      ["PROCESSING", "finance@acme.test", "admin@acme.test", "PAYPAL"],
      ["PROCESSING", "finance@acme.test", "admin@acme.test", "PAYPAL"],
    ]);
    // Nothing leaves before the outbox runs; the keys are already stored.
    const [before] = await transfersOf(ana.payoutId);
    expect(before).toMatchObject({ status: "PENDING", attempt: 1, idempotencyKey: `${rawId(ana.payoutId)}:1`, provider: "PAYPAL" });
    expect(s.paypal.countBatches(before!.batchKey)).toBe(0);
    // The same key and request replays; another request with it is refused.
    expect((await send([ana.payoutId, gone.payoutId], acme.financeToken, "send-paypal-1")).payouts.map((p) => p.id)).toEqual([ana.payoutId, gone.payoutId]);
    expect((await send([ana.payoutId], acme.financeToken, "send-paypal-1")).userErrors.map((e) => e.code)).toEqual(["IDEMPOTENCY_CONFLICT"]);
    // Sent again under another key: already PROCESSING.
    expect((await send([ana.payoutId], acme.financeToken, "send-paypal-2")).skipped.map((x) => x.code)).toEqual(["INVALID_TRANSITION"]);

    await tick();
    const [accepted] = await transfersOf(ana.payoutId);
    expect(accepted).toMatchObject({ status: "PROCESSING", batchKey: before!.batchKey });
    expect(accepted!.providerBatchId).toBeTruthy();
    expect(s.paypal.countBatches(before!.batchKey)).toBe(1);

    await s.paypal.settle(accepted!.providerBatchId!);
    expect(s.paypal.deliveries.slice(-2).map((d) => d.status)).toEqual([200, 200]);
    await tick();
    const paid = await payout(ana.payoutId);
    expect(paid).toMatchObject({ status: "PAID", method: "PAYPAL", failureReason: null, amount: { amount: "50.00", currency: "USD" } });
    expect(paid.reference).toBe(s.paypal.itemByReference(rawId(ana.payoutId))!.payout_item_id);
    expect(await commissionStatuses(ana.payoutId)).toEqual({ active: [true], statuses: ["PAID"] });
    const failed = await payout(gone.payoutId, gone.partner.token); // the partner sees why
    expect(failed.status).toBe("FAILED");
    expect(failed.failureReason).toMatch(/^PayPal: .*RECEIVER_ACCOUNT_LOCKED/);
    expect(await commissionStatuses(gone.payoutId)).toEqual({ active: [false], statuses: ["APPROVED"] }); // payable again
    expect(await feedStatuses(ana.payoutId)).toEqual(["DRAFT", "APPROVED", "PROCESSING", "PAID"]);
    expect(await feedStatuses(gone.payoutId)).toEqual(["DRAFT", "APPROVED", "PROCESSING", "FAILED"]);
    expect((await auditsOf(gone.payoutId)).map((a) => [a.action, a.actorId])).toEqual([
      ["payout.create", "admin@acme.test"],
      ["payout.approve", "admin@acme.test"],
      ["payout.send", "finance@acme.test"],
      ["payout.provider_failed", "paypal-rail"],
    ]);

    // A duplicate delivery and a forged one change nothing.
    const audits = await db().auditEntry.count({ where: { programId: acme.rawId } });
    const last = s.paypal.deliveries.at(-1)!;
    await s.paypal.redeliver(last.eventId);
    const forged = last.body.replace("FAILED", "SUCCEEDED");
    const refused = await fetch(s.paypal.listener!, { method: "POST", headers: { "content-type": "application/json", ...s.paypal.sign(last.body) }, body: forged });
    expect(refused.status).toBe(401);
    await tick();
    expect(await db().auditEntry.count({ where: { programId: acme.rawId } })).toBe(audits);
    expect((await payout(gone.payoutId)).status).toBe("FAILED");
    expect(s.paypal.countBatches(before!.batchKey)).toBe(1);
  });

  it("retries a Wise send with backoff while Wise is down, sends it once, reports the rate and fee, and books a return after paid as a bounce", async () => {
    s.wise.balances.set("USD", "100000.00");
    const eve = await approvedPayout("Eve Martin", { type: "WISE", currency: "EUR", accountName: "Eve Martin", iban: "DE89 3704 0044 0532 0130 00" }, "1000.00");
    expect((await send([eve.payoutId], acme.adminToken)).payouts.map((p) => p.status)).toEqual(["PROCESSING"]);
    const [transfer] = await transfersOf(eve.payoutId);

    const wiseTransfersBefore = s.wise.transfers.size;
    s.wise.failNext("down", 2, (r) => r.path.endsWith("/quotes"));
    await tick();
    const job = await db().outboxJob.findFirstOrThrow({ where: { subjectId: transfer!.batchKey } });
    expect(job).toMatchObject({ status: "PENDING", attempts: 1 });
    expect(job.lastError).toMatch(/Wise/);
    expect(job.nextAttemptAt.getTime()).toBeGreaterThan(t.clock.now().getTime()); // backoff, not at once
    expect((await payout(eve.payoutId)).status).toBe("PROCESSING");
    await tick(); // not due yet: Wise is not asked
    expect((await db().outboxJob.findFirstOrThrow({ where: { id: job.id } })).attempts).toBe(1);

    // Wise is back, but its answers are lost after it made the transfer (as a crash before accrue recorded it would lose them).
    t.clock.advance(5 * 60_000);
    s.wise.failNext("drop-after-accept", 2, (r) => r.path === "/v1/transfers");
    await tick();
    expect(await db().outboxJob.findFirstOrThrow({ where: { id: job.id } })).toMatchObject({ status: "PENDING", attempts: 2 });
    expect(s.wise.transfers.size).toBe(wiseTransfersBefore + 1);
    t.clock.advance(5 * 60_000);
    await tick();
    expect(await db().outboxJob.findFirstOrThrow({ where: { id: job.id } })).toMatchObject({ status: "DONE", attempts: 3 });
    // One transfer at Wise, found again by its customerTransactionId, funded once.
    expect(s.wise.transfers.size).toBe(wiseTransfersBefore + 1);
    const [recorded] = await transfersOf(eve.payoutId);
    expect(recorded!.status).toBe("PROCESSING");
    const atWise = s.wise.transfers.get(Number(recorded!.providerTransferId))!;
    expect(atWise.status).toBe("processing");
    expect(s.wise.requests.filter((r) => r.path.endsWith(`/transfers/${atWise.id}/payments`)).length).toBe(1);

    await s.wise.simulate(Number(recorded!.providerTransferId), "funds_converted");
    await s.wise.simulate(Number(recorded!.providerTransferId), "outgoing_payment_sent");
    await tick();
    const paid = await payout(eve.payoutId);
    expect(paid).toMatchObject({ status: "PAID", method: "WISE", reference: recorded!.providerTransferId });
    const afterPaid = await db().payoutTransfer.findUniqueOrThrow({ where: { id: recorded!.id } });
    expect(afterPaid.sentCurrency).toBe("EUR");
    expect(paid.sentAmount).toEqual({ amount: new Dec(afterPaid.sentAmount!).toFixed(2), currency: "EUR" });
    expect(afterPaid.rate).not.toBeNull();
    expect([afterPaid.fee === null, afterPaid.feeCurrency]).toEqual([false, "USD"]); // the quote's fee, in the source currency, kept on the transfer

    const lifetime = async () => await db().balance.findFirstOrThrow({ where: { partnerId: eve.partner.rawId } });
    const balanceBefore = await lifetime();
    await s.wise.simulate(Number(recorded!.providerTransferId), "bounced_back");
    await tick();
    await tick(); // applied once, however often it runs
    const returned = await payout(eve.payoutId);
    expect(returned).toMatchObject({ status: "RETURNED" });
    expect(returned.bounceReason).toMatch(/^Wise returned it/);
    expect(returned.returnedAt).not.toBeNull();
    const credits = await db().commission.findMany({ where: { partnerId: eve.partner.rawId, reasonCode: "PAYMENT_BOUNCED" } });
    // The money owed again, and what came back taken out of paid.
    expect(credits.map((c) => `${c.status} ${c.amount.toFixed(2)}`).sort()).toEqual(["APPROVED 100.00", "PAID -100.00"]);
    const balanceAfter = await lifetime();
    expect(balanceAfter.payable.minus(balanceBefore.payable).toFixed(2)).toBe("100.00"); // owed again
    expect(balanceAfter.paid.minus(balanceBefore.paid).toFixed(2)).toBe("-100.00"); // not paid after all
    expect(balanceAfter.lifetimeEarned.minus(balanceBefore.lifetimeEarned).toFixed(2)).toBe("0.00"); // not earned twice
    expect(await feedStatuses(eve.payoutId)).toEqual(["DRAFT", "APPROVED", "PROCESSING", "PAID", "PAID", "RETURNED"]);
  });

  it("pays through Stripe at once, books a whole reversal as a return and notes a partial one; dual control needs a second person", async () => {
    const set = dataOf(await t.gql(DualControlDoc, { input: { dualControl: { above: "100.00" } } }, acme.adminToken)).updateProgramSettings;
    expect(set.program?.dualControlAbove).toEqual({ amount: "100.00", currency: "USD" });
    const sam = await approvedPayout("Sam Reed", { type: "STRIPE", accountId: "acct_1Sam" }, "1500.00");
    const tess = await approvedPayout("Tess Hale", { type: "STRIPE", accountId: "acct_1Tess" }, "900.00");

    // The approver may send what is at or below the amount, not what is above it.
    const own = await send([sam.payoutId, tess.payoutId], acme.adminToken, "stripe-own");
    expect(own.payouts.map((p) => [p.id, p.status])).toEqual([[tess.payoutId, "PROCESSING"]]);
    expect(own.skipped).toEqual([
      { id: sam.payoutId, code: "DUAL_CONTROL", message: "150.00 USD is above the program's dual-control amount of 100.00: someone other than its approver must send it" },
    ]);
    expect((await payout(sam.payoutId)).status).toBe("APPROVED");
    const other = await send([sam.payoutId], acme.financeToken, "stripe-other");
    expect(other.payouts.map((p) => [p.status, p.approvedBy, p.sentBy])).toEqual([["PROCESSING", "admin@acme.test", "finance@acme.test"]]);
    const sendAudit = (await auditsOf(sam.payoutId)).find((a) => a.action === "payout.send")!;
    expect(sendAudit.after).toMatchObject({ approvedBy: "admin@acme.test", sentBy: "finance@acme.test" });

    await tick(); // Stripe answers with the transfer: paid at once
    for (const p of [sam, tess]) expect((await payout(p.payoutId)).status).toBe("PAID");
    const [samTransfer] = await transfersOf(sam.payoutId);
    const [tessTransfer] = await transfersOf(tess.payoutId);
    expect(s.stripe.transfers.get(samTransfer!.providerTransferId!)).toMatchObject({ amount: 15000, destination: "acct_1Sam" });

    await s.stripe.reverse(samTransfer!.providerTransferId!);
    await s.stripe.redeliver(s.stripe.emitted.at(-1)!.id);
    await s.stripe.reverse(tessTransfer!.providerTransferId!, 500);
    await tick();
    const samAfter = await payout(sam.payoutId);
    expect(samAfter.status).toBe("RETURNED");
    expect(await db().commission.count({ where: { partnerId: sam.partner.rawId, reasonCode: "PAYMENT_BOUNCED" } })).toBe(2); // owed again, and not paid
    const tessAfter = await payout(tess.payoutId, tess.partner.token);
    expect(tessAfter).toMatchObject({ status: "PAID", bouncedAt: null });
    expect(tessAfter.providerNote).toMatch(/^Stripe: 5\.00 USD of it was reversed/);
    expect(await db().commission.count({ where: { partnerId: tess.partner.rawId, reasonCode: "PAYMENT_BOUNCED" } })).toBe(0);
  });

  it("lets only the program's admin or finance send, and only its own payouts", async () => {
    const zoe = await approvedPayout("Zoe Park", { type: "PAYPAL", email: "zoe@example.com" });
    const other = await createProgramFixture(t, { name: "Other" });
    const payoutsWriter = await acme.integrationToken(["PAYOUTS_READ", "PAYOUTS_WRITE"]);
    for (const token of [zoe.partner.token, acme.analystToken, payoutsWriter]) {
      const refused = await t.gql(SendPayoutsDoc, { input: { ids: [zoe.payoutId] } }, token);
      expect(refused.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    }
    expect((await send([zoe.payoutId], other.adminToken)).skipped.map((x) => x.code)).toEqual(["NOT_FOUND"]);
    expect((await t.gql(SendPayoutsDoc, { input: { ids: [zoe.payoutId] } }, null)).status).toBe(401);
    expect((await payout(zoe.payoutId)).status).toBe("APPROVED");
    expect(await db().payoutTransfer.count({ where: { payoutId: rawId(zoe.payoutId) } })).toBe(0);
  });

  it("books a BillPayment in QuickBooks for a payout the provider paid, and removes the Bill of one it failed", async () => {
    await connectQuickBooks(t, acme, qbo);
    const kim = await approvedPayout("Kim Cole", { type: "PAYPAL", email: "kim@example.com" });
    const lou = await approvedPayout("Lou Grant", { type: "PAYPAL", email: "lou@example.com" });
    s.paypal.fates.set("lou@example.com", "FAILED");
    await tick(); // the approvals' Bills
    const billOf = async (id: string) => (await db().payout.findUniqueOrThrow({ where: { id: rawId(id) } })).accountingBillId;
    const [kimBill, louBill] = [await billOf(kim.payoutId), await billOf(lou.payoutId)];
    expect(qbo.bills.has(kimBill!) && qbo.bills.has(louBill!)).toBe(true);
    const payments = qbo.billPayments.size;

    await send([kim.payoutId, lou.payoutId], acme.financeToken);
    await tick();
    const [sent] = await transfersOf(kim.payoutId);
    await s.paypal.settle(sent!.providerBatchId!);
    await tick(); // the events: PAID and FAILED, each queueing its accounting
    await tick(); // the accounting jobs
    const kimRow = await db().payout.findUniqueOrThrow({ where: { id: rawId(kim.payoutId) } });
    const louRow = await db().payout.findUniqueOrThrow({ where: { id: rawId(lou.payoutId) } });
    expect([kimRow.status, kimRow.accountingSyncStatus]).toEqual(["PAID", "PAID"]);
    expect(qbo.billPayments.size).toBe(payments + 1);
    expect([...qbo.billPayments.values()].at(-1).Line[0].LinkedTxn[0].TxnId).toBe(kimBill);
    expect([louRow.status, louRow.accountingSyncStatus, louRow.accountingBillPaymentId]).toEqual(["FAILED", "REMOVED", null]);
    expect(qbo.bills.has(louBill!)).toBe(false);
  });
});
