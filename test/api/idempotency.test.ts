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
    await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, acme.financeToken);
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
});
