import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { createPaymentRails } from "../../src/integrations/payments/payment-rails.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { AddMethodDoc, connectProvider, railsEnv, type RailStandIns } from "../helpers/payment-rails-docs.ts";
import { ApprovePayoutsDoc, CreatePayoutDoc, payableSale, SetBillingDoc } from "../helpers/payout-docs.ts";
import { startPayPalStandIn } from "../helpers/paypal-stand-in.ts";
import { SendPayoutsDoc } from "../helpers/sending-docs.ts";
import { startStripeStandIn } from "../helpers/stripe-stand-in.ts";
import { dataOf, globalId, rawId, startTestApp, type TestApp } from "../helpers/test-app.ts";
import { startWiseStandIn } from "../helpers/wise-stand-in.ts";

const DiscrepancyDoc = graphql(`
  query PayoutDiscrepancy($id: ID!) {
    node(id: $id) {
      ... on Payout {
        id status
        providerDiscrepancy {
          kind message providerStatus foundAt
          providerAmount { amount currency } recordedAmount { amount currency } providerFee { amount currency } recordedFee { amount currency }
        }
      }
    }
  }
`);

/**
 * The provider reconciliation job (issue 15), through Stripe's stand-in over
 * HTTP: a PAID payout is compared with what Stripe says it sent, once a day;
 * a difference is shown on the payout to operators and written in the audit
 * trail, never corrected by itself, and cleared when it is gone.
 */
describe.each(databaseTargets())("provider reconciliation on %s", (target) => {
  let t: TestApp;
  let s: RailStandIns;
  let acme: ProgramFixture;
  let integration: string;

  const DAY = 24 * 60 * 60_000;
  const reconcile = () => t.app.scheduler.tasks.providerReconciliation();
  const discrepancy = async (payoutId: string, token = acme.financeToken) => {
    const node = dataOf(await t.gql(DiscrepancyDoc, { id: payoutId }, token)).node;
    if (!node || !("status" in node)) throw new Error(`no payout ${payoutId}`);
    return node;
  };
  const trail = async (payoutId: string) =>
    (await t.app.db.prisma.auditEntry.findMany({ where: { entityId: rawId(payoutId), action: { startsWith: "payout.provider_" } }, orderBy: { createdAt: "asc" } })).map((a) => [
      a.action,
      a.actorId,
    ]);

  /** A partner paid through Stripe: the payout is PAID when the send's answer comes back. */
  async function paidThroughStripe(name: string, account: string, sale: string) {
    s.stripe.connectedAccounts.set(account, { transfers: "active" });
    const partner = await createPartnerFixture(t, acme, { name });
    expect(
      dataOf(await t.gql(AddMethodDoc, { input: { partnerId: partner.id, method: { type: "STRIPE", accountId: account }, makeDefault: true } }, acme.adminToken)).addPayoutMethod
        .payoutMethod?.verificationStatus,
    ).toBe("VERIFIED");
    dataOf(
      await t.gql(
        SetBillingDoc,
        { input: { partnerId: partner.id, profile: { entityType: "INDIVIDUAL", legalName: name, country: "US", taxForm: "W9", taxId: "123-45-6789" } } },
        acme.adminToken,
      ),
    );
    await payableSale(t, acme, integration, partner.id, sale);
    const payoutId = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: partner.id } }, acme.adminToken)).createPayout.payout!.id;
    dataOf(await t.gql(ApprovePayoutsDoc, { input: { ids: [payoutId] } }, acme.adminToken));
    expect(dataOf(await t.gql(SendPayoutsDoc, { input: { ids: [payoutId] } }, acme.financeToken)).sendPayouts.payouts).toHaveLength(1);
    await t.app.scheduler.runOnce({ poll: false });
    expect((await discrepancy(payoutId)).status).toBe("PAID");
    const transfer = await t.app.db.prisma.payoutTransfer.findFirstOrThrow({ where: { payoutId: rawId(payoutId) } });
    return { partner, payoutId, transferId: transfer.providerTransferId! };
  }

  beforeAll(async () => {
    s = { paypal: await startPayPalStandIn(), wise: await startWiseStandIn(), stripe: await startStripeStandIn() };
    t = await startTestApp(target, { env: { ...railsEnv(s), ACCRUE_SCHEDULER: "0" } });
    Object.assign(t.app.deps, { paymentRails: createPaymentRails(t.app.config.payments, t.app.deps.secrets, { attempts: 2, baseDelayMs: 5, maxDelayMs: 50 }) });
    acme = await createProgramFixture(t, { name: "Acme" });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    // No webhook listener: what Stripe did afterwards reaches accrue only through the reconciliation's lookup.
    await connectProvider(t, acme, s, "STRIPE");
  });
  afterAll(async () => {
    await t?.stop();
    await Promise.all([s?.paypal.close(), s?.wise.close(), s?.stripe.close()]);
  });

  it("finds what Stripe sent differing from what was booked, shows it once, and clears it when they agree again", async () => {
    const sam = await paidThroughStripe("Sam Recon", "acct_1ReconSam", "800.00");
    expect(await reconcile()).toBeGreaterThanOrEqual(1);
    expect((await discrepancy(sam.payoutId)).providerDiscrepancy).toBeNull();

    // Stripe's record changes (as a dispute or a support correction could): not asked again within the day.
    const atStripe = s.stripe.transfers.get(sam.transferId)!;
    atStripe.amount = 7000;
    await reconcile();
    expect((await discrepancy(sam.payoutId)).providerDiscrepancy).toBeNull();
    t.clock.advance(DAY + 60_000);
    await reconcile();
    const found = await discrepancy(sam.payoutId);
    expect(found.status).toBe("PAID"); // never corrected by itself
    expect(found.providerDiscrepancy).toMatchObject({
      kind: "AMOUNT",
      providerStatus: "PAID",
      providerAmount: { amount: "70.00", currency: "USD" },
      recordedAmount: { amount: "80.00", currency: "USD" },
      message: "the provider sent 70.00 USD; accrue recorded 80.00 USD",
    });
    // Found again the next day: the same difference, first found when it was.
    t.clock.advance(DAY + 60_000);
    await reconcile();
    expect((await discrepancy(sam.payoutId)).providerDiscrepancy?.foundAt).toBe(found.providerDiscrepancy!.foundAt);
    expect(await trail(sam.payoutId)).toEqual([
      ["payout.provider_paid", "stripe-rail"],
      ["payout.provider_discrepancy", "stripe-rail"],
    ]);

    atStripe.amount = 8000;
    t.clock.advance(DAY + 60_000);
    await reconcile();
    expect((await discrepancy(sam.payoutId)).providerDiscrepancy).toBeNull();
    expect((await trail(sam.payoutId)).at(-1)).toEqual(["payout.provider_reconciled", "stripe-rail"]);
  });

  it("reports a transfer Stripe reversed that no webhook told of, without booking it", async () => {
    const tess = await paidThroughStripe("Tess Recon", "acct_1ReconTess", "600.00");
    await s.stripe.reverse(tess.transferId);
    t.clock.advance(DAY + 60_000);
    await reconcile();
    const found = await discrepancy(tess.payoutId);
    expect(found).toMatchObject({ status: "PAID", providerDiscrepancy: { kind: "STATUS", providerStatus: "RETURNED" } });
    expect(await t.app.db.prisma.commission.count({ where: { partnerId: tess.partner.rawId, reasonCode: "PAYMENT_BOUNCED" } })).toBe(0);
  });

  it("shows the difference to operators only: a partner and a read token get a refusal on that field, another program finds nothing", async () => {
    const row = (await t.app.db.prisma.payout.findMany({ where: { programId: acme.rawId } })).find((p) => p.providerDiscrepancy !== null);
    const payoutId = globalId("Payout", row!.id);
    for (const token of [acme.adminToken, acme.financeToken, acme.analystToken]) expect((await discrepancy(payoutId, token)).providerDiscrepancy?.kind).toBe("STATUS");
    const partner = await acme.partnerToken(globalId("Partner", row!.partnerId));
    for (const token of [partner, await acme.integrationToken(["PAYOUTS_READ"])]) {
      const answer = await t.gql(DiscrepancyDoc, { id: payoutId }, token);
      expect(answer.data?.node).toMatchObject({ id: payoutId, status: "PAID", providerDiscrepancy: null });
      expect(answer.errors?.map((e) => [e.path?.join("."), e.extensions?.code])).toEqual([["node.providerDiscrepancy", "FORBIDDEN"]]);
    }
    const other = await createProgramFixture(t, { name: "Other" });
    expect((await t.gql(DiscrepancyDoc, { id: payoutId }, other.adminToken)).data?.node).toBeNull();
  });
  it("reports a transfer Stripe no longer has as missing, and still compares the others", async () => {
    const una = await paidThroughStripe("Una Gone", "acct_1ReconUna", "500.00");
    const val = await paidThroughStripe("Val Kept", "acct_1ReconVal", "400.00");
    s.stripe.transfers.delete(una.transferId);
    s.stripe.transfers.get(val.transferId)!.amount = 3900;
    t.clock.advance(DAY + 60_000);
    await reconcile();
    expect((await discrepancy(una.payoutId)).providerDiscrepancy).toMatchObject({
      kind: "MISSING",
      providerStatus: null,
      providerAmount: null,
      recordedAmount: { amount: "50.00" },
    });
    expect((await discrepancy(val.payoutId)).providerDiscrepancy).toMatchObject({ kind: "AMOUNT", providerAmount: { amount: "39.00" } });
  });
});
