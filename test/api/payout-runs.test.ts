import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPaymentRails } from "../../src/integrations/payments/payment-rails.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { AddMethodDoc, connectProvider, railsEnv, type RailStandIns } from "../helpers/payment-rails-docs.ts";
import { ApprovePayoutsDoc, payableSale, SetBillingDoc } from "../helpers/payout-docs.ts";
import { PayoutOfRunDoc, PayoutRunDoc, PayoutRunsDoc, RunAndStoreDoc } from "../helpers/payout-run-docs.ts";
import { startPayPalStandIn } from "../helpers/paypal-stand-in.ts";
import { SendPayoutsDoc } from "../helpers/sending-docs.ts";
import { startStripeStandIn } from "../helpers/stripe-stand-in.ts";
import { dataOf, globalId, rawId, startTestApp, type TestApp } from "../helpers/test-app.ts";
import { startWiseStandIn } from "../helpers/wise-stand-in.ts";

/**
 * Payout runs as stored records (issue 15): a run keeps the payouts it
 * drafted and the partners it skipped with the reason; its totals follow its
 * payouts as they are sent, fail and are paid (Stripe's stand-in over HTTP);
 * sendPayouts sends a run's approved payouts. Admin and finance read runs;
 * a partner, an analyst and another program do not.
 */
describe.each(databaseTargets())("stored payout runs on %s", (target) => {
  let t: TestApp;
  let s: RailStandIns;
  let acme: ProgramFixture;
  let other: ProgramFixture;
  let integration: string;

  const tick = () => t.app.scheduler.runOnce({ poll: false });

  /** A partner with a verified Stripe account and a payable sale (10% of it is owed); billing details unless told not. */
  async function stripePartner(name: string, account: string, sale: string, billing = true) {
    const partner = await createPartnerFixture(t, acme, { name });
    s.stripe.connectedAccounts.set(account, { transfers: "active" });
    const added = dataOf(
      await t.gql(AddMethodDoc, { input: { partnerId: partner.id, method: { type: "STRIPE", accountId: account }, makeDefault: true } }, acme.adminToken),
    ).addPayoutMethod;
    expect(added.payoutMethod?.verificationStatus).toBe("VERIFIED");
    if (billing) {
      const set = dataOf(
        await t.gql(
          SetBillingDoc,
          { input: { partnerId: partner.id, profile: { entityType: "INDIVIDUAL", legalName: name, country: "US", taxForm: "W9", taxId: "123-45-6789" } } },
          acme.adminToken,
        ),
      ).setBillingProfile;
      expect(set.userErrors).toEqual([]);
    }
    await payableSale(t, acme, integration, partner.id, sale);
    return partner;
  }

  beforeAll(async () => {
    s = { paypal: await startPayPalStandIn(), wise: await startWiseStandIn(), stripe: await startStripeStandIn() };
    t = await startTestApp(target, { env: { ...railsEnv(s), ACCRUE_SCHEDULER: "0" } });
    Object.assign(t.app.deps, { paymentRails: createPaymentRails(t.app.config.payments, t.app.deps.secrets, { attempts: 2, baseDelayMs: 5, maxDelayMs: 50 }) });
    acme = await createProgramFixture(t, { name: "Acme" });
    other = await createProgramFixture(t, { name: "Other" });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE", "PAYOUTS_WRITE"]);
    await connectProvider(t, acme, s, "STRIPE");
  });
  afterAll(async () => {
    await t?.stop();
    await Promise.all([s?.paypal.close(), s?.wise.close(), s?.stripe.close()]);
  });

  it("stores a run with its drafts and skipped partners, sends its approved payouts by run id, and its totals follow them to PAID and FAILED", async () => {
    const sam = await stripePartner("Sam Runner", "acct_1RunSam", "1500.00");
    const ivy = await stripePartner("Ivy Runner", "acct_1RunIvy", "900.00");
    const nob = await stripePartner("Nob Nobilling", "acct_1RunNob", "400.00", false);

    const ran = dataOf(await t.gql(RunAndStoreDoc, { input: { idempotencyKey: "run-stored-1" } }, acme.financeToken)).runPayouts;
    expect(ran.userErrors).toEqual([]);
    expect(ran.run).toMatchObject({ trigger: "OPERATOR", createdBy: "finance@acme.test" });
    expect(ran.run!.finishedAt).not.toBeNull();
    expect(ran.payouts.map((p) => p.partner?.id).sort()).toEqual([sam.id, ivy.id].sort());
    expect(ran.skipped.map((x) => [x.partner?.id, x.reason])).toEqual([[nob.id, "NO_BILLING_DETAILS"]]);
    // A replay with the key answers with the same run; nothing is drafted again.
    const replay = dataOf(await t.gql(RunAndStoreDoc, { input: { idempotencyKey: "run-stored-1" } }, acme.financeToken)).runPayouts;
    expect(replay.run?.id).toBe(ran.run!.id);
    const runId = ran.run!.id;

    const listed = dataOf(await t.gql(PayoutRunsDoc, {}, acme.adminToken)).payoutRuns;
    expect(listed.totalCount).toBe(1);
    const stored = listed.edges[0]!.node;
    expect(stored.skipped).toEqual([{ partner: { id: nob.id }, reason: "NO_BILLING_DETAILS", message: expect.stringMatching(/billing/i) }]);
    expect(stored.payouts.totalCount).toBe(2);
    expect(stored.totals).toEqual({
      drafted: { count: 2, amount: { amount: "240.00", currency: "USD" } },
      sent: { count: 0, amount: { amount: "0.00" } },
      failed: { count: 0, amount: { amount: "0.00" } },
      paid: { count: 0, amount: { amount: "0.00" } },
      returned: { count: 0, amount: { amount: "0.00" } },
      cancelled: { count: 0, amount: { amount: "0.00" } },
    });
    const [samPayout, ivyPayout] = [ran.payouts.find((p) => p.partner?.id === sam.id)!.id, ran.payouts.find((p) => p.partner?.id === ivy.id)!.id];
    expect(dataOf(await t.gql(PayoutOfRunDoc, { id: samPayout }, acme.financeToken)).node).toMatchObject({ run: { id: runId } });

    // Ids and a run at once, or neither: refused. A run with nothing approved sends nothing.
    expect(dataOf(await t.gql(SendPayoutsDoc, { input: { ids: [samPayout], runId } }, acme.adminToken)).sendPayouts.userErrors.map((e) => e.code)).toEqual(["INVALID_INPUT"]);
    expect(dataOf(await t.gql(SendPayoutsDoc, { input: {} }, acme.adminToken)).sendPayouts.userErrors.map((e) => e.code)).toEqual(["INVALID_INPUT"]);
    expect(dataOf(await t.gql(SendPayoutsDoc, { input: { runId } }, acme.adminToken)).sendPayouts).toMatchObject({ payouts: [], skipped: [], userErrors: [] });

    const approved = dataOf(await t.gql(ApprovePayoutsDoc, { input: { ids: [samPayout, ivyPayout] } }, acme.adminToken)).approvePayouts;
    expect(approved.payouts.map((p) => p.status)).toEqual(["APPROVED", "APPROVED"]);
    // Ivy's connected account is gone by the time the money leaves: Stripe refuses that transfer alone.
    s.stripe.connectedAccounts.delete("acct_1RunIvy");
    const sent = dataOf(await t.gql(SendPayoutsDoc, { input: { runId, idempotencyKey: "send-run-1" } }, acme.financeToken)).sendPayouts;
    expect(sent.userErrors).toEqual([]);
    expect(sent.payouts.map((p) => [p.id, p.status]).sort()).toEqual(
      [
        [samPayout, "PROCESSING"],
        [ivyPayout, "PROCESSING"],
      ].sort(),
    );
    // Replayed with its key: the first answer; the key with the payouts named instead is another request.
    expect(dataOf(await t.gql(SendPayoutsDoc, { input: { runId, idempotencyKey: "send-run-1" } }, acme.financeToken)).sendPayouts.payouts).toHaveLength(2);
    expect(dataOf(await t.gql(SendPayoutsDoc, { input: { ids: [samPayout], idempotencyKey: "send-run-1" } }, acme.financeToken)).sendPayouts.userErrors.map((e) => e.code)).toEqual(
      ["IDEMPOTENCY_CONFLICT"],
    );

    const sending = dataOf(await t.gql(PayoutRunDoc, { id: runId }, acme.adminToken)).payoutRun!;
    expect(sending.totals).toEqual({ drafted: { count: 2 }, sent: { count: 2 }, paid: { count: 0 }, failed: { count: 0 } });
    await tick();
    const after = dataOf(await t.gql(PayoutRunsDoc, {}, acme.financeToken)).payoutRuns.edges[0]!.node;
    expect(Object.fromEntries(after.payouts.edges.map((e) => [e.node.id, e.node.status]))).toEqual({ [samPayout]: "PAID", [ivyPayout]: "FAILED" });
    expect(after.totals).toMatchObject({
      drafted: { count: 2, amount: { amount: "240.00" } },
      sent: { count: 2, amount: { amount: "240.00" } },
      paid: { count: 1, amount: { amount: "150.00" } },
      failed: { count: 1, amount: { amount: "90.00" } },
    });
    // One transfer left Stripe.
    expect([...s.stripe.transfers.values()].filter((tr) => tr.destination === "acct_1RunSam")).toHaveLength(1);
  });

  it("refuses a payableBefore in the future before storing anything", async () => {
    const before = dataOf(await t.gql(PayoutRunsDoc, {}, acme.adminToken)).payoutRuns.totalCount;
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const ran = dataOf(await t.gql(RunAndStoreDoc, { input: { payableBefore: future, idempotencyKey: "run-future-1" } }, acme.financeToken)).runPayouts;
    expect(ran.userErrors).toEqual([{ code: "INVALID_INPUT", message: "payableBefore cannot be in the future", field: ["input", "payableBefore"] }]);
    expect(ran).toMatchObject({ run: null, payouts: [], skipped: [] });
    expect(dataOf(await t.gql(PayoutRunsDoc, {}, acme.adminToken)).payoutRuns.totalCount).toBe(before);
    // The key was not taken: the same key with a valid request runs.
    const valid = dataOf(await t.gql(RunAndStoreDoc, { input: { idempotencyKey: "run-future-1" } }, acme.financeToken)).runPayouts;
    expect(valid.userErrors).toEqual([]);
    expect(valid.run).not.toBeNull();
  });

  it("is for admin and finance of its program: partners, analysts, read tokens and another program see nothing of it", async () => {
    const runs = dataOf(await t.gql(PayoutRunsDoc, {}, acme.adminToken)).payoutRuns;
    const run = runs.edges[0]!.node;
    const payoutId = run.payouts.edges[0]!.node.id;
    const owner = await t.app.db.prisma.payout.findUniqueOrThrow({ where: { id: rawId(payoutId) }, select: { partnerId: true } });
    const partner = await acme.partnerToken(globalId("Partner", owner.partnerId));
    const reader = await acme.integrationToken(["PAYOUTS_READ"]);
    for (const token of [partner, acme.analystToken, reader]) {
      const list = await t.gql(PayoutRunsDoc, {}, token);
      expect(list.data?.payoutRuns ?? null).toBeNull();
      expect(list.errors?.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
      const one = await t.gql(PayoutRunDoc, { id: run.id }, token);
      expect(one.data?.payoutRun ?? null).toBeNull();
      expect(one.errors?.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
    }
    // The partner reads its payout, not the run behind it.
    const own = await t.gql(PayoutOfRunDoc, { id: payoutId }, partner);
    expect(own.data?.node).toMatchObject({ id: payoutId, run: null });
    expect(own.errors?.map((e) => [e.path?.join("."), e.extensions?.code])).toEqual([["node.run", "FORBIDDEN"]]);
    // The token that runs payouts sees the run it made, in its payload only.
    const byToken = await t.raw({ query: `mutation { runPayouts(input: {}) { run { id trigger createdBy } userErrors { code } } }` }, integration);
    expect(byToken.errors).toBeUndefined();
    expect((byToken.data as { runPayouts: { run: { trigger: string } | null } }).runPayouts.run?.trigger).toBe("OPERATOR");

    // Another program's admin: the run reads as one that does not exist, and cannot be sent.
    const phantom = globalId("PayoutRun", "0190a0a0-0000-7000-8000-000000000000");
    const theirs = await t.gql(PayoutRunDoc, { id: run.id }, other.adminToken);
    const nothing = await t.gql(PayoutRunDoc, { id: phantom }, other.adminToken);
    expect(theirs).toEqual(nothing);
    expect(theirs.data?.payoutRun).toBeNull();
    const send = async (runId: string) => dataOf(await t.gql(SendPayoutsDoc, { input: { runId } }, other.adminToken)).sendPayouts;
    const refused = await send(run.id);
    expect(refused.userErrors.map((e) => e.code)).toEqual(["NOT_FOUND"]);
    expect(JSON.stringify(refused).replaceAll(run.id, "<ID>")).toBe(JSON.stringify(await send(phantom)).replaceAll(phantom, "<ID>"));
    expect(dataOf(await t.gql(PayoutRunsDoc, {}, other.adminToken)).payoutRuns.totalCount).toBe(0);
  });
});
