import { describe, expect, it } from "vitest";
import { dualControlRefusal, PAYOUT_ACTIONS, PAYOUT_STATUSES, transitionPayout, type AnyPayoutAction, type PayoutStatus } from "../../src/domain/payout-status.ts";
import { joinsPayout, payoutBlockers } from "../../src/domain/payout-eligibility.ts";
import { dec } from "../../src/domain/money.ts";
import type { CurrencyCode } from "../../src/domain/currency.ts";

/** Every action from every status: where it leads, or "-" where it is refused. */
const EXPECTED: Record<PayoutStatus, Record<AnyPayoutAction, PayoutStatus | "-">> = {
  DRAFT: { approve: "APPROVED", pay: "-", cancel: "CANCELLED", send: "-", confirm: "-", fail: "-", return: "-" },
  APPROVED: { approve: "-", pay: "PAID", cancel: "CANCELLED", send: "PROCESSING", confirm: "-", fail: "-", return: "-" },
  // With a provider: neither cancelled nor paid by hand; only the provider's answer moves it.
  PROCESSING: { approve: "-", pay: "-", cancel: "-", send: "-", confirm: "PAID", fail: "FAILED", return: "-" },
  // Paid stays paid unless the money comes back.
  PAID: { approve: "-", pay: "-", cancel: "-", send: "-", confirm: "-", fail: "-", return: "RETURNED" },
  FAILED: { approve: "-", pay: "-", cancel: "-", send: "-", confirm: "-", fail: "-", return: "-" },
  RETURNED: { approve: "-", pay: "-", cancel: "-", send: "-", confirm: "-", fail: "-", return: "-" },
  CANCELLED: { approve: "-", pay: "-", cancel: "-", send: "-", confirm: "-", fail: "-", return: "-" },
};

describe("payout transitions", () => {
  it.each(PAYOUT_STATUSES.flatMap((status) => PAYOUT_ACTIONS.map((action) => [status, action] as const)))("%s --%s-->", (status, action) => {
    const expected = EXPECTED[status][action];
    const outcome = transitionPayout(status, action);
    if (expected === "-") expect(outcome).toMatchObject({ ok: false, code: "INVALID_TRANSITION" });
    else expect(outcome).toEqual({ ok: true, from: status, to: expected });
  });
});

describe("payout transitions a provider reports", () => {
  const facts = { amount: dec("0"), currency: "USD" as CurrencyCode, minimum: dec("50.00"), minimumOverridden: false };
  it("sends only a positive amount, but never refuses what the provider reports for the amount", () => {
    expect(transitionPayout("APPROVED", "send", facts)).toMatchObject({ ok: false, code: "NOT_POSITIVE" });
    expect(transitionPayout("APPROVED", "send", { ...facts, amount: dec("10.00") })).toEqual({ ok: true, from: "APPROVED", to: "PROCESSING" }); // below the minimum: approved already
    expect(transitionPayout("PROCESSING", "confirm", facts)).toEqual({ ok: true, from: "PROCESSING", to: "PAID" });
    expect(transitionPayout("PROCESSING", "fail", facts)).toEqual({ ok: true, from: "PROCESSING", to: "FAILED" });
    expect(transitionPayout("PAID", "return", facts)).toEqual({ ok: true, from: "PAID", to: "RETURNED" });
  });
});

describe("dual control", () => {
  const base = {
    amount: dec("500.00"),
    currency: "USD" as CurrencyCode,
    threshold: dec("500.00") as ReturnType<typeof dec> | null,
    approvedBy: "ana" as string | null,
    sender: "ana",
  };
  it.each([
    [{ threshold: null }, null], // the program does not ask for it
    [{}, null], // at the threshold, one person may do both
    [{ amount: dec("500.01") }, "DUAL_CONTROL"],
    [{ amount: dec("500.01"), sender: "ben" }, null],
    [{ amount: dec("500.01"), approvedBy: null, sender: "ben" }, "DUAL_CONTROL"], // approver unknown: cannot be shown to differ
    [{ amount: dec("10.00"), approvedBy: null }, null],
  ] as const)("%j → %s", (change, code) => {
    const refusal = dualControlRefusal({ ...base, ...change });
    expect(refusal?.code ?? null).toBe(code);
    if (refusal) expect(refusal.message).toContain("above the program's dual-control amount of 500.00");
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
    [
      { hasOpenPayout: true, payable: dec("1"), hasPayoutMethod: false, hasBillingDetails: false },
      ["OPEN_PAYOUT_EXISTS", "BELOW_MINIMUM", "NO_PAYOUT_METHOD", "NO_BILLING_DETAILS"],
    ],
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
