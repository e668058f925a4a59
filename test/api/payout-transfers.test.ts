import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { createPaymentRails } from "../../src/integrations/payments/payment-rails.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { connectProvider, draftPayoutThrough, railsEnv, type RailStandIns } from "../helpers/payment-rails-docs.ts";
import { ApprovePayoutsDoc } from "../helpers/payout-docs.ts";
import { startPayPalStandIn } from "../helpers/paypal-stand-in.ts";
import { SendPayoutsDoc } from "../helpers/sending-docs.ts";
import { startStripeStandIn } from "../helpers/stripe-stand-in.ts";
import { dataOf, globalId, rawId, startTestApp, type TestApp } from "../helpers/test-app.ts";
import { startWiseStandIn } from "../helpers/wise-stand-in.ts";

const TransfersDoc = graphql(`
  query PayoutTransfers($id: ID!) {
    node(id: $id) {
      ... on Payout {
        id status failureReason providerNote
        transfers {
          attempt provider status idempotencyKey batchKey providerTransferId providerBatchId reason rate createdAt
          amount { amount currency } fee { amount currency } sentAmount { amount currency }
        }
      }
    }
  }
`);

/**
 * A payout's send attempts as a GraphQL field (operators), and the cases a
 * provider's answer can take that matter most for sending exactly once,
 * through the stand-ins over HTTP: the provider does the transfer and the
 * answer never comes back in time (a timeout), for PayPal, Wise and Stripe;
 * and PayPal's unclaimed payment that returns after 30 days.
 */
describe.each(databaseTargets())("send attempts and provider timeouts on %s", (target) => {
  let t: TestApp;
  let s: RailStandIns;
  let acme: ProgramFixture;
  let integration: string;

  const db = () => t.app.db.prisma;
  const tick = () => t.app.scheduler.runOnce({ poll: false });
  const transfersOf = async (payoutId: string, token = acme.financeToken) => {
    const node = dataOf(await t.gql(TransfersDoc, { id: payoutId }, token)).node;
    if (!node || !("transfers" in node)) throw new Error(`no payout ${payoutId}`);
    return node;
  };

  /** A partner with a verified method, and an APPROVED payout of 10% of `sale`. */
  async function approvedPayout(name: string, method: Record<string, unknown>, sale = "500.00") {
    const { partner, payout } = await draftPayoutThrough(t, acme, integration, name, method, sale);
    expect(dataOf(await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, acme.adminToken)).approvePayouts.payouts).toHaveLength(1);
    return { partner, payoutId: payout.id };
  }
  const send = async (payoutId: string) => {
    const sent = dataOf(await t.gql(SendPayoutsDoc, { input: { ids: [payoutId] } }, acme.financeToken)).sendPayouts;
    expect(sent.payouts.map((p) => p.status)).toEqual(["PROCESSING"]);
  };

  beforeAll(async () => {
    s = { paypal: await startPayPalStandIn(), wise: await startWiseStandIn(), stripe: await startStripeStandIn() };
    t = await startTestApp(target, { env: { ...railsEnv(s), ACCRUE_SCHEDULER: "0" } });
    // Two tries within a call: a timed-out try is asked again at once with the same key.
    Object.assign(t.app.deps, { paymentRails: createPaymentRails(t.app.config.payments, t.app.deps.secrets, { attempts: 2, baseDelayMs: 5, maxDelayMs: 50 }) });
    acme = await createProgramFixture(t, { name: "Acme" });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    const hooks: Record<string, string> = {};
    for (const provider of ["PAYPAL", "WISE", "STRIPE"] as const) hooks[provider] = (await connectProvider(t, acme, s, provider)).webhookPath;
    s.paypal.listener = `${t.url}${hooks.PAYPAL}`;
    s.wise.listener = `${t.url}${hooks.WISE}`;
    s.stripe.listener = `${t.url}${hooks.STRIPE}`;
    s.wise.balances.set("USD", "100000.00");
  });
  afterAll(async () => {
    await t?.stop();
    await Promise.all([s?.paypal.close(), s?.wise.close(), s?.stripe.close()]);
  });

  it("PayPal: the batch is made, the answer times out, the retry with the same sender_batch_id finds it: one batch, one attempt", async () => {
    const ana = await approvedPayout("Ana Slow", { type: "PAYPAL", email: "ana.slow@example.com" });
    await send(ana.payoutId);
    s.paypal.failNext("slow-after-accept", 1, (r) => r.path === "/v1/payments/payouts" && r.method === "POST");
    await tick();
    await tick(); // a retry the outbox may have left for later
    const [attempt] = (await transfersOf(ana.payoutId)).transfers!;
    expect(s.paypal.countBatches(attempt!.batchKey)).toBe(1);
    expect(attempt).toMatchObject({
      attempt: 1,
      provider: "PAYPAL",
      status: "PROCESSING",
      idempotencyKey: `${rawId(ana.payoutId)}:1`,
      amount: { amount: "50.00", currency: "USD" },
    });
    expect(attempt!.providerBatchId).toBeTruthy();
    await s.paypal.settle(attempt!.providerBatchId!);
    await tick();
    const paid = await transfersOf(ana.payoutId);
    expect(paid.status).toBe("PAID");
    expect(paid.transfers).toHaveLength(1);
    expect(paid.transfers![0]).toMatchObject({ status: "PAID", providerTransferId: s.paypal.itemByReference(rawId(ana.payoutId))!.payout_item_id });
  });

  it("Wise: the transfer is made, the answer times out, the retry with the same customerTransactionId finds it and funds it once", async () => {
    const eve = await approvedPayout("Eve Slow", { type: "WISE", currency: "EUR", accountName: "Eve Slow", iban: "DE89 3704 0044 0532 0130 00" }, "1000.00");
    await send(eve.payoutId);
    const before = s.wise.transfers.size;
    s.wise.failNext("slow-after-accept", 1, (r) => r.path === "/v1/transfers" && r.method === "POST");
    await tick();
    await tick();
    expect(s.wise.transfers.size).toBe(before + 1);
    const [attempt] = (await transfersOf(eve.payoutId)).transfers!;
    expect(attempt).toMatchObject({ attempt: 1, provider: "WISE", status: "PROCESSING" });
    expect(s.wise.requests.filter((r) => r.path.endsWith(`/transfers/${attempt!.providerTransferId}/payments`))).toHaveLength(1);
    await s.wise.simulate(Number(attempt!.providerTransferId), "funds_converted");
    await s.wise.simulate(Number(attempt!.providerTransferId), "outgoing_payment_sent");
    await tick();
    const paid = await transfersOf(eve.payoutId);
    expect(paid.status).toBe("PAID");
    // What Wise reported: the rate and what reached the EUR side, and its fee in the source currency.
    expect(paid.transfers![0]!.rate).not.toBeNull();
    expect(paid.transfers![0]!.sentAmount?.currency).toBe("EUR");
    expect(paid.transfers![0]!.fee?.currency).toBe("USD");
  });

  it("Stripe: the transfer is made, the answer times out, the retry with the same Idempotency-Key replays it: one transfer", async () => {
    s.stripe.connectedAccounts.set("acct_1SlowSam", { transfers: "active" });
    const sam = await approvedPayout("Sam Slow", { type: "STRIPE", accountId: "acct_1SlowSam" }, "800.00");
    await send(sam.payoutId);
    s.stripe.failNext("slow-after-accept", 1, (r) => r.path === "/v1/transfers" && r.method === "POST");
    await tick();
    await tick();
    const made = [...s.stripe.transfers.values()].filter((tr) => tr.destination === "acct_1SlowSam");
    expect(made).toHaveLength(1);
    const node = await transfersOf(sam.payoutId);
    expect(node.status).toBe("PAID");
    expect(node.transfers).toEqual([
      expect.objectContaining({ attempt: 1, provider: "STRIPE", status: "PAID", providerTransferId: made[0]!.id, amount: { amount: "80.00", currency: "USD" } }),
    ]);
    // Paid by the provider's answer, its lines moved from inPayouts to paid: the balances agree with the lines.
    const reconciled = await t.raw({ query: "{ reconcileBalances { ok mismatches { bucket projected computed } } }" }, acme.adminToken);
    expect(reconciled.data).toEqual({ reconcileBalances: { ok: true, mismatches: [] } });
  });

  it("PayPal: an unclaimed payment stays on its way with a note, and when it returns unclaimed the payout fails and its lines are payable again", async () => {
    const uma = await approvedPayout("Uma Unclaimed", { type: "PAYPAL", email: "uma.nobody@example.com" });
    s.paypal.fates.set("uma.nobody@example.com", "UNCLAIMED");
    await send(uma.payoutId);
    await tick();
    const [sent] = (await transfersOf(uma.payoutId)).transfers!;
    await s.paypal.settle(sent!.providerBatchId!);
    await tick();
    // The partner sees why it has not arrived (not the attempt itself).
    const unclaimed = (await t.gql(TransfersDoc, { id: uma.payoutId }, uma.partner.token)).data?.node;
    expect(unclaimed).toMatchObject({ status: "PROCESSING", transfers: null });
    expect(unclaimed && "providerNote" in unclaimed ? unclaimed.providerNote : null).toMatch(/^PayPal: unclaimed .*30 days/);
    expect((await transfersOf(uma.payoutId)).transfers![0]!.status).toBe("UNCLAIMED");

    const item = s.paypal.itemByReference(rawId(uma.payoutId))!;
    await s.paypal.expireUnclaimed(item.payout_item_id);
    await tick();
    const returned = await transfersOf(uma.payoutId);
    expect(returned.status).toBe("FAILED");
    expect(returned.failureReason).toMatch(/^PayPal: returned before it arrived/);
    expect(returned.transfers).toEqual([expect.objectContaining({ status: "RETURNED", providerTransferId: item.payout_item_id })]);
    // Never paid: nothing to book back, and the lines are payable again.
    expect(await db().commission.count({ where: { partnerId: uma.partner.rawId, reasonCode: "PAYMENT_BOUNCED" } })).toBe(0);
    const balance = await db().balance.findFirstOrThrow({ where: { partnerId: uma.partner.rawId } });
    expect([balance.payable.toFixed(2), balance.inPayouts.toFixed(2), balance.paid.toFixed(2)]).toEqual(["50.00", "0.00", "0.00"]);
  });

  it("shows the attempts to operators only: a partner and a read token get a refusal on that field, another program finds no payout", async () => {
    const zed = await approvedPayout("Zed Reader", { type: "PAYPAL", email: "zed@example.com" });
    await send(zed.payoutId);
    for (const token of [acme.adminToken, acme.financeToken, acme.analystToken]) expect((await transfersOf(zed.payoutId, token)).transfers).toHaveLength(1);
    const reader = await acme.integrationToken(["PAYOUTS_READ"]);
    for (const token of [zed.partner.token, reader]) {
      const answer = await t.gql(TransfersDoc, { id: zed.payoutId }, token);
      expect(answer.data?.node).toMatchObject({ id: zed.payoutId, status: "PROCESSING", transfers: null });
      expect(answer.errors?.map((e) => [e.path?.join("."), e.extensions?.code])).toEqual([["node.transfers", "FORBIDDEN"]]);
    }
    const other = await createProgramFixture(t, { name: "Other" });
    const theirs = await t.gql(TransfersDoc, { id: zed.payoutId }, other.adminToken);
    const phantom = globalId("Payout", "0190a0a0-0000-7000-8000-000000000002");
    expect(theirs.data?.node).toBeNull();
    expect(JSON.stringify(theirs)).toBe(JSON.stringify(await t.gql(TransfersDoc, { id: phantom }, other.adminToken)));
  });
});
