import { describe, expect, it } from "vitest";
import type { CurrencyCode } from "../../../src/domain/currency.ts";
import { Dec } from "../../../src/domain/money.ts";
import { backoffMs } from "../../../src/integrations/payments/http.ts";
import { decimalFromJsonNumber, fromMinorUnits, jsonNumberFromDecimal, toMinorUnits } from "../../../src/integrations/payments/minor-units.ts";
import { stripeDigits, stripeStep } from "../../../src/integrations/payments/stripe/stripe-currencies.ts";
import { customerTransactionId } from "../../../src/integrations/payments/wise/wise-provider.ts";

describe("wire amounts, exactly", () => {
  it.each([
    ["12.34", 2, "1234"], // $12.34
    ["0.01", 2, "1"],
    ["1500", 0, "1500"], // ¥1,500
    ["4.125", 3, "4125"], // KWD 4.125
    ["700", 2, "70000"], // ISK 700 as Stripe writes it
    ["99999999999.99", 2, "9999999999999"],
  ])("%s with %i places is %s minor units, and back", (amount, digits, units) => {
    expect(toMinorUnits(new Dec(amount), digits)).toBe(units);
    expect(fromMinorUnits(units, digits).equals(new Dec(amount))).toBe(true);
  });

  it.each([
    ["12.345", 2],
    ["10.5", 0],
  ])("refuses %s with %i places rather than round it", (amount, digits) => {
    expect(() => toMinorUnits(new Dec(amount), digits)).toThrow(RangeError);
  });

  it("reads JSON numbers back as the decimals they were written as, and refuses longer ones", () => {
    expect(decimalFromJsonNumber(JSON.parse("226.69")).toFixed()).toBe("226.69");
    expect(decimalFromJsonNumber(JSON.parse("0.1")).toFixed()).toBe("0.1");
    expect(decimalFromJsonNumber(JSON.parse("1.16022")).toFixed()).toBe("1.16022");
    expect(() => decimalFromJsonNumber(JSON.parse("0.30000000000000004"))).toThrow(RangeError);
    expect(() => fromMinorUnits(2 ** 53 + 2, 2)).toThrow(RangeError);
    expect(jsonNumberFromDecimal(new Dec("250.00"))).toBe(250);
    expect(() => jsonNumberFromDecimal(new Dec("1234567890123456.78"))).toThrow(RangeError);
  });

  it.each([
    ["USD", 2, 1],
    ["JPY", 0, 1],
    ["KWD", 3, 10],
    ["ISK", 2, 100],
    ["UGX", 2, 100],
    ["MGA", 0, 1],
    ["HUF", 2, 1],
  ])("Stripe writes %s with %i places in steps of %i", (currency, digits, step) => {
    expect(stripeDigits(currency as CurrencyCode)).toBe(digits);
    expect(stripeStep(currency as CurrencyCode)).toBe(step);
  });

  it("makes Wise's customerTransactionId from the key: the same key, the same UUID", () => {
    const id = customerTransactionId("payout-1:1");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(customerTransactionId("payout-1:1")).toBe(id);
    expect(customerTransactionId("payout-1:2")).not.toBe(id);
    expect(customerTransactionId("0190A5B2-1C3D-7E4F-8A9B-0C1D2E3F4A5B")).toBe("0190a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b");
  });

  it("backs off exponentially with jitter, within the cap", () => {
    const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4].map((attempt) => backoffMs(policy, attempt, () => 0))).toEqual([50, 100, 200, 400]);
    expect([1, 2, 3, 4].map((attempt) => backoffMs(policy, attempt, () => 0.999))).toEqual([150, 300, 600, 1000]);
  });
});
