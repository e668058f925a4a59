import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { balanceOf, expectReconciled, recordSale, ReverseDoc, ReviewDocs } from "../helpers/ledger-docs.ts";
import {
  AddMethodDoc,
  ApprovePayoutsDoc,
  CancelPayoutsDoc,
  CreatePayoutDoc,
  makePayable,
  payableSale,
  PayPayoutsDoc,
  RunPayoutsDoc,
  SetBillingDoc,
} from "../helpers/payout-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const RevealDoc = graphql(`mutation Reveal($input: RevealPayoutMethodInput!) { revealPayoutMethod(input: $input) { revealed { number } userErrors { code message } } }`);
const PartnerDetailsDoc = graphql(`
  query PartnerDetails($id: ID!) {
    partner(id: $id) {
      payoutMethods { id type label maskedNumber number isDefault }
      billingProfile { legalName maskedTaxId taxId }
      balance { payable { amount } payoutBlockers }
    }
  }
`);
const RemoveLinesDoc = graphql(`
  mutation RemoveLines($input: RemovePayoutLinesInput!) {
    removePayoutLines(input: $input) { payout { id amount { amount } lineCount } userErrors { code message field } }
  }
`);
const BounceDoc = graphql(`
  mutation Bounce($input: RecordPayoutBounceInput!) {
    recordPayoutBounce(input: $input) { payout { id status bouncedAt bounceReason } userErrors { code message field } }
  }
`);
const RequestPayoutDoc = graphql(
  `mutation RequestPayout($input: RequestPayoutInput!) { requestPayout(input: $input) { payout { id status amount { amount } } userErrors { code message } } }`,
);
const OverviewDoc = graphql(`
  query Overview {
    payoutsOverview { owedToPartners { amount } recoverable { amount } payableNow { amount } draftsAwaitingApproval draftsAmount { amount } approvedAwaitingPayment paidThisMonth { amount } paidThisMonthCount }
    pendingPayouts(first: 50) { totalCount edges { node { partner { id } payable { amount } payableCommissionCount payableRevenue { amount } lastPaidAt payoutBlockers } } }
  }
`);
const PayoutDoc = graphql(`query PayoutById($id: ID!) { payout(id: $id) { id status amount { amount } lineCount } }`);

describe.each(databaseTargets())("payouts on %s", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  let integration: string;

  beforeAll(async () => {
    t = await startTestApp(target);
    acme = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "50.00", holdPeriodDays: 30 });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
  });
  afterAll(() => t?.stop());

  it("checks payout methods per type, masks numbers for operators and shows them to the partner", async () => {
    const p = await createPartnerFixture(t, acme);
    const bad = dataOf(
      await t.gql(AddMethodDoc, { input: { partnerId: p.id, method: { type: "BANK_TRANSFER", accountName: "Pat", iban: "GB82 WEST 1234 5698 7654 33" } } }, p.token),
    ).addPayoutMethod;
    expect(bad.userErrors).toEqual([expect.objectContaining({ code: "INVALID_IBAN", field: ["input", "method", "iban"] })]);
    const ach = dataOf(
      await t.gql(
        AddMethodDoc,
        { input: { partnerId: p.id, method: { type: "ACH", accountName: "Pat", routingNumber: "021000022", accountNumber: "123456789", accountType: "CHECKING" } } },
        p.token,
      ),
    ).addPayoutMethod;
    expect(ach.userErrors).toEqual([expect.objectContaining({ code: "INVALID_ROUTING_NUMBER" })]);
    const email = dataOf(await t.gql(AddMethodDoc, { input: { partnerId: p.id, method: { type: "PAYPAL", email: "nope" } } }, p.token)).addPayoutMethod;
    expect(email.userErrors[0]?.code).toBe("INVALID_EMAIL");
    const unknown = await t.raw({ query: `mutation { addPayoutMethod(input: { partnerId: "${p.id}", method: { type: BITCOIN } }) { userErrors { code } } }` }, p.token);
    expect(unknown.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");

    const good = dataOf(
      await t.gql(
        AddMethodDoc,
        { input: { partnerId: p.id, method: { type: "BANK_TRANSFER", accountName: "Pat", iban: "de89 3704 0044 0532 0130 00", bic: "DEUTDEFF" } } },
        p.token,
      ),
    ).addPayoutMethod;
    expect(good.userErrors).toEqual([]);
    expect(good.payoutMethod).toMatchObject({ isDefault: true, maskedNumber: "•••• 3000", number: "DE89370400440532013000", bic: "DEUTDEFF" });

    const asOperator = dataOf(await t.gql(PartnerDetailsDoc, { id: p.id }, acme.financeToken)).partner!;
    expect(asOperator.payoutMethods[0]).toMatchObject({ maskedNumber: "•••• 3000", number: null });
    const asPartner = dataOf(await t.gql(PartnerDetailsDoc, { id: p.id }, p.token)).partner!;
    expect(asPartner.payoutMethods[0]?.number).toBe("DE89370400440532013000");

    // Finance may reveal only while paying this partner; the admin may, audited.
    expect((await t.gql(RevealDoc, { input: { id: good.payoutMethod!.id } }, acme.financeToken)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const revealed = dataOf(await t.gql(RevealDoc, { input: { id: good.payoutMethod!.id, reason: "verifying" } }, acme.adminToken)).revealPayoutMethod;
    expect(revealed.revealed?.number).toBe("DE89370400440532013000");
    expect((await t.gql(RevealDoc, { input: { id: good.payoutMethod!.id } }, p.token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

    // Another partner cannot add methods for this one.
    const other = await createPartnerFixture(t, acme);
    const hijack = await t.gql(AddMethodDoc, { input: { partnerId: p.id, method: { type: "PAYPAL", email: "thief@example.com" } } }, other.token);
    expect(hijack.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("keeps tax ids masked for operators, whole for the partner", async () => {
    const p = await createPartnerFixture(t, acme);
    const set = dataOf(
      await t.gql(
        SetBillingDoc,
        { input: { partnerId: p.id, profile: { entityType: "INDIVIDUAL", legalName: "Pat P", country: "US", taxForm: "W9", taxId: "123-45-6789" } } },
        p.token,
      ),
    ).setBillingProfile;
    expect(set.billingProfile).toMatchObject({ maskedTaxId: "•••• 6789", taxId: "123456789" });
    const asOperator = dataOf(await t.gql(PartnerDetailsDoc, { id: p.id }, acme.adminToken)).partner!;
    expect(asOperator.billingProfile).toMatchObject({ maskedTaxId: "•••• 6789", taxId: null });
    const badForm = dataOf(
      await t.gql(SetBillingDoc, { input: { partnerId: p.id, profile: { entityType: "INDIVIDUAL", legalName: "Pat P", country: "DE", taxForm: "W9" } } }, p.token),
    ).setBillingProfile;
    expect(badForm.userErrors.map((e) => e.field?.join("."))).toContain("input.profile.taxForm");
  });

  it("drafts only when the partner can be paid, and says why not", async () => {
    const p = await createPartnerFixture(t, acme);
    await payableSale(t, acme, integration, p.id, "300.00"); // $30.00 payable
    const noMethod = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout;
    expect(noMethod.userErrors[0]?.code).toBe("BELOW_MINIMUM");
    const blockers = dataOf(await t.gql(PartnerDetailsDoc, { id: p.id }, acme.financeToken)).partner!.balance!.payoutBlockers;
    expect(blockers).toEqual(["BELOW_MINIMUM", "NO_PAYOUT_METHOD", "NO_BILLING_DETAILS"]);

    await payableSale(t, acme, integration, p.id, "300.00"); // $60.00 now
    expect(dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.userErrors[0]?.code).toBe("NO_PAYOUT_METHOD");
    await t.gql(AddMethodDoc, { input: { partnerId: p.id, method: { type: "PAYPAL", email: "p@pay.example" } } }, acme.financeToken);
    expect(dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.userErrors[0]?.code).toBe("NO_BILLING_DETAILS");
    await makePayable(t, acme, p.id);

    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout;
    expect(draft.userErrors).toEqual([]);
    expect(draft.payout).toMatchObject({ status: "DRAFT", amount: { amount: "60.00", currency: "USD" }, lineCount: 2 });
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ payable: "0.00", inPayouts: "60.00" });
    const again = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout;
    expect(again.userErrors[0]?.code).toBe("OPEN_PAYOUT_EXISTS");
    await expectReconciled(t, acme.adminToken);
  });

  it("lets only an admin pay below the minimum, with a reason", async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    await payableSale(t, acme, integration, p.id, "100.00"); // $10.00
    const byFinance = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id, overrideMinimumReason: "leaving" } }, acme.financeToken)).createPayout;
    expect(byFinance.userErrors[0]?.field).toEqual(["input", "overrideMinimumReason"]);
    const byAdmin = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id, overrideMinimumReason: "partner is leaving the program" } }, acme.adminToken)).createPayout;
    expect(byAdmin.payout).toMatchObject({ amount: { amount: "10.00" }, minimumOverrideReason: "partner is leaving the program" });
  });

  it("approves, pays (method required) and refuses what the lifecycle forbids", async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    const { commissionId } = await payableSale(t, acme, integration, p.id, "700.00");
    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;

    const payDraft = dataOf(await t.gql(PayPayoutsDoc, { input: { ids: [draft.id], method: "PAYPAL" } }, acme.financeToken)).markPayoutsPaid;
    expect(payDraft.skipped).toEqual([expect.objectContaining({ id: draft.id, code: "INVALID_TRANSITION" })]);
    const approved = dataOf(await t.gql(ApprovePayoutsDoc, { input: { ids: [draft.id] } }, acme.financeToken)).approvePayouts;
    expect(approved.payouts[0]?.status).toBe("APPROVED");
    const noMethod = await t.raw({ query: `mutation { markPayoutsPaid(input: { ids: ["${draft.id}"] }) { userErrors { code } } }` }, acme.financeToken);
    expect(noMethod.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");

    const paid = dataOf(
      await t.gql(PayPayoutsDoc, { input: { ids: [draft.id], method: "PAYPAL", reference: "PP-778899", notes: "March run" } }, acme.financeToken),
    ).markPayoutsPaid;
    expect(paid.payouts[0]).toMatchObject({ status: "PAID", method: "PAYPAL", reference: "PP-778899" });
    expect(paid.payouts[0]?.lines.map((l) => [l.commission.id, l.commission.status])).toEqual([[commissionId, "PAID"]]);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ inPayouts: "0.00", paid: "70.00", lifetimeEarned: "70.00" });

    const cancelPaid = dataOf(await t.gql(CancelPayoutsDoc, { input: { ids: [draft.id], reason: "oops" } }, acme.financeToken)).cancelPayouts;
    expect(cancelPaid.skipped[0]?.code).toBe("INVALID_TRANSITION");
    const payAgain = dataOf(await t.gql(PayPayoutsDoc, { input: { ids: [draft.id], method: "ACH" } }, acme.financeToken)).markPayoutsPaid;
    expect(payAgain.skipped[0]?.code).toBe("INVALID_TRANSITION");
    await expectReconciled(t, acme.adminToken);
  });

  it("cancels a payout, making its lines payable again", async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    await payableSale(t, acme, integration, p.id, "600.00");
    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    await t.gql(ApprovePayoutsDoc, { input: { ids: [draft.id] } }, acme.financeToken);
    const noReason = dataOf(await t.gql(CancelPayoutsDoc, { input: { ids: [draft.id], reason: " " } }, acme.financeToken)).cancelPayouts;
    expect(noReason.userErrors[0]?.field).toEqual(["input", "reason"]);
    const cancelled = dataOf(await t.gql(CancelPayoutsDoc, { input: { ids: [draft.id], reason: "wrong period" } }, acme.financeToken)).cancelPayouts;
    expect(cancelled.payouts[0]).toMatchObject({ status: "CANCELLED", cancelReason: "wrong period" });
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ payable: "60.00", inPayouts: "0.00" });
    // The lines can go into a new payout.
    const next = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout;
    expect(next.payout?.amount.amount).toBe("60.00");
  });

  it("nets a clawback after payment against the next payout", async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    const first = await payableSale(t, acme, integration, p.id, "800.00"); // $80
    const payout = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, acme.financeToken);
    await t.gql(PayPayoutsDoc, { input: { ids: [payout.id], method: "PAYPAL" } }, acme.financeToken);
    // The customer returns half: the paid line stays paid, a -$40 clawback is booked.
    const refund = dataOf(await t.gql(ReverseDoc, { input: { conversionId: first.conversionId, refundId: "after-paid", amount: "400.00" } }, integration)).reverseConversion;
    expect(refund.reversal?.commissions.map((c) => [c.kind, c.status, c.amount.amount])).toEqual([["CLAWBACK", "APPROVED", "-40.00"]]);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ payable: "-40.00", paid: "80.00", recoverable: "40.00" });

    // A partner whose balance is negative is skipped with that reason.
    const run = dataOf(await t.gql(RunPayoutsDoc, { input: {} }, acme.financeToken)).runPayouts;
    expect(run.skipped.find((s) => s.partner?.id === p.id)?.reason).toBe("NOT_POSITIVE");

    await payableSale(t, acme, integration, p.id, "1000.00"); // +$100
    const next = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    expect(next.amount.amount).toBe("60.00"); // 100 − 40
    expect(next.lines.map((l) => l.commission.kind).sort()).toEqual(["CLAWBACK", "CONVERSION"]);
    await expectReconciled(t, acme.adminToken);
  });

  it("takes a refunded line out of a draft, and lets a partial refund's negative share join it", async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    const a = await payableSale(t, acme, integration, p.id, "500.00"); // $50
    const b = await payableSale(t, acme, integration, p.id, "300.00"); // $30
    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    expect(draft.amount.amount).toBe("80.00");
    await t.gql(ReverseDoc, { input: { conversionId: a.conversionId, refundId: "draft-full" } }, integration);
    let now = dataOf(await t.gql(PayoutDoc, { id: draft.id }, acme.adminToken)).payout!;
    expect(now).toMatchObject({ amount: { amount: "30.00" }, lineCount: 1 });
    await t.gql(ReverseDoc, { input: { conversionId: b.conversionId, refundId: "draft-part", amount: "100.00" } }, integration);
    now = dataOf(await t.gql(PayoutDoc, { id: draft.id }, acme.adminToken)).payout!;
    expect(now).toMatchObject({ amount: { amount: "20.00" }, lineCount: 2 }); // 30 − 10
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ inPayouts: "20.00", payable: "0.00", lifetimeEarned: "20.00" });
    await expectReconciled(t, acme.adminToken);
  });

  it("removes lines from a draft only", async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    const a = await payableSale(t, acme, integration, p.id, "500.00");
    await payableSale(t, acme, integration, p.id, "600.00"); // what stays reaches the $50 minimum, so the draft can be approved below
    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    const removed = dataOf(
      await t.gql(RemoveLinesDoc, { input: { payoutId: draft.id, commissionIds: [a.commissionId], reason: "disputed" } }, acme.financeToken),
    ).removePayoutLines;
    expect(removed.payout).toMatchObject({ amount: { amount: "60.00" }, lineCount: 1 });
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ payable: "50.00", inPayouts: "60.00" });
    const notIn = dataOf(await t.gql(RemoveLinesDoc, { input: { payoutId: draft.id, commissionIds: [a.commissionId] } }, acme.financeToken)).removePayoutLines;
    expect(notIn.userErrors[0]?.code).toBe("INVALID_INPUT");
    expect(dataOf(await t.gql(ApprovePayoutsDoc, { input: { ids: [draft.id] } }, acme.financeToken)).approvePayouts.payouts).toHaveLength(1);
    const fromApproved = dataOf(await t.gql(RemoveLinesDoc, { input: { payoutId: draft.id, commissionIds: [a.commissionId] } }, acme.financeToken)).removePayoutLines;
    expect(fromApproved.userErrors[0]?.code).toBe("INVALID_TRANSITION");
  });

  it("books a bounced payment as a credit, keeping the payout paid, and counts what came back as neither paid nor earned twice", async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    await payableSale(t, acme, integration, p.id, "900.00");
    const payout = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    const early = dataOf(await t.gql(BounceDoc, { input: { payoutId: payout.id, reason: "returned" } }, acme.financeToken)).recordPayoutBounce;
    expect(early.userErrors[0]?.code).toBe("INVALID_TRANSITION");
    await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, acme.financeToken);
    await t.gql(PayPayoutsDoc, { input: { ids: [payout.id], method: "ACH", reference: "ACH-1" } }, acme.financeToken);
    const bounced = dataOf(await t.gql(BounceDoc, { input: { payoutId: payout.id, reason: "account closed" } }, acme.financeToken)).recordPayoutBounce;
    expect(bounced.payout).toMatchObject({ status: "PAID", bounceReason: "account closed" });
    // 90.00 earned, paid once and returned: nothing was paid, 90.00 is owed again.
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ paid: "0.00", payable: "90.00", lifetimeEarned: "90.00" });
    const twice = dataOf(await t.gql(BounceDoc, { input: { payoutId: payout.id, reason: "again" } }, acme.financeToken)).recordPayoutBounce;
    expect(twice.userErrors[0]?.code).toBe("INVALID_TRANSITION");
  });

  it("lets a partner request its payout when the program allows it", async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    await payableSale(t, acme, integration, p.id, "550.00");
    const requested = dataOf(await t.gql(RequestPayoutDoc, { input: {} }, p.token)).requestPayout;
    expect(requested.payout).toMatchObject({ status: "DRAFT", amount: { amount: "55.00" } });
    expect((await t.gql(RequestPayoutDoc, { input: {} }, acme.financeToken)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const closed = await createProgramFixture(t, { allowPayoutRequests: false });
    const q = await createPartnerFixture(t, closed);
    expect(dataOf(await t.gql(RequestPayoutDoc, { input: {} }, q.token)).requestPayout.userErrors[0]?.code).toBe("PAYOUT_REQUESTS_DISABLED");
  });

  it("replays a money-moving call with its idempotency key instead of acting twice", async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    await payableSale(t, acme, integration, p.id, "600.00");
    const first = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id, idempotencyKey: "cp-1" } }, acme.financeToken)).createPayout;
    const replay = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id, idempotencyKey: "cp-1" } }, acme.financeToken)).createPayout;
    expect(replay.userErrors).toEqual([]);
    expect(replay.payout?.id).toBe(first.payout?.id);
    const other = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id, idempotencyKey: "cp-1", overrideMinimumReason: "x" } }, acme.adminToken)).createPayout;
    expect(other.userErrors[0]?.code).toBe("IDEMPOTENCY_CONFLICT");
    const approveKey = { ids: [first.payout!.id], idempotencyKey: "ap-1" };
    const a1 = dataOf(await t.gql(ApprovePayoutsDoc, { input: approveKey }, acme.financeToken)).approvePayouts;
    const a2 = dataOf(await t.gql(ApprovePayoutsDoc, { input: approveKey }, acme.financeToken)).approvePayouts;
    expect(a1.payouts.map((x) => x.id)).toEqual([first.payout!.id]);
    expect(a2.payouts.map((x) => x.id)).toEqual([first.payout!.id]);
    expect(a2.skipped).toEqual([]);
  });

  it("keeps other programs' payouts out of reach", async () => {
    const other = await createProgramFixture(t);
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    await payableSale(t, acme, integration, p.id, "600.00");
    const payout = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    const foreign = dataOf(await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, other.adminToken)).approvePayouts;
    expect(foreign.skipped).toEqual([expect.objectContaining({ code: "NOT_FOUND" })]);
    expect(dataOf(await t.gql(PayoutDoc, { id: payout.id }, other.adminToken)).payout).toBeNull();
    expect(dataOf(await t.gql(PayoutDoc, { id: payout.id }, acme.adminToken)).payout?.status).toBe("DRAFT");
    expect((await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, p.token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, acme.analystToken)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const stranger = await createPartnerFixture(t, acme);
    expect(dataOf(await t.gql(PayoutDoc, { id: payout.id }, stranger.token)).payout).toBeNull();
    expect(dataOf(await t.gql(PayoutDoc, { id: payout.id }, p.token)).payout?.id).toBe(payout.id);
  });

  it("runs payouts for every eligible partner and says why it skipped the others", async () => {
    const run = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "50.00" });
    const token = await run.integrationToken(["CONVERSIONS_WRITE"]);
    const partner = async (setup: (id: string) => Promise<void>) => {
      const p = await createPartnerFixture(t, run);
      await setup(p.id);
      return p;
    };
    const eligible = await partner(async (id) => {
      await makePayable(t, run, id);
      await payableSale(t, run, token, id, "800.00");
    });
    const below = await partner(async (id) => {
      await makePayable(t, run, id);
      await payableSale(t, run, token, id, "100.00");
    });
    const noMethod = await partner(async (id) => {
      await t.gql(SetBillingDoc, { input: { partnerId: id, profile: { entityType: "COMPANY", legalName: "NoMethod Ltd", country: "GB" } } }, run.adminToken);
      await payableSale(t, run, token, id, "800.00");
    });
    const noBilling = await partner(async (id) => {
      await t.gql(AddMethodDoc, { input: { partnerId: id, method: { type: "VENMO", handle: "@nobill" } } }, run.adminToken);
      await payableSale(t, run, token, id, "800.00");
    });
    const open = await partner(async (id) => {
      await makePayable(t, run, id);
      await payableSale(t, run, token, id, "800.00");
      await t.gql(CreatePayoutDoc, { input: { partnerId: id } }, run.financeToken);
      await payableSale(t, run, token, id, "900.00");
    });
    const negative = await partner(async (id) => {
      await makePayable(t, run, id);
      const sale = await payableSale(t, run, token, id, "800.00");
      const payout = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: id } }, run.financeToken)).createPayout.payout!;
      await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, run.financeToken);
      await t.gql(PayPayoutsDoc, { input: { ids: [payout.id], method: "PAYPAL" } }, run.financeToken);
      await t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: `neg-${id}` } }, token);
    });

    const report = dataOf(await t.gql(RunPayoutsDoc, { input: { idempotencyKey: "run-1" } }, run.financeToken)).runPayouts;
    expect(report.userErrors).toEqual([]);
    expect(report.payouts.map((p) => [p.partner.id, p.amount.amount])).toEqual([[eligible.id, "80.00"]]);
    const reasons = Object.fromEntries(report.skipped.map((s) => [s.partner!.id, s.reason]));
    expect(reasons).toEqual({
      [below.id]: "BELOW_MINIMUM",
      [noMethod.id]: "NO_PAYOUT_METHOD",
      [noBilling.id]: "NO_BILLING_DETAILS",
      [open.id]: "OPEN_PAYOUT_EXISTS",
      [negative.id]: "NOT_POSITIVE",
    });
    const replay = dataOf(await t.gql(RunPayoutsDoc, { input: { idempotencyKey: "run-1" } }, run.financeToken)).runPayouts;
    expect(replay.payouts.map((p) => p.id)).toEqual(report.payouts.map((p) => p.id));
    expect(replay.skipped).toHaveLength(5);
    const second = dataOf(await t.gql(RunPayoutsDoc, { input: {} }, run.financeToken)).runPayouts;
    expect(second.payouts).toEqual([]);
    await expectReconciled(t, run.adminToken);
  });

  it("cancels a draft that refunds or removals leave with no line, so it blocks no later payout", async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    const sale = await payableSale(t, acme, integration, p.id, "600.00"); // $60
    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    const chargeback = dataOf(await t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: `cb-${p.id}`, kind: "CHARGEBACK" } }, integration)).reverseConversion;
    expect(chargeback.userErrors).toEqual([]);
    expect(dataOf(await t.gql(PayoutDoc, { id: draft.id }, acme.adminToken)).payout).toMatchObject({ status: "CANCELLED", lineCount: 0 });

    // The next payout is not blocked by the emptied draft; emptied by removing its line, it goes too.
    const next = await payableSale(t, acme, integration, p.id, "700.00");
    const second = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout;
    expect(second.userErrors).toEqual([]);
    const removed = dataOf(await t.gql(RemoveLinesDoc, { input: { payoutId: second.payout!.id, commissionIds: [next.commissionId] } }, acme.financeToken)).removePayoutLines;
    expect(removed.userErrors).toEqual([]);
    expect(dataOf(await t.gql(PayoutDoc, { id: second.payout!.id }, acme.adminToken)).payout).toMatchObject({ status: "CANCELLED", lineCount: 0 });
    expect(dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.userErrors).toEqual([]);
    await expectReconciled(t, acme.adminToken);
  });

  it("refuses a payment dated before the payout's approval", async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    await payableSale(t, acme, integration, p.id, "600.00");
    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    const approved = dataOf(await t.gql(ApprovePayoutsDoc, { input: { ids: [draft.id] } }, acme.financeToken)).approvePayouts.payouts[0]!;
    const early = new Date(Date.parse(approved.approvedAt!) - 86_400_000).toISOString();
    const refused = dataOf(await t.gql(PayPayoutsDoc, { input: { ids: [draft.id], method: "WIRE", paidAt: early } }, acme.financeToken)).markPayoutsPaid;
    expect(refused.payouts).toEqual([]);
    expect(refused.skipped).toEqual([expect.objectContaining({ id: draft.id, code: "INVALID_INPUT" })]);
    expect(dataOf(await t.gql(PayoutDoc, { id: draft.id }, acme.adminToken)).payout?.status).toBe("APPROVED");
    const paid = dataOf(await t.gql(PayPayoutsDoc, { input: { ids: [draft.id], method: "WIRE", paidAt: approved.approvedAt } }, acme.financeToken)).markPayoutsPaid;
    expect(paid.payouts.map((x) => [x.status, x.paidAt])).toEqual([["PAID", approved.approvedAt]]);
  });

  it("shows the dashboard figures and the pending payouts list", async () => {
    const fresh = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "50.00" });
    const token = await fresh.integrationToken(["CONVERSIONS_WRITE"]);
    const [p, q, r] = [await createPartnerFixture(t, fresh), await createPartnerFixture(t, fresh), await createPartnerFixture(t, fresh)];
    for (const x of [p, q]) await makePayable(t, fresh, x.id);
    await payableSale(t, fresh, token, p.id, "1000.00"); // $100 payable
    await payableSale(t, fresh, token, q.id, "200.00"); // $20: below the minimum
    await payableSale(t, fresh, token, r.id, "700.00"); // $70, no method
    await payableSale(t, fresh, token, p.id, "500.00"); // +$50 for p
    const overview = dataOf(await t.gql(OverviewDoc, {}, fresh.analystToken));
    // payableNow is what a run would draft: p's $150; not q (below the minimum) nor r (no payout method), whom a run skips.
    expect(overview.payoutsOverview).toMatchObject({ owedToPartners: { amount: "240.00" }, payableNow: { amount: "150.00" }, draftsAwaitingApproval: 0 });
    const rows = overview.pendingPayouts.edges.map((e) => e.node);
    expect(rows.map((row) => [row.partner.id, row.payable.amount, row.payableCommissionCount, row.payableRevenue.amount])).toEqual([
      [p.id, "150.00", 2, "1500.00"],
      [r.id, "70.00", 1, "700.00"],
      [q.id, "20.00", 1, "200.00"],
    ]);
    expect(rows[1]?.payoutBlockers).toEqual(["NO_PAYOUT_METHOD", "NO_BILLING_DETAILS"]);

    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, fresh.financeToken)).createPayout.payout!;
    await payableSale(t, fresh, token, p.id, "600.00"); // +$60 for p, who has an open payout: a run skips p too
    expect(dataOf(await t.gql(OverviewDoc, {}, fresh.analystToken)).payoutsOverview.payableNow.amount).toMatch(/^0(\.00)?$/);
    await t.gql(ApprovePayoutsDoc, { input: { ids: [draft.id] } }, fresh.financeToken);
    await t.gql(PayPayoutsDoc, { input: { ids: [draft.id], method: "WIRE" } }, fresh.financeToken);
    const after = dataOf(await t.gql(OverviewDoc, {}, fresh.analystToken)).payoutsOverview;
    expect(after).toMatchObject({ owedToPartners: { amount: "150.00" }, payableNow: { amount: "60.00" }, paidThisMonth: { amount: "150.00" }, paidThisMonthCount: 1 });
    expect((await t.gql(OverviewDoc, {}, p.token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("refuses to approve a draft a refund left negative, or one shrunk below the minimum, but honours an admin's override", async () => {
    const small = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "1.00" });
    const token = await small.integrationToken(["CONVERSIONS_WRITE"]);
    const p = await createPartnerFixture(t, small);
    await makePayable(t, small, p.id);
    const first = await payableSale(t, small, token, p.id, "100.00"); // $10.00
    const paid = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, small.financeToken)).createPayout.payout!;
    await t.gql(ApprovePayoutsDoc, { input: { ids: [paid.id] } }, small.financeToken);
    await t.gql(PayPayoutsDoc, { input: { ids: [paid.id], method: "PAYPAL" } }, small.financeToken);
    await t.gql(ReverseDoc, { input: { conversionId: first.conversionId, refundId: "a-full-1" } }, token); // -$10.00 clawback
    const second = await payableSale(t, small, token, p.id, "200.00"); // $20.00
    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, small.financeToken)).createPayout.payout!;
    expect(draft.amount.amount).toBe("10.00"); // 20 − 10
    await t.gql(ReverseDoc, { input: { conversionId: second.conversionId, refundId: "a-full-2" } }, token);
    expect(dataOf(await t.gql(PayoutDoc, { id: draft.id }, small.adminToken)).payout).toMatchObject({ status: "DRAFT", amount: { amount: "-10.00" }, lineCount: 1 });

    const approve = dataOf(await t.gql(ApprovePayoutsDoc, { input: { ids: [draft.id] } }, small.financeToken)).approvePayouts;
    expect(approve.payouts).toEqual([]);
    expect(approve.skipped).toEqual([{ id: draft.id, code: "NOT_POSITIVE", message: expect.stringContaining("-10.00 USD") }]);
    const pay = dataOf(await t.gql(PayPayoutsDoc, { input: { ids: [draft.id], method: "PAYPAL" } }, small.financeToken)).markPayoutsPaid;
    expect(pay.skipped[0]?.code).toBe("INVALID_TRANSITION");
    expect(await balanceOf(t, small.adminToken, p.id)).toMatchObject({ inPayouts: "-10.00", paid: "10.00" });
    // Cancelling is the way out: the clawback is recoverable again, not treated as recovered.
    const cancelled = dataOf(await t.gql(CancelPayoutsDoc, { input: { ids: [draft.id], reason: "refunded" } }, small.financeToken)).cancelPayouts;
    expect(cancelled.payouts[0]?.status).toBe("CANCELLED");
    expect(await balanceOf(t, small.adminToken, p.id)).toMatchObject({ payable: "-10.00", inPayouts: "0.00", paid: "10.00", recoverable: "10.00" });
    await expectReconciled(t, small.adminToken);

    // Minimum $50: removing a line may leave the draft below it; approving it is refused.
    const q = await createPartnerFixture(t, acme);
    await makePayable(t, acme, q.id);
    const a = await payableSale(t, acme, integration, q.id, "400.00"); // $40
    await payableSale(t, acme, integration, q.id, "300.00"); // $30
    const shrunk = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: q.id } }, acme.financeToken)).createPayout.payout!;
    const removed = dataOf(
      await t.gql(RemoveLinesDoc, { input: { payoutId: shrunk.id, commissionIds: [a.commissionId], reason: "disputed" } }, acme.financeToken),
    ).removePayoutLines;
    expect(removed.userErrors).toEqual([]);
    expect(removed.payout?.amount.amount).toBe("30.00");
    const below = dataOf(await t.gql(ApprovePayoutsDoc, { input: { ids: [shrunk.id] } }, acme.financeToken)).approvePayouts;
    expect(below.skipped).toEqual([expect.objectContaining({ id: shrunk.id, code: "BELOW_MINIMUM" })]);
    expect(dataOf(await t.gql(PayoutDoc, { id: shrunk.id }, acme.adminToken)).payout?.status).toBe("DRAFT");

    // Drafted with an admin's override, a payout below the minimum is approved and paid.
    const r = await createPartnerFixture(t, acme);
    await makePayable(t, acme, r.id);
    await payableSale(t, acme, integration, r.id, "100.00"); // $10
    const leaving = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: r.id, overrideMinimumReason: "partner is leaving" } }, acme.adminToken)).createPayout.payout!;
    const both = dataOf(await t.gql(ApprovePayoutsDoc, { input: { ids: [leaving.id, shrunk.id] } }, acme.financeToken)).approvePayouts;
    expect(both.payouts.map((x) => x.id)).toEqual([leaving.id]);
    expect(both.skipped.map((x) => [x.id, x.code])).toEqual([[shrunk.id, "BELOW_MINIMUM"]]);
    const paidLeaving = dataOf(await t.gql(PayPayoutsDoc, { input: { ids: [leaving.id], method: "PAYPAL" } }, acme.financeToken)).markPayoutsPaid;
    expect(paidLeaving.payouts[0]?.status).toBe("PAID");
    await expectReconciled(t, acme.adminToken);
  });

  it("nets a fresh clawback against a payout for a past period", async () => {
    const past = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "1.00", holdPeriodDays: 0 });
    const token = await past.integrationToken(["CONVERSIONS_WRITE"]);
    const periodEnd = "2026-01-31T23:59:59.000Z"; // the clock reads 2026-03-10
    // Paid $10.00, then refunded in full now: a -$10.00 clawback payable now, after the period.
    const refunded = async (id: string) => {
      await makePayable(t, past, id);
      const sale = await payableSale(t, past, token, id, "100.00"); // $10.00, payable since 2025-12-01
      const payout = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: id } }, past.financeToken)).createPayout.payout!;
      await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, past.financeToken);
      await t.gql(PayPayoutsDoc, { input: { ids: [payout.id], method: "PAYPAL" } }, past.financeToken);
      await t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: `b-${id}` } }, token);
      await payableSale(t, past, token, id, "200.00"); // $20.00 in the period
      // $5.00 earned after the period: payable now, but not in a payout for January.
      const later = await recordSale(t, token, id, { amount: "50.00", occurredAt: "2026-02-20T00:00:00.000Z" });
      await t.gql(ReviewDocs.approve, { input: { ids: [later.commissionId] } }, past.adminToken);
    };
    const p = await createPartnerFixture(t, past);
    await refunded(p.id);
    expect(await balanceOf(t, past.adminToken, p.id)).toMatchObject({ payable: "15.00" }); // 20 + 5 − 10
    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id, payableBefore: periodEnd } }, past.financeToken)).createPayout;
    expect(draft.userErrors).toEqual([]);
    expect(draft.payout?.amount.amount).toBe("10.00"); // 20 − 10, not 20 gross
    expect(draft.payout?.lines.map((l) => [l.commission.kind, l.amount.amount]).sort()).toEqual([
      ["CLAWBACK", "-10.00"],
      ["CONVERSION", "20.00"],
    ]);
    expect(await balanceOf(t, past.adminToken, p.id)).toMatchObject({ payable: "5.00", inPayouts: "10.00", recoverable: "0.00" });

    // A run for the same past period gathers the same way.
    const q = await createPartnerFixture(t, past);
    await refunded(q.id);
    const run = dataOf(await t.gql(RunPayoutsDoc, { input: { payableBefore: periodEnd } }, past.financeToken)).runPayouts;
    expect(run.userErrors).toEqual([]);
    expect(run.payouts.map((x) => [x.partner.id, x.amount.amount])).toEqual([[q.id, "10.00"]]);
    expect(run.skipped.map((s) => [s.partner?.id, s.reason])).toEqual([[p.id, "OPEN_PAYOUT_EXISTS"]]);
    await expectReconciled(t, past.adminToken);
  });
});
