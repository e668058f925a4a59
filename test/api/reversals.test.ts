import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { balanceOf, expectReconciled, RecordConversionDoc, recordSale, ReverseDoc, ReviewDocs } from "../helpers/ledger-docs.ts";
import { ApprovePayoutsDoc, CancelPayoutsDoc, CreatePayoutDoc, makePayable, payableSale, PayPayoutsDoc } from "../helpers/payout-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

describe.each(databaseTargets())("reversing conversions on %s", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  let integration: string;

  beforeAll(async () => {
    t = await startTestApp(target);
    acme = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" } });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
  });
  afterAll(() => t?.stop());

  it("reverses the same share of each line, repeatedly, until the whole is reversed", async () => {
    const p = await createPartnerFixture(t, acme);
    const q = await createPartnerFixture(t, acme);
    const sale = dataOf(
      await t.gql(
        RecordConversionDoc,
        { input: { externalId: "split-1", partners: [{ id: p.id }, { id: q.id }], amount: "99.99", currency: "USD", occurredAt: "2026-03-01T00:00:00.000Z" } },
        integration,
      ),
    ).recordConversion.conversion!;
    expect(sale.commissions.map((c) => c.amount.amount)).toEqual(["10.00", "10.00"]); // 9.999 → 10.00

    // A third of the sale: 10.00 × 33.33/99.99 = 3.3333… → 3.33 per line.
    const first = dataOf(await t.gql(ReverseDoc, { input: { conversionId: sale.id, refundId: "rf-1", amount: "33.33" } }, integration)).reverseConversion;
    expect(first.userErrors).toEqual([]);
    expect(first.reversal?.commissions.map((c) => [c.kind, c.status, c.amount.amount])).toEqual([
      ["REVERSAL", "PENDING", "-3.33"],
      ["REVERSAL", "PENDING", "-3.33"],
    ]);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "6.67" });

    // Another third: cumulative 66.66/99.99 of 10.00 = 6.666… → 6.67, so this share is 3.34.
    const second = dataOf(await t.gql(ReverseDoc, { input: { conversionId: sale.id, refundId: "rf-2", amount: "33.33" } }, integration)).reverseConversion;
    expect(second.reversal?.commissions.map((c) => c.amount.amount)).toEqual(["-3.34", "-3.34"]);

    const tooMuch = dataOf(await t.gql(ReverseDoc, { input: { conversionId: sale.id, refundId: "rf-3", amount: "33.34" } }, integration)).reverseConversion;
    expect(tooMuch.userErrors).toEqual([expect.objectContaining({ code: "EXCEEDS_REMAINING", field: ["input", "amount"] })]);

    // The rest (no amount): the lines and their reversal shares all become REVERSED.
    const rest = dataOf(await t.gql(ReverseDoc, { input: { conversionExternalId: "split-1", refundId: "rf-3" } }, integration)).reverseConversion;
    expect(rest.userErrors).toEqual([]);
    expect(rest.reversal?.amount).toEqual({ amount: "33.33", currency: "USD" });
    expect(rest.reversal?.conversion.reversedAmount.amount).toBe("99.99");
    expect(new Set(rest.reversal?.conversion.commissions.map((c) => c.status))).toEqual(new Set(["REVERSED"]));
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "0.00", payable: "0.00", lifetimeEarned: "0.00" });
    expect(await balanceOf(t, acme.adminToken, q.id)).toMatchObject({ lifetimeEarned: "0.00" });

    const again = dataOf(await t.gql(ReverseDoc, { input: { conversionId: sale.id, refundId: "rf-4", amount: "0.01" } }, integration)).reverseConversion;
    expect(again.userErrors).toEqual([expect.objectContaining({ code: "EXCEEDS_REMAINING" })]);
    await expectReconciled(t, acme.adminToken);
  });

  it("is idempotent by refund id: a retry changes nothing, other content under it is a conflict", async () => {
    const p = await createPartnerFixture(t, acme);
    const sale = await recordSale(t, integration, p.id, { amount: "50.00" });
    const first = dataOf(await t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: "dup-1", amount: "10.00" } }, integration)).reverseConversion;
    const retry = dataOf(await t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: "dup-1", amount: "10.00" } }, integration)).reverseConversion;
    expect(retry.reversal?.id).toBe(first.reversal?.id);
    expect(retry.reversal?.conversion.reversedAmount.amount).toBe("10.00");
    const conflict = dataOf(await t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: "dup-1", amount: "11.00" } }, integration)).reverseConversion;
    expect(conflict.userErrors).toEqual([expect.objectContaining({ code: "IDEMPOTENCY_CONFLICT", field: ["input", "refundId"] })]);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "4.00" });
  });

  it("keeps a reversal share in its line's status: held lines stay held, and release takes both", async () => {
    const p = await createPartnerFixture(t, acme);
    const sale = await recordSale(t, integration, p.id, { amount: "100.00", occurredAt: "2026-01-01T00:00:00.000Z" });
    dataOf(await t.gql(ReviewDocs.approve, { input: { ids: [sale.commissionId] } }, acme.adminToken));
    dataOf(await t.gql(ReviewDocs.hold, { input: { ids: [sale.commissionId], reason: "checking" } }, acme.adminToken));
    const partial = dataOf(
      await t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: "held-1", amount: "25.00", kind: "CHARGEBACK" } }, integration),
    ).reverseConversion;
    expect(partial.reversal?.kind).toBe("CHARGEBACK");
    expect(partial.reversal?.commissions.map((c) => [c.status, c.amount.amount])).toEqual([["ON_HOLD", "-2.50"]]);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "7.50", payable: "0.00" });
    dataOf(await t.gql(ReviewDocs.release, { input: { ids: [sale.commissionId] } }, acme.adminToken));
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "0.00", payable: "7.50" });
    await expectReconciled(t, acme.adminToken);
  });

  it("takes a clawback away with its line when the payout that caused it was cancelled", async () => {
    // sale $100 → $10; in an approved payout, a refund of $50 books a -$5 clawback;
    // the payout is cancelled, so the line is payable again next to its clawback.
    const setUp = async () => {
      const p = await createPartnerFixture(t, acme);
      await makePayable(t, acme, p.id);
      const sale = await payableSale(t, acme, integration, p.id, "100.00");
      const payout = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
      expect(dataOf(await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, acme.financeToken)).approvePayouts.payouts).toHaveLength(1);
      return { p, sale, payout };
    };
    const refund = async (conversionId: string, refundId: string, amount?: string) => {
      const result = dataOf(await t.gql(ReverseDoc, { input: { conversionId, refundId, amount } }, integration)).reverseConversion;
      expect(result.userErrors).toEqual([]);
      return result.reversal!;
    };
    const cancel = async (payoutId: string) => {
      expect(dataOf(await t.gql(CancelPayoutsDoc, { input: { ids: [payoutId], reason: "wrong period" } }, acme.financeToken)).cancelPayouts.payouts).toHaveLength(1);
    };

    const full = await setUp();
    const half = await refund(full.sale.conversionId, `cb-half-${full.p.id}`, "50.00");
    expect(half.commissions.map((c) => [c.kind, c.status, c.amount.amount])).toEqual([["CLAWBACK", "APPROVED", "-5.00"]]);
    await cancel(full.payout.id);
    expect(await balanceOf(t, acme.adminToken, full.p.id)).toMatchObject({ payable: "5.00", inPayouts: "0.00", lifetimeEarned: "5.00" });
    const rest = await refund(full.sale.conversionId, `cb-rest-${full.p.id}`);
    // The line and its clawback are both reversed: nothing of the sale is left to earn or to recover.
    expect(rest.conversion.commissions.map((c) => [c.status, c.amount.amount])).toEqual([
      ["REVERSED", "10.00"],
      ["REVERSED", "-5.00"],
    ]);
    expect(await balanceOf(t, acme.adminToken, full.p.id)).toMatchObject({ pending: "0.00", payable: "0.00", inPayouts: "0.00", lifetimeEarned: "0.00", recoverable: "0.00" });

    // In parts: $30 while approved (-$3 clawback), cancel, $20 (-$2 reversal share), then the rest.
    const parts = await setUp();
    await refund(parts.sale.conversionId, `cb-30-${parts.p.id}`, "30.00");
    expect(await balanceOf(t, acme.adminToken, parts.p.id)).toMatchObject({ payable: "-3.00", inPayouts: "10.00" });
    await cancel(parts.payout.id);
    expect(await balanceOf(t, acme.adminToken, parts.p.id)).toMatchObject({ payable: "7.00", inPayouts: "0.00" });
    const twenty = await refund(parts.sale.conversionId, `cb-20-${parts.p.id}`, "20.00");
    expect(twenty.commissions.map((c) => [c.kind, c.status, c.amount.amount])).toEqual([["REVERSAL", "APPROVED", "-2.00"]]);
    expect(await balanceOf(t, acme.adminToken, parts.p.id)).toMatchObject({ payable: "5.00", lifetimeEarned: "5.00" }); // $10 on the $50 left
    await refund(parts.sale.conversionId, `cb-end-${parts.p.id}`);
    expect(await balanceOf(t, acme.adminToken, parts.p.id)).toMatchObject({ pending: "0.00", payable: "0.00", inPayouts: "0.00", lifetimeEarned: "0.00" });
    await expectReconciled(t, acme.adminToken);
  });

  it("leaves a clawback already in a payout alone and books only what is left of its line", async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    const sale = await payableSale(t, acme, integration, p.id, "100.00"); // $10
    const first = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    await t.gql(ApprovePayoutsDoc, { input: { ids: [first.id] } }, acme.financeToken);
    dataOf(await t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: `stuck-30-${p.id}`, amount: "30.00" } }, integration)); // -$3 clawback
    await t.gql(CancelPayoutsDoc, { input: { ids: [first.id], reason: "redo" } }, acme.financeToken);
    // The line is held, so a new payout gathers the other sale's $20 and the -$3 clawback only; it is approved.
    dataOf(await t.gql(ReviewDocs.hold, { input: { ids: [sale.commissionId], reason: "checking" } }, acme.adminToken));
    await payableSale(t, acme, integration, p.id, "200.00");
    const second = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    expect(second.amount.amount).toBe("17.00");
    await t.gql(ApprovePayoutsDoc, { input: { ids: [second.id] } }, acme.financeToken);
    dataOf(await t.gql(ReviewDocs.release, { input: { ids: [sale.commissionId] } }, acme.adminToken));
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ payable: "10.00", inPayouts: "17.00" });

    const rest = dataOf(await t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: `stuck-rest-${p.id}` } }, integration)).reverseConversion;
    expect(rest.reversal?.commissions.map((c) => [c.kind, c.status, c.amount.amount])).toEqual([["REVERSAL", "APPROVED", "-7.00"]]);
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ payable: "3.00", inPayouts: "17.00", lifetimeEarned: "20.00" }); // 10 − 7; the payout still recovers the 3
    await expectReconciled(t, acme.adminToken);
  });

  it("refuses bad reversals with typed errors and changes nothing", async () => {
    const p = await createPartnerFixture(t, acme);
    const sale = await recordSale(t, integration, p.id, { amount: "10.00" });
    for (const [input, code] of [
      [{ conversionId: sale.conversionId, refundId: "x1", amount: "-1.00" }, "INVALID_AMOUNT"],
      [{ conversionId: sale.conversionId, refundId: "x2", amount: "1.001" }, "INVALID_AMOUNT"],
      [{ conversionId: sale.conversionId, refundId: "x3", amount: "10.01" }, "EXCEEDS_REMAINING"],
      [{ conversionExternalId: "no-such-sale", refundId: "x4" }, "NOT_FOUND"],
      [{ refundId: "x5" }, "INVALID_INPUT"],
      [{ conversionId: sale.conversionId, refundId: "" }, "INVALID_INPUT"],
      [{ conversionId: sale.conversionId, refundId: "x6", occurredAt: "2999-01-01T00:00:00Z" }, "INVALID_INPUT"],
      [{ conversionId: sale.conversionId, refundId: "x7", occurredAt: "2000-01-01T00:00:00Z" }, "INVALID_INPUT"],
    ] as const) {
      const result = dataOf(await t.gql(ReverseDoc, { input }, integration)).reverseConversion;
      expect(result.userErrors[0]?.code).toBe(code);
    }
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ pending: "1.00" });
    expect((await t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: "y" } }, acme.analystToken)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: "y" } }, p.token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const other = await createProgramFixture(t);
    const theirs = dataOf(
      await t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: "z" } }, await other.integrationToken(["CONVERSIONS_WRITE"])),
    ).reverseConversion;
    expect(theirs.userErrors[0]?.code).toBe("NOT_FOUND");
  });
});

describe.each(databaseTargets())("a full chargeback after a paid adjustment on %s", (target) => {
  let t: TestApp;
  afterAll(() => t?.stop());

  it("claws back what was paid, the adjustment included, so the refunded sale nets to zero", async () => {
    t = await startTestApp(target);
    const acme = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" } });
    const integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    const sale = await payableSale(t, acme, integration, p.id, "200.00"); // $20.00
    const adjust = await t.raw(
      {
        query: `mutation($input: AdjustCommissionInput!) { adjustCommission(input: $input) { userErrors { code } } }`,
        variables: { input: { id: sale.commissionId, amount: "-3.50", reasonCode: "CORRECTION" } },
      },
      acme.adminToken,
    );
    expect((adjust.data as any).adjustCommission.userErrors).toEqual([]);
    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    expect(draft.amount.amount).toBe("16.50");
    await t.gql(ApprovePayoutsDoc, { input: { ids: [draft.id] } }, acme.financeToken);
    expect(dataOf(await t.gql(PayPayoutsDoc, { input: { ids: [draft.id], method: "WIRE" } }, acme.financeToken)).markPayoutsPaid.payouts).toHaveLength(1);

    const chargeback = dataOf(await t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: `cb-${p.id}`, kind: "CHARGEBACK" } }, integration)).reverseConversion;
    expect(chargeback.reversal!.commissions.map((c) => [c.kind, c.amount.amount])).toEqual([["CLAWBACK", "-16.50"]]);
    // Paid 16.50, clawed back 16.50: nothing earned, nothing owed.
    expect(await balanceOf(t, acme.adminToken, p.id)).toMatchObject({ payable: "-16.50", paid: "16.50", lifetimeEarned: "0.00" });
    await expectReconciled(t, acme.adminToken);
  });
});
