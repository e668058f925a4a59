import { describe, expect, it } from "vitest";
import { COMMISSION_ACTIONS, COMMISSION_STATUSES, transitionCommission, type CommissionAction, type CommissionStatus } from "../../src/domain/commission-status.ts";

/** Every action from every status: the expected result, or "-" where the move is refused. */
const EXPECTED: Record<CommissionStatus, Record<CommissionAction, CommissionStatus | "-" | "HELD_FROM">> = {
  //          approve     hold       release      cancel       reinstate  pay     reverse
  PENDING: { approve: "APPROVED", hold: "ON_HOLD", release: "-", cancel: "CANCELLED", reinstate: "-", pay: "-", reverse: "REVERSED" },
  APPROVED: { approve: "-", hold: "ON_HOLD", release: "-", cancel: "CANCELLED", reinstate: "-", pay: "PAID", reverse: "REVERSED" },
  ON_HOLD: { approve: "-", hold: "-", release: "HELD_FROM", cancel: "CANCELLED", reinstate: "-", pay: "-", reverse: "REVERSED" },
  CANCELLED: { approve: "-", hold: "-", release: "-", cancel: "-", reinstate: "PENDING", pay: "-", reverse: "REVERSED" },
  PAID: { approve: "-", hold: "-", release: "-", cancel: "-", reinstate: "-", pay: "-", reverse: "-" },
  REVERSED: { approve: "-", hold: "-", release: "-", cancel: "-", reinstate: "-", pay: "-", reverse: "-" },
};

const pairs = COMMISSION_STATUSES.flatMap((status) => COMMISSION_ACTIONS.map((action) => [status, action] as const));

describe("commission transitions", () => {
  it.each(pairs)("%s --%s-->", (status, action) => {
    const expected = EXPECTED[status][action];
    const outcome = transitionCommission({ status, heldFromStatus: status === "ON_HOLD" ? "APPROVED" : null, inOpenPayout: false }, action);
    if (expected === "-") {
      expect(outcome).toMatchObject({ ok: false, code: "INVALID_TRANSITION" });
    } else {
      expect(outcome).toMatchObject({ ok: true, status: expected === "HELD_FROM" ? "APPROVED" : expected });
    }
  });

  it("remembers where a hold came from and returns there", () => {
    const held = transitionCommission({ status: "PENDING", heldFromStatus: null, inOpenPayout: false }, "hold");
    expect(held).toEqual({ ok: true, status: "ON_HOLD", heldFromStatus: "PENDING" });
    expect(transitionCommission({ status: "ON_HOLD", heldFromStatus: "PENDING", inOpenPayout: false }, "release")).toEqual({
      ok: true,
      status: "PENDING",
      heldFromStatus: null,
    });
  });

  it.each(["hold", "cancel"] as const)("refuses to %s a line in an open payout", (action) => {
    expect(transitionCommission({ status: "APPROVED", heldFromStatus: null, inOpenPayout: true }, action)).toMatchObject({ ok: false, code: "IN_OPEN_PAYOUT" });
  });

  it("lets a line in an open payout be paid or reversed", () => {
    expect(transitionCommission({ status: "APPROVED", heldFromStatus: null, inOpenPayout: true }, "pay")).toMatchObject({ ok: true, status: "PAID" });
    expect(transitionCommission({ status: "APPROVED", heldFromStatus: null, inOpenPayout: true }, "reverse")).toMatchObject({ ok: true, status: "REVERSED" });
  });
});
