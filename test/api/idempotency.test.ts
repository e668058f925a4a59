import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { ApprovePayoutsDoc, CreatePayoutDoc, makePayable, payableSale, PayPayoutsDoc } from "../helpers/payout-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

/** An idempotency key names one request: the same key with another date in it is a conflict, not a replay. */
describe.each(databaseTargets())("idempotency keys and dates on %s", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  let integration: string;

  beforeAll(async () => {
    t = await startTestApp(target);
    acme = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" } });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
  });
  afterAll(() => t?.stop());

  it("refuses a payout drafted again under its key with another payableBefore", async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    await payableSale(t, acme, integration, p.id, "600.00"); // $60, payable since 2025-12-01
    const draft = (payableBefore: string) => t.gql(CreatePayoutDoc, { input: { partnerId: p.id, payableBefore, idempotencyKey: `k1-${p.id}` } }, acme.financeToken);

    const first = dataOf(await draft("2026-01-01T00:00:00.000Z")).createPayout;
    expect(first.userErrors).toEqual([]);
    const replay = dataOf(await draft("2026-01-01T00:00:00.000Z")).createPayout;
    expect(replay.payout?.id).toBe(first.payout?.id);
    const other = dataOf(await draft("2025-12-02T00:00:00.000Z")).createPayout;
    expect(other.payout).toBeNull();
    expect(other.userErrors).toEqual([expect.objectContaining({ code: "IDEMPOTENCY_CONFLICT", field: ["input", "idempotencyKey"] })]);
  });

  it("refuses a payment recorded again under its key with another paidAt", async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    await payableSale(t, acme, integration, p.id, "600.00");
    const payout = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    // Approved the day before, so a payment dated then is not before its approval.
    const now = t.clock.now().toISOString();
    t.clock.set("2026-03-09T00:00:00.000Z");
    await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, acme.financeToken);
    t.clock.set(now);
    const pay = (paidAt: string) =>
      t.gql(PayPayoutsDoc, { input: { ids: [payout.id], method: "PAYPAL", reference: "PP-1", paidAt, idempotencyKey: `pay-${p.id}` } }, acme.financeToken);

    const first = dataOf(await pay("2026-03-09T10:00:00.000Z")).markPayoutsPaid;
    expect(first.userErrors).toEqual([]);
    expect(first.payouts.map((x) => [x.id, x.status, x.paidAt])).toEqual([[payout.id, "PAID", "2026-03-09T10:00:00.000Z"]]);
    const replay = dataOf(await pay("2026-03-09T10:00:00.000Z")).markPayoutsPaid;
    expect(replay.userErrors).toEqual([]);
    expect(replay.payouts.map((x) => x.id)).toEqual([payout.id]);
    const other = dataOf(await pay("2026-03-08T10:00:00.000Z")).markPayoutsPaid;
    expect(other.userErrors).toEqual([expect.objectContaining({ code: "IDEMPOTENCY_CONFLICT", field: ["input", "idempotencyKey"] })]);
    expect(other.payouts).toEqual([]);
  });

  it("books a credit, adjustment, write-off, bounce or line removal once per key; another request under it is a conflict", async () => {
    const p = await createPartnerFixture(t, acme);
    await makePayable(t, acme, p.id);
    const sale = await payableSale(t, acme, integration, p.id, "600.00"); // $60
    const send = async (name: string, input: Record<string, unknown>, selection: string) => {
      const type = `${name[0]!.toUpperCase()}${name.slice(1)}Input`;
      const response = await t.raw(
        { query: `mutation($input: ${type}!) { ${name}(input: $input) { ${selection} userErrors { code field } } }`, variables: { input } },
        acme.adminToken,
      );
      expect(response.errors).toBeUndefined();
      return (response.data as Record<string, any>)[name];
    };
    const balance = async () => {
      const response = await t.raw(
        { query: `query($id: ID!) { partner(id: $id) { balance { payable { amount } lifetimeEarned { amount } } } }`, variables: { id: p.id } },
        acme.adminToken,
      );
      return (response.data as any).partner.balance;
    };
    const conflict = [expect.objectContaining({ code: "IDEMPOTENCY_CONFLICT", field: ["input", "idempotencyKey"] })];

    const credit = (amount: string) => send("creditPartner", { partnerId: p.id, amount, idempotencyKey: `credit-${p.id}` }, "commission { id }");
    const first = await credit("5.00");
    expect(first.userErrors).toEqual([]);
    expect((await credit("5.00")).commission.id).toBe(first.commission.id);
    expect((await credit("6.00")).userErrors).toEqual(conflict);
    expect(await balance()).toMatchObject({ payable: { amount: "65.00" } });

    const adjust = (amount: string) => send("adjustCommission", { id: sale.commissionId, amount, reasonCode: "CORRECTION", idempotencyKey: `adjust-${p.id}` }, "commission { id }");
    const adjusted = await adjust("-1.00");
    expect((await adjust("-1.00")).commission.id).toBe(adjusted.commission.id);
    expect((await adjust("-2.00")).userErrors).toEqual(conflict);
    expect(await balance()).toMatchObject({ payable: { amount: "64.00" } });

    // A draft of both lines and the credit; removing the credit once under a key.
    const draft = await send("createPayout", { partnerId: p.id }, "payout { id }");
    const remove = (ids: string[]) =>
      send("removePayoutLines", { payoutId: draft.payout.id, commissionIds: ids, idempotencyKey: `remove-${p.id}` }, "payout { id amount { amount } }");
    expect((await remove([first.commission.id])).payout.amount.amount).toBe("59.00");
    expect((await remove([first.commission.id])).payout.amount.amount).toBe("59.00");
    expect((await remove([adjusted.commission.id])).userErrors).toEqual(conflict);

    await send("approvePayouts", { ids: [draft.payout.id] }, "payouts { id }");
    await send("markPayoutsPaid", { ids: [draft.payout.id], method: "ACH" }, "payouts { id }");
    const bounce = (reason: string) => send("recordPayoutBounce", { payoutId: draft.payout.id, reason, idempotencyKey: `bounce-${p.id}` }, "payout { id bouncedAt }");
    const bounced = await bounce("account closed");
    expect(bounced.userErrors).toEqual([]);
    expect(await bounce("account closed")).toMatchObject({ userErrors: [], payout: { id: draft.payout.id, bouncedAt: bounced.payout.bouncedAt } });
    expect((await bounce("wrong account")).userErrors).toEqual(conflict);

    // A write-off of a negative balance: a second partner's paid sale refunded in full leaves a clawback.
    const q = await createPartnerFixture(t, acme);
    await makePayable(t, acme, q.id);
    const qSale = await payableSale(t, acme, integration, q.id, "600.00");
    const qDraft = await send("createPayout", { partnerId: q.id }, "payout { id }");
    await send("approvePayouts", { ids: [qDraft.payout.id] }, "payouts { id }");
    await send("markPayoutsPaid", { ids: [qDraft.payout.id], method: "ACH" }, "payouts { id }");
    expect((await send("reverseConversion", { conversionId: qSale.conversionId, refundId: `idem-${q.id}` }, "reversal { id }")).userErrors).toEqual([]);
    const writeOff = (reason: string) => send("writeOffBalance", { partnerId: q.id, reason, idempotencyKey: `wo-${q.id}` }, "commission { id amount { amount } }");
    const written = await writeOff("left the program");
    expect(written).toMatchObject({ userErrors: [], commission: { amount: { amount: "60.00" } } });
    expect((await writeOff("left the program")).commission.id).toBe(written.commission.id);
    expect((await writeOff("other")).userErrors).toEqual(conflict);
  });
});
