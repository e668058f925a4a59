import { describe, expect, it } from "vitest";
import { bucketOf } from "../../src/domain/balance.ts";
import { dec } from "../../src/domain/money.ts";
import { COMMISSION_STATUSES } from "../../src/domain/commission-status.ts";
import { holdEnded, isPayable, withHoldsEnded } from "../../src/domain/payable.ts";

const payableAt = new Date("2026-04-01T07:30:00.000Z");
const before = new Date(payableAt.getTime() - 1);

describe("the payable rule", () => {
  it("ends a hold at payableAt, not a millisecond before", () => {
    expect(holdEnded({ payableAt }, before)).toBe(false);
    expect(holdEnded({ payableAt }, payableAt)).toBe(true);
  });

  it.each(COMMISSION_STATUSES.flatMap((status) => [false, true].map((inOpenPayout) => [status, inOpenPayout] as const)))(
    "%s (in an open payout: %s) is payable only when APPROVED, past its hold and in no payout",
    (status, inOpenPayout) => {
      expect(isPayable({ status, payableAt, inOpenPayout }, before)).toBe(false);
      expect(isPayable({ status, payableAt, inOpenPayout }, payableAt)).toBe(status === "APPROVED" && !inOpenPayout);
    },
  );

  it("agrees with the projection's bucket once a line is marked: payable exactly when it counts as payable", () => {
    for (const status of COMMISSION_STATUSES) {
      for (const inOpenPayout of [false, true]) {
        expect(isPayable({ status, payableAt, inOpenPayout }, payableAt)).toBe(bucketOf({ status, matured: true, inOpenPayout }) === "payable");
      }
    }
  });

  it("moves what the projection has not marked from pending to payable, and nothing else", () => {
    const stored = { pending: dec("25.00"), payable: dec("-3.00"), paid: dec("7.00") };
    const read = withHoldsEnded(stored, dec("10.00"));
    expect([read.pending.toFixed(2), read.payable.toFixed(2), read.paid.toFixed(2)]).toEqual(["15.00", "7.00", "7.00"]);
    expect(withHoldsEnded(stored, dec("0"))).toBe(stored);
  });
});
