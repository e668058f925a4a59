import { describe, expect, it } from "vitest";
import { PAYOUT_ACTIONS, PAYOUT_STATUSES, transitionPayout, type PayoutAction, type PayoutStatus } from "../../src/domain/payout-status.ts";
import { payoutBlockers } from "../../src/domain/payout-eligibility.ts";
import { dec } from "../../src/domain/money.ts";

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
