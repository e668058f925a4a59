import { describe, expect, it } from "vitest";
import { PAYOUT_ACTIONS, PAYOUT_STATUSES, transitionPayout, type PayoutAction, type PayoutStatus } from "../../src/domain/payout-status.ts";
import { joinsPayout, payoutBlockers } from "../../src/domain/payout-eligibility.ts";
import { dec } from "../../src/domain/money.ts";
import type { CurrencyCode } from "../../src/domain/currency.ts";

/** Every action from every status: where it leads, or "-" where it is refused. */
const EXPECTED: Record<PayoutStatus, Record<PayoutAction, PayoutStatus | "-">> = {
  DRAFT: { approve: "APPROVED", pay: "-", cancel: "CANCELLED" },
  APPROVED: { approve: "-", pay: "PAID", cancel: "CANCELLED" },
  PAID: { approve: "-", pay: "-", cancel: "-" }, // paid is final
  CANCELLED: { approve: "-", pay: "-", cancel: "-" },
};

describe("payout transitions", () => {
  it.each(PAYOUT_STATUSES.flatMap((status) => PAYOUT_ACTIONS.map((action) => [status, action] as const)))("%s --%s-->", (status, action) => {
    const expected = EXPECTED[status][action];
    const outcome = transitionPayout(status, action);
    if (expected === "-") expect(outcome).toMatchObject({ ok: false, code: "INVALID_TRANSITION" });
    else expect(outcome).toEqual({ ok: true, from: status, to: expected });
  });
});

describe("payout eligibility", () => {
  const base = { payable: dec("75.00"), minimum: dec("50.00"), hasPayoutMethod: true, hasBillingDetails: true, hasOpenPayout: false };
  it.each([
    [{}, []],
    [{ payable: dec("50.00") }, []], // exactly the minimum
    [{ payable: dec("49.99") }, ["BELOW_MINIMUM"]],
    [{ payable: dec("49.99"), overrideMinimum: true }, []],
    [{ payable: dec("0") }, ["NOT_POSITIVE"]],
    [{ payable: dec("-12.00"), overrideMinimum: true }, ["NOT_POSITIVE"]], // an override never pays a negative net
    [{ hasPayoutMethod: false }, ["NO_PAYOUT_METHOD"]],
    [{ hasBillingDetails: false }, ["NO_BILLING_DETAILS"]],
    [{ hasOpenPayout: true }, ["OPEN_PAYOUT_EXISTS"]],
    [{ hasOpenPayout: true, payable: dec("1"), hasPayoutMethod: false, hasBillingDetails: false }, ["OPEN_PAYOUT_EXISTS", "BELOW_MINIMUM", "NO_PAYOUT_METHOD", "NO_BILLING_DETAILS"]],
  ] as const)("%j → %j", (change, blockers) => {
    expect(payoutBlockers({ ...base, ...change })).toEqual(blockers);
  });
});

describe("payout amount on approve and pay", () => {
  // Minimum $1.00, USD. A draft shrinks when a refund or an operator takes lines out.
  const facts = { amount: dec("10.00"), currency: "USD" as CurrencyCode, minimum: dec("1.00"), minimumOverridden: false };
  it.each([
    ["approve", {}, "APPROVED"],
    ["approve", { amount: dec("1.00") }, "APPROVED"], // exactly the minimum
    ["approve", { amount: dec("0.99") }, "BELOW_MINIMUM"],
    ["approve", { amount: dec("0.99"), minimumOverridden: true }, "APPROVED"], // drafted with an admin's override
    ["approve", { amount: dec("0") }, "NOT_POSITIVE"], // every line taken out
    ["approve", { amount: dec("-10.00") }, "NOT_POSITIVE"], // a refund left only the clawback
    ["approve", { amount: dec("-10.00"), minimumOverridden: true }, "NOT_POSITIVE"], // an override never pays a negative net
    ["pay", {}, "PAID"],
    ["pay", { amount: dec("0.50") }, "PAID"], // approved already: a minimum raised since does not strand it
    ["pay", { amount: dec("0") }, "NOT_POSITIVE"],
    ["pay", { amount: dec("-10.00") }, "NOT_POSITIVE"],
    ["cancel", { amount: dec("-10.00") }, "CANCELLED"], // the way out
  ] as const)("%s %j → %s", (action, change, expected) => {
    const from: PayoutStatus = action === "pay" ? "APPROVED" : "DRAFT";
    const outcome = transitionPayout(from, action, { ...facts, ...change });
    if (outcome.ok) expect(outcome.to).toBe(expected);
    else expect(outcome.code).toBe(expected);
  });

  it("checks the status before the amount, and says what to do", () => {
    expect(transitionPayout("PAID", "approve", { ...facts, amount: dec("-10.00") })).toMatchObject({ ok: false, code: "INVALID_TRANSITION" });
    expect(transitionPayout("DRAFT", "approve", { ...facts, amount: dec("-10") })).toEqual({
      ok: false,
      code: "NOT_POSITIVE",
      message: "cannot approve a payout of -10.00 USD: its amount is not positive (cancel it; its lines become payable again)",
    });
  });
});

describe("which payable lines join a payout", () => {
  const now = new Date("2026-03-10T12:00:00Z");
  const periodEnd = new Date("2026-01-31T23:59:59Z");
  it.each([
    ["a positive line in the period", "30.00", "2026-01-15T00:00:00Z", periodEnd, true],
    ["a positive line at the period's end", "30.00", "2026-01-31T23:59:59Z", periodEnd, true],
    ["a positive line after the period", "30.00", "2026-02-15T00:00:00Z", periodEnd, false],
    ["a clawback booked after the period", "-10.00", "2026-03-01T00:00:00Z", periodEnd, true],
    ["a clawback booked now", "-10.00", "2026-03-10T12:00:00Z", periodEnd, true],
    ["a negative line not payable yet", "-10.00", "2026-03-11T00:00:00Z", periodEnd, false],
    ["a positive line now, period now", "30.00", "2026-03-10T12:00:00Z", now, true],
  ] as const)("%s (%s, payable %s)", (_name, amount, payableAt, before, joins) => {
    expect(joinsPayout({ amount: dec(amount), payableAt: new Date(payableAt) }, before, now)).toBe(joins);
  });
});
