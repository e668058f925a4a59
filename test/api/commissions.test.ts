import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { balanceOf, expectReconciled, RecordConversionDoc, recordSale, ReverseDoc, ReviewDocs } from "../helpers/ledger-docs.ts";
import { ApprovePayoutsDoc, CancelPayoutsDoc, CreatePayoutDoc, makePayable, PayPayoutsDoc, payableSale } from "../helpers/payout-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const AdjustDoc = graphql(`
  mutation Adjust($input: AdjustCommissionInput!) {
    adjustCommission(input: $input) { commission { id kind status amount { amount } related { id } reasonCode note createdBy } userErrors { code message field } }
  }
`);
const CreditDoc = graphql(`
  mutation Credit($input: CreditPartnerInput!) {
    creditPartner(input: $input) { commission { id kind status amount { amount } isPayable } userErrors { code message field } }
  }
`);
const WriteOffDoc = graphql(`
  mutation WriteOff($input: WriteOffBalanceInput!) {
    writeOffBalance(input: $input) { commission { id kind amount { amount } } userErrors { code message field } }
  }
`);
const CommissionDoc = graphql(`
  query Commission($id: ID!) { commission(id: $id) { id status amount { amount } isPayable corrections { id kind amount { amount } status } } }
`);
const CommissionsDoc = graphql(`
  query CommissionList($filter: CommissionFilter, $sort: CommissionSort, $first: Int) {
    commissions(filter: $filter, sort: $sort, first: $first) { totalCount edges { node { id status amount { amount } tierSequence partner { id } } } }
  }
`);
const AuditDoc = graphql(`
  query Audit($filter: AuditFilter) { auditEntries(filter: $filter) { totalCount edges { node { action actorRole actorId before after reason recordId } } } }
`);
const BalancesDoc = graphql(`
  query Balances($filter: BalanceFilter, $sort: BalanceSort) {
    partnerBalances(filter: $filter, sort: $sort) { totalCount edges { node { partner { id } payable { amount } pending { amount } } } }
  }
`);

describe.each(databaseTargets())("reviewing commissions on %s", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  let integration: string;

  beforeAll(async () => {
    t = await startTestApp(target);
    acme = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, holdPeriodDays: 7 });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
  });
  afterAll(() => t?.stop());

  it("moves lines through approve, hold, release, cancel, reinstate, with balances following", async () => {
    const p = await createPartnerFixture(t, acme);
    const old = await recordSale(t, integration, p.id, { amount: "100.00", occurredAt: "2026-02-01T00:00:00.000Z" }); // past the 7-day hold
    const fresh = await recordSale(t, integration, p.id, { amount: "50.00", occurredAt: "2026-03-09T00:00:00.000Z" }); // still held
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "15.00", payable: "0.00", lifetimeEarned: "15.00" });

    const approved = dataOf(await t.gql(ReviewDocs.approve, { input: { ids: [old.commissionId, fresh.commissionId] } }, acme.financeToken)).approveCommissions;
    expect(approved.commissions.map((c) => c.status)).toEqual(["APPROVED", "APPROVED"]);
    // The old line is payable now; the fresh one waits for its payableAt.
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "5.00", payable: "10.00" });
    expect(dataOf(await t.gql(CommissionDoc, { id: old.commissionId }, acme.adminToken)).commission?.isPayable).toBe(true);

    const noReason = dataOf(await t.gql(ReviewDocs.hold, { input: { ids: [old.commissionId], reason: "  " } }, acme.financeToken)).holdCommissions;
    expect(noReason.userErrors).toEqual([expect.objectContaining({ code: "INVALID_INPUT", field: ["input", "reason"] })]);

    const held = dataOf(await t.gql(ReviewDocs.hold, { input: { ids: [old.commissionId], reason: "suspected fraud" } }, acme.financeToken)).holdCommissions;
    expect(held.commissions[0]).toMatchObject({ status: "ON_HOLD", heldFromStatus: "APPROVED", statusReason: "suspected fraud" });
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "15.00", payable: "0.00" });

    const released = dataOf(await t.gql(ReviewDocs.release, { input: { ids: [old.commissionId] } }, acme.financeToken)).releaseCommissions;
    expect(released.commissions[0]?.status).toBe("APPROVED");
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "5.00", payable: "10.00" });

    const cancelled = dataOf(await t.gql(ReviewDocs.cancel, { input: { ids: [fresh.commissionId], reason: "order cancelled" } }, acme.financeToken)).cancelCommissions;
    expect(cancelled.commissions[0]).toMatchObject({ status: "CANCELLED", statusReason: "order cancelled" });
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "0.00", payable: "10.00", lifetimeEarned: "10.00" });

    const byFinance = await t.gql(ReviewDocs.reinstate, { input: { ids: [fresh.commissionId] } }, acme.financeToken);
    expect(byFinance.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const reinstated = dataOf(await t.gql(ReviewDocs.reinstate, { input: { ids: [fresh.commissionId], reason: "customer kept it" } }, acme.adminToken)).reinstateCommissions;
    expect(reinstated.commissions[0]?.status).toBe("PENDING");
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "5.00", payable: "10.00", lifetimeEarned: "15.00" });
    await expectReconciled(t, acme.adminToken);

    const trail = dataOf(await t.gql(AuditDoc, { filter: { recordId: old.commissionId } }, acme.analystToken)).auditEntries;
    expect(trail.edges.map((e) => e.node.action).reverse()).toEqual(["commission.approve", "commission.hold", "commission.release"]);
    expect(trail.edges.find((e) => e.node.action === "commission.hold")?.node).toMatchObject({
      actorRole: "finance",
      actorId: "finance@acme.test",
      before: { status: "APPROVED" },
      after: { status: "ON_HOLD" },
      reason: "suspected fraud",
    });
  });

  it("reports what a bulk operation skipped and why, and changes the rest", async () => {
    const p = await createPartnerFixture(t, acme);
    const a = await recordSale(t, integration, p.id);
    const b = await recordSale(t, integration, p.id);
    dataOf(await t.gql(ReviewDocs.approve, { input: { ids: [a.commissionId] } }, acme.adminToken));
    const ghost = Buffer.from("Commission:0190d4a0-0000-7000-8000-00000000abcd").toString("base64");
    const otherProgram = await createProgramFixture(t);
    const stranger = await createPartnerFixture(t, otherProgram);
    const strangerSale = await recordSale(t, await otherProgram.integrationToken(["CONVERSIONS_WRITE"]), stranger.id);

    const result = dataOf(
      await t.gql(ReviewDocs.approve, { input: { ids: [a.commissionId, b.commissionId, ghost, strangerSale.commissionId] } }, acme.adminToken),
    ).approveCommissions;
    expect(result.commissions.map((c) => c.id)).toEqual([b.commissionId]);
    expect(result.skipped).toEqual([
      { id: a.commissionId, code: "INVALID_TRANSITION", message: "cannot approve a APPROVED commission" },
      { id: ghost, code: "NOT_FOUND", message: "no such commission" },
      { id: strangerSale.commissionId, code: "NOT_FOUND", message: "no such commission" },
    ]);
    // The other program's line is untouched.
    const theirs = dataOf(await t.gql(CommissionDoc, { id: strangerSale.commissionId }, otherProgram.adminToken)).commission;
    expect(theirs?.status).toBe("PENDING");
  });

  it("adjusts by a new linked line that follows its original, never editing the amount", async () => {
    const p = await createPartnerFixture(t, acme);
    const sale = await recordSale(t, integration, p.id, { amount: "200.00" }); // $20.00 pending
    const adjusted = dataOf(
      await t.gql(AdjustDoc, { input: { id: sale.commissionId, amount: "-5.50", reasonCode: "CORRECTION", note: "coupon misapplied" } }, acme.financeToken),
    ).adjustCommission;
    expect(adjusted.userErrors).toEqual([]);
    expect(adjusted.commission).toMatchObject({
      kind: "ADJUSTMENT",
      status: "PENDING",
      amount: { amount: "-5.50" },
      related: { id: sale.commissionId },
      createdBy: "finance@acme.test",
    });
    const original = dataOf(await t.gql(CommissionDoc, { id: sale.commissionId }, acme.adminToken)).commission;
    expect(original?.amount.amount).toBe("20.00");
    expect(original?.corrections).toEqual([expect.objectContaining({ kind: "ADJUSTMENT", amount: { amount: "-5.50" } })]);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "14.50", lifetimeEarned: "14.50" });

    // Approving the original takes its adjustment along.
    dataOf(await t.gql(ReviewDocs.approve, { input: { ids: [sale.commissionId] } }, acme.adminToken));
    const after = dataOf(await t.gql(CommissionDoc, { id: sale.commissionId }, acme.adminToken)).commission;
    expect(after?.corrections[0]?.status).toBe("APPROVED");

    for (const bad of [{ amount: "0" }, { amount: "1.234" }, { amount: "abc" }]) {
      const refused = dataOf(await t.gql(AdjustDoc, { input: { id: sale.commissionId, reasonCode: "CORRECTION", ...bad } }, acme.financeToken)).adjustCommission;
      expect(refused.userErrors[0]?.code).toBe("INVALID_AMOUNT");
    }
    await expectReconciled(t, acme.adminToken);
  });

  it("refuses an adjustment that would take a line below zero, counting its earlier corrections", async () => {
    const p = await createPartnerFixture(t, acme);
    const sale = await recordSale(t, integration, p.id, { amount: "100.00" }); // $10.00
    const adjust = async (amount: string) =>
      dataOf(await t.gql(AdjustDoc, { input: { id: sale.commissionId, amount, reasonCode: "CORRECTION" } }, acme.financeToken)).adjustCommission;
    expect((await adjust("-15.00")).userErrors).toEqual([expect.objectContaining({ code: "INVALID_AMOUNT", field: ["input", "amount"] })]);
    expect((await adjust("-6.00")).userErrors).toEqual([]);
    // $4.00 left: -4.01 is refused, -4.00 brings it to zero.
    expect((await adjust("-4.01")).userErrors[0]?.code).toBe("INVALID_AMOUNT");
    expect((await adjust("-4.00")).userErrors).toEqual([]);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "0.00", lifetimeEarned: "0.00" });
    await expectReconciled(t, acme.adminToken);
  });

  it("credits a bonus payable at once, and writes off a negative balance only", async () => {
    const p = await createPartnerFixture(t, acme);
    const credit = dataOf(await t.gql(CreditDoc, { input: { partnerId: p.id, amount: "25.00", note: "launch bonus" } }, acme.financeToken)).creditPartner;
    expect(credit.commission).toMatchObject({ kind: "CREDIT", status: "APPROVED", amount: { amount: "25.00" }, isPayable: true });
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ payable: "25.00" });
    const negative = dataOf(await t.gql(CreditDoc, { input: { partnerId: p.id, amount: "-1.00" } }, acme.financeToken)).creditPartner;
    expect(negative.userErrors[0]?.code).toBe("INVALID_AMOUNT");

    const notNegative = dataOf(await t.gql(WriteOffDoc, { input: { partnerId: p.id, reason: "left the program" } }, acme.adminToken)).writeOffBalance;
    expect(notNegative.userErrors).toEqual([expect.objectContaining({ code: "BALANCE_NOT_NEGATIVE" })]);
    expect((await t.gql(WriteOffDoc, { input: { partnerId: p.id, reason: "x" } }, acme.financeToken)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  // sale $100 → $10 line, in an approved payout; a $50 refund books a -$5 clawback;
  // the payout is cancelled, so the line is payable again next to its clawback ($5 net).
  const lineWithStandingClawback = async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    const sale = await payableSale(t, acme, integration, p.id, "100.00");
    const payout = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    expect(dataOf(await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, acme.financeToken)).approvePayouts.payouts).toHaveLength(1);
    const refund = dataOf(await t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: `half-${p.id}`, amount: "50.00" } }, integration)).reverseConversion;
    const clawback = refund.reversal!.commissions[0]!;
    expect([clawback.kind, clawback.status, clawback.amount.amount]).toEqual(["CLAWBACK", "APPROVED", "-5.00"]);
    expect(dataOf(await t.gql(CancelPayoutsDoc, { input: { ids: [payout.id], reason: "wrong period" } }, acme.financeToken)).cancelPayouts.payouts).toHaveLength(1);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "0.00", payable: "5.00", inPayouts: "0.00", lifetimeEarned: "5.00" });
    return { p, sale, clawbackId: clawback.id };
  };
  const correctionsOf = async (id: string) => dataOf(await t.gql(CommissionDoc, { id }, acme.adminToken)).commission?.corrections.map((c) => [c.kind, c.status, c.amount.amount]);

  it("cancels a line with its standing clawback, so the sale nets to nothing, and reinstates both", async () => {
    const { p, sale, clawbackId } = await lineWithStandingClawback();
    const cancelled = dataOf(await t.gql(ReviewDocs.cancel, { input: { ids: [sale.commissionId], reason: "fraud" } }, acme.financeToken)).cancelCommissions;
    expect(cancelled.skipped).toEqual([]);
    expect(cancelled.commissions).toEqual([{ id: sale.commissionId, status: "CANCELLED", statusReason: "fraud" }]);
    expect(await correctionsOf(sale.commissionId)).toEqual([["CLAWBACK", "CANCELLED", "-5.00"]]);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "0.00", payable: "0.00", inPayouts: "0.00", lifetimeEarned: "0.00", recoverable: "0.00" });
    await expectReconciled(t, acme.adminToken);

    // A refund share is never reinstated (or cancelled) on its own: it goes with its line.
    const alone = dataOf(await t.gql(ReviewDocs.reinstate, { input: { ids: [clawbackId] } }, acme.adminToken)).reinstateCommissions;
    expect(alone.skipped).toEqual([{ id: clawbackId, code: "INVALID_TRANSITION", message: "a clawback is reinstated with its commission, not on its own" }]);

    // Reinstated, the line is pending again ($10) and its clawback is back as the system booked it: approved, netting now (-$5).
    const reinstated = dataOf(await t.gql(ReviewDocs.reinstate, { input: { ids: [sale.commissionId], reason: "not fraud" } }, acme.adminToken)).reinstateCommissions;
    expect(reinstated.commissions).toEqual([{ id: sale.commissionId, status: "PENDING" }]);
    expect(await correctionsOf(sale.commissionId)).toEqual([["CLAWBACK", "APPROVED", "-5.00"]]);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "10.00", payable: "-5.00", lifetimeEarned: "5.00" });
    dataOf(await t.gql(ReviewDocs.approve, { input: { ids: [sale.commissionId] } }, acme.financeToken));
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "0.00", payable: "5.00", lifetimeEarned: "5.00" });
    const soloCancel = dataOf(await t.gql(ReviewDocs.cancel, { input: { ids: [clawbackId], reason: "forgive" } }, acme.financeToken)).cancelCommissions;
    expect(soloCancel.skipped).toEqual([expect.objectContaining({ id: clawbackId, code: "INVALID_TRANSITION" })]);

    // Asked together, the clawback moves with its line and both are reported changed.
    const both = dataOf(await t.gql(ReviewDocs.cancel, { input: { ids: [clawbackId, sale.commissionId], reason: "fraud after all" } }, acme.financeToken)).cancelCommissions;
    expect(both.skipped).toEqual([]);
    expect(both.commissions.map((c) => [c.id, c.status])).toEqual([
      [clawbackId, "CANCELLED"],
      [sale.commissionId, "CANCELLED"],
    ]);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ payable: "0.00", lifetimeEarned: "0.00" });
    await expectReconciled(t, acme.adminToken);
  });

  it("leaves a clawback in place on hold, and refuses to cancel a line whose clawback is in a payout or paid", async () => {
    const { p, sale } = await lineWithStandingClawback();
    // A hold only delays the line ($10 pending); the system's clawback keeps netting (-$5 payable).
    dataOf(await t.gql(ReviewDocs.hold, { input: { ids: [sale.commissionId], reason: "checking" } }, acme.financeToken));
    expect(await correctionsOf(sale.commissionId)).toEqual([["CLAWBACK", "APPROVED", "-5.00"]]);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "10.00", payable: "-5.00", lifetimeEarned: "5.00" });

    // Another sale's $20 and the clawback go into a payout of $15 while the line is held.
    await payableSale(t, acme, integration, p.id, "200.00");
    const payout = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    expect(payout.amount.amount).toBe("15.00");
    const inPayout = dataOf(await t.gql(ReviewDocs.cancel, { input: { ids: [sale.commissionId], reason: "fraud" } }, acme.financeToken)).cancelCommissions;
    expect(inPayout.commissions).toEqual([]);
    expect(inPayout.skipped).toEqual([
      { id: sale.commissionId, code: "IN_OPEN_PAYOUT", message: "cannot cancel a commission while its clawback is in an open payout; remove it from the payout first" },
    ]);

    await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, acme.financeToken);
    expect(dataOf(await t.gql(PayPayoutsDoc, { input: { ids: [payout.id], method: "PAYPAL" } }, acme.financeToken)).markPayoutsPaid.payouts).toHaveLength(1);
    const paid = dataOf(await t.gql(ReviewDocs.cancel, { input: { ids: [sale.commissionId], reason: "fraud" } }, acme.financeToken)).cancelCommissions;
    expect(paid.skipped).toEqual([expect.objectContaining({ id: sale.commissionId, code: "INVALID_TRANSITION", message: expect.stringContaining("already paid") })]);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "10.00", payable: "0.00", paid: "15.00", lifetimeEarned: "25.00" });

    // Released, the line pays what its refund left ($5).
    dataOf(await t.gql(ReviewDocs.release, { input: { ids: [sale.commissionId] } }, acme.financeToken));
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "0.00", payable: "10.00", paid: "15.00", lifetimeEarned: "25.00" });
    await expectReconciled(t, acme.adminToken);
  });

  it("lists commissions by status, partner and time, sorted, and a partner only its own", async () => {
    const p = await createPartnerFixture(t, acme);
    const q = await createPartnerFixture(t, acme);
    await recordSale(t, integration, p.id, { amount: "10.00", occurredAt: "2026-03-01T00:00:00.000Z" });
    await recordSale(t, integration, p.id, { amount: "30.00", occurredAt: "2026-03-03T00:00:00.000Z" });
    await recordSale(t, integration, q.id, { amount: "20.00", occurredAt: "2026-03-02T00:00:00.000Z" });
    const mine = dataOf(await t.gql(CommissionsDoc, { filter: { partnerId: p.id }, sort: { field: "AMOUNT", direction: "DESC" } }, acme.analystToken)).commissions;
    expect(mine.edges.map((e) => e.node.amount.amount)).toEqual(["3.00", "1.00"]);
    const window = dataOf(
      await t.gql(CommissionsDoc, { filter: { occurredAfter: "2026-03-02T00:00:00.000Z", occurredBefore: "2026-03-03T00:00:00.000Z" } }, acme.analystToken),
    ).commissions;
    expect(window.edges.map((e) => e.node.partner.id)).toEqual([q.id]);
    const asPartner = dataOf(await t.gql(CommissionsDoc, {}, p.token)).commissions;
    expect(asPartner.totalCount).toBe(2);
    expect(asPartner.edges.every((e) => e.node.partner.id === p.id)).toBe(true);
    expect((await t.gql(CommissionsDoc, { filter: { partnerId: q.id } }, p.token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await t.gql(ReviewDocs.approve, { input: { ids: [] } }, p.token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await t.gql(AuditDoc, {}, p.token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("lists balances for operators, largest payable first, filtered by a minimum", async () => {
    const rich = await createPartnerFixture(t, acme);
    await t.gql(CreditDoc, { input: { partnerId: rich.id, amount: "999.00" } }, acme.financeToken);
    const list = dataOf(await t.gql(BalancesDoc, { filter: { minimumPayable: "500" } }, acme.financeToken)).partnerBalances;
    expect(list.edges.map((e) => e.node.partner.id)).toEqual([rich.id]);
    expect((await t.gql(BalancesDoc, {}, rich.token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const all = dataOf(await t.gql(BalancesDoc, { sort: { field: "PAYABLE", direction: "DESC" } }, acme.analystToken)).partnerBalances;
    const payables = all.edges.map((e) => Number(e.node.payable.amount)); // comparing order only
    expect([...payables].sort((x, y) => y - x)).toEqual(payables);
  });
});

describe.each(databaseTargets())("tiered rules on %s", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  let integration: string;

  beforeAll(async () => {
    t = await startTestApp(target);
    // "10% for the first 3, 15% after", months cut in New York time.
    acme = await createProgramFixture(t, {
      currency: "USD",
      timeZone: "America/New_York",
      commissionRule: { type: "TIERED", tiers: [{ upTo: 3, percent: "10" }, { percent: "15" }] },
    });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
  });
  afterAll(() => t?.stop());

  it("is marginal: sale 4 earns 15%, no earlier sale is re-rated, refunds and backdated sales re-rate nothing", async () => {
    const p = await createPartnerFixture(t, acme);
    const sales = [];
    for (let day = 1; day <= 5; day += 1) {
      sales.push(await recordSale(t, integration, p.id, { amount: "100.00", occurredAt: `2026-02-0${day}T15:00:00.000Z` }));
    }
    expect(sales.map((s) => s.amount)).toEqual(["10.00", "10.00", "10.00", "15.00", "15.00"]);
    // A refund of sale 1 frees a place for the next sale, but nothing already written changes.
    await t.gql(
      graphql(`mutation RefundOne($input: ReverseConversionInput!) { reverseConversion(input: $input) { userErrors { code } } }`),
      { input: { conversionId: sales[0]!.conversionId, refundId: "r-tier-1" } },
      integration,
    );
    const backdated = await recordSale(t, integration, p.id, { amount: "100.00", occurredAt: "2026-02-01T18:00:00.000Z" });
    expect(backdated.amount).toBe("15.00"); // sale 5 of the month's 4 non-reversed: still past the tier
    const lines = dataOf(await t.gql(CommissionsDoc, { filter: { partnerId: p.id, kind: ["CONVERSION"] }, first: 10 }, acme.adminToken)).commissions;
    expect(lines.edges.map((e) => e.node.tierSequence).sort()).toEqual([1, 2, 3, 4, 5, 5]);
  });

  it("cuts months in the program's time zone", async () => {
    const p = await createPartnerFixture(t, acme);
    // 2026-03-01T03:00Z is still February 28th in New York.
    const inFebruary = [];
    for (let i = 0; i < 4; i += 1) inFebruary.push(await recordSale(t, integration, p.id, { occurredAt: `2026-03-01T0${i}:00:00.000Z` }));
    expect(inFebruary.map((s) => s.amount)).toEqual(["10.00", "10.00", "10.00", "15.00"]);
    // 05:00Z is March 1st in New York: a new month, back to the first tier.
    const inMarch = await recordSale(t, integration, p.id, { occurredAt: "2026-03-01T05:00:00.000Z" });
    expect(inMarch.amount).toBe("10.00");
  });

  it("counts per partner, and a partner's override replaces the program's rule", async () => {
    const p = await createPartnerFixture(t, acme);
    const q = await createPartnerFixture(t, acme);
    await t.gql(
      graphql(`mutation Override($input: UpdatePartnerInput!) { updatePartner(input: $input) { userErrors { code } } }`),
      { input: { id: q.id, commissionRuleOverride: { type: "FLAT", amount: "7.00" } } },
      acme.adminToken,
    );
    const shared = dataOf(
      await t.gql(
        RecordConversionDoc,
        { input: { externalId: "shared-1", partners: [{ id: p.id }, { id: q.id }], amount: "100.00", currency: "USD", occurredAt: "2026-03-05T12:00:00.000Z" } },
        integration,
      ),
    ).recordConversion;
    const byPartner = Object.fromEntries(shared.conversion!.commissions.map((c) => [c.partnerId, [c.amount.amount, c.tierSequence]]));
    expect(byPartner[p.id]).toEqual(["10.00", 1]);
    expect(byPartner[q.id]).toEqual(["7.00", null]);
  });
});
