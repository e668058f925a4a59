import { describe, expect, it } from "vitest";
import { addLineChange, bucketOf, emptyDelta } from "../../src/domain/balance.ts";
import { dec } from "../../src/domain/money.ts";
import { reversalDelta, reversedShare } from "../../src/domain/reversal.ts";
import type { CurrencyCode } from "../../src/domain/currency.ts";

const USD = "USD" as CurrencyCode;
const JPY = "JPY" as CurrencyCode;

describe("buckets", () => {
  it.each([
    ["PENDING", false, false, "pending"],
    ["ON_HOLD", true, false, "pending"],
    ["APPROVED", false, false, "pending"], // approved, still in its hold period
    ["APPROVED", true, false, "payable"],
    ["APPROVED", true, true, "inPayouts"],
    ["PAID", true, false, "paid"],
    ["CANCELLED", true, false, null],
    ["REVERSED", true, false, null],
  ] as const)("%s (matured %s, in payout %s) counts as %s", (status, matured, inOpenPayout, bucket) => {
    expect(bucketOf({ status, matured, inOpenPayout })).toBe(bucket);
  });

  it("moves an amount between buckets without changing lifetime, and out of it on cancel", () => {
    const delta = emptyDelta();
    addLineChange(delta, dec("10.00"), null, { status: "PENDING", matured: false, inOpenPayout: false });
    addLineChange(delta, dec("10.00"), { status: "PENDING", matured: false, inOpenPayout: false }, { status: "APPROVED", matured: true, inOpenPayout: false });
    expect([delta.pending.toFixed(), delta.payable.toFixed(), delta.lifetimeEarned.toFixed()]).toEqual(["0", "10", "10"]);
    addLineChange(delta, dec("10.00"), { status: "APPROVED", matured: true, inOpenPayout: false }, { status: "CANCELLED", matured: true, inOpenPayout: false });
    expect([delta.payable.toFixed(), delta.lifetimeEarned.toFixed()]).toEqual(["0", "0"]);
  });
});

describe("reversal shares", () => {
  it.each([
    // line, sale, refunded before, refunded after, currency, this refund's share
    ["10.00", "99.99", "0", "33.33", USD, "3.33"], // 3.3333 → 3.33
    ["10.00", "99.99", "33.33", "66.66", USD, "3.34"], // cumulative 6.6667 → 6.67
    ["10.00", "99.99", "66.66", "99.99", USD, "3.33"], // the rest: exactly the line
    ["0.05", "1.00", "0", "0.50", USD, "0.03"], // 0.025 → 0.03 (half up)
    ["0.05", "1.00", "0.50", "1.00", USD, "0.02"],
    ["7", "3", "0", "1", JPY, "2"], // ¥2.33 → ¥2
    ["7", "3", "1", "2", JPY, "3"], // cumulative ¥4.67 → ¥5
    ["7", "3", "2", "3", JPY, "2"],
  ] as const)("line %s of sale %s, refunded %s → %s: share %s %s", (line, sale, before, after, currency, share) => {
    expect(reversalDelta(dec(line), dec(sale), dec(before), dec(after), currency).toFixed()).toBe(share);
  });

  it("adds up to the whole line for any split of the refund", () => {
    const line = dec("12.34");
    const sale = dec("57.77");
    const cuts = ["0.01", "13.13", "20.00", "0.63", "24.00"];
    let before = dec("0");
    let total = dec("0");
    for (const cut of cuts) {
      const after = before.plus(cut);
      total = total.plus(reversalDelta(line, sale, before, after, USD));
      before = after;
    }
    expect(before.toFixed()).toBe("57.77");
    expect(total.toFixed()).toBe("12.34");
    expect(reversedShare(line, sale, sale, USD).toFixed()).toBe("12.34");
  });
});
