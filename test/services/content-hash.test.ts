import { describe, expect, it } from "vitest";
import { dec } from "../../src/domain/money.ts";
import { Prisma } from "../../src/generated/prisma/client.ts";
import { canonicalJson, contentHash } from "../../src/services/conversions/content-hash.ts";

const PrismaDecimal = Prisma.Decimal;

describe("canonicalJson", () => {
  it.each([
    // value, canonical form
    [{ b: 1, a: { d: [2, { z: null, y: "x" }], c: true } }, '{"a":{"c":true,"d":[2,{"y":"x","z":null}]},"b":1}'],
    [{ a: undefined, b: null }, '{"b":null}'],
    [[undefined, 1], "[null,1]"],
    [undefined, "null"],
    [new Date("2026-01-01T00:00:00.000Z"), '"2026-01-01T00:00:00.000Z"'],
    [{ payableBefore: new Date("2025-12-02T00:00:00Z") }, '{"payableBefore":"2025-12-02T00:00:00.000Z"}'],
    [new Date(Number.NaN), "null"], // as JSON.stringify writes an invalid date
    [dec("1.50"), '"1.5"'],
    [dec("-0.00"), '"0"'],
    [dec("1e21"), '"1000000000000000000000"'], // never exponent notation
    [new PrismaDecimal("12.3400"), '"12.34"'], // Prisma's own copy of decimal.js
    [{ fee: dec("0.10"), sentAmount: "99.90" }, '{"fee":"0.1","sentAmount":"99.90"}'],
    [Object.assign(Object.create(null) as object, { b: 2, a: 1 }), '{"a":1,"b":2}'],
  ])("writes %o as %s", (value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it("hashes equal content equally, whatever the key order", () => {
    expect(contentHash({ a: 1, b: { c: 2, d: 3 } })).toBe(contentHash({ b: { d: 3, c: 2 }, a: 1 }));
  });

  it("hashes different dates and decimals differently, equal ones equally", () => {
    const payout = (payableBefore: Date) => contentHash({ partnerId: "p", payableBefore });
    expect(payout(new Date("2026-01-01T00:00:00Z"))).not.toBe(payout(new Date("2025-12-02T00:00:00Z")));
    expect(payout(new Date("2026-01-01T00:00:00Z"))).toBe(payout(new Date("2026-01-01T00:00:00.000Z")));
    expect(contentHash({ fee: dec("1.50") })).toBe(contentHash({ fee: new PrismaDecimal("1.5") }));
    expect(contentHash({ fee: dec("1.50") })).not.toBe(contentHash({ fee: dec("1.51") }));
  });

  it("refuses a value it cannot write by content rather than hashing it as {}", () => {
    expect(() => canonicalJson({ seen: new Map([["a", 1]]) })).toThrow(TypeError);
    expect(() => canonicalJson(new Set([1]))).toThrow(TypeError);
  });

  it("writes other class instances through their toJSON", () => {
    class Cents {
      constructor(readonly cents: number) {}
      toJSON() {
        return { cents: this.cents, unit: "USD" };
      }
    }
    expect(canonicalJson({ x: new Cents(5) })).toBe('{"x":{"cents":5,"unit":"USD"}}');
  });
});
