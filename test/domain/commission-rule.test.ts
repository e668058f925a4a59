import { describe, expect, it } from "vitest";
import { computeCommission, parseCommissionRule, ruleForSale, type CommissionRule } from "../../src/domain/commission-rule.ts";
import type { CurrencyCode } from "../../src/domain/currency.ts";
import { dec } from "../../src/domain/money.ts";

const USD = "USD" as CurrencyCode;
const JPY = "JPY" as CurrencyCode;
const KWD = "KWD" as CurrencyCode;

const tiered: CommissionRule = {
  type: "TIERED",
  tiers: [
    { upTo: 100, percent: "10" },
    { upTo: null, percent: "15" },
  ],
};

describe("computing a line", () => {
  it.each([
    // rule, sale amount, currency, sale number, expected line
    [{ type: "FLAT", amount: "5" }, "120.00", USD, 1, "5.00"], // $5 per sale
    [{ type: "PERCENTAGE", percent: "10" }, "99.95", USD, 1, "10.00"], // 9.995 → 10.00
    [{ type: "PERCENTAGE", percent: "10" }, "99.94", USD, 1, "9.99"], // 9.994 → 9.99
    [{ type: "PERCENTAGE", percent: "12.5" }, "0.04", USD, 1, "0.01"], // 0.005 → 0.01 (tie up)
    [{ type: "PERCENTAGE", percent: "12.5" }, "0.03", USD, 1, "0.00"], // 0.00375 → 0.00
    [{ type: "PERCENTAGE", percent: "0.0001" }, "0.01", USD, 1, "0.00"], // tiny percentage of a tiny sale
    [{ type: "PERCENTAGE", percent: "33.3333" }, "999999999999999.99", USD, 1, "333333000000000.00"], // 333332999999999.9966… → .00, exact
    [{ type: "PERCENTAGE", percent: "10" }, "25", JPY, 1, "3"], // ¥2.5 → ¥3
    [{ type: "PERCENTAGE", percent: "10" }, "0.005", KWD, 1, "0.001"], // 0.0005 KWD → 0.001
    [tiered, "100.00", USD, 99, "10.00"],
    [tiered, "100.00", USD, 100, "10.00"], // the 100th sale is still in the first tier
    [tiered, "100.00", USD, 101, "15.00"], // sale 101 earns 15%
    [tiered, "100.00", USD, 5000, "15.00"],
    [
      {
        type: "TIERED",
        tiers: [
          { upTo: 10, amount: "2" },
          { upTo: null, amount: "3.50" },
        ],
      },
      "1.00",
      USD,
      11,
      "3.50",
    ],
  ] as [CommissionRule, string, CurrencyCode, number, string][])("%j on %s %s (sale %i) → %s", (rule, sale, currency, saleNumber, expected) => {
    const quote = computeCommission(rule, { amount: dec(sale), currency, saleNumber });
    expect(quote.amount.toFixed(currency === JPY ? 0 : currency === KWD ? 3 : 2)).toBe(expected);
  });

  it("computes from the unrounded converted amount of a foreign sale", () => {
    // 10.00 EUR at 0.00396 USD/EUR is $0.0396 unrounded ($0.04 rounded).
    // 12.5% of $0.0396 = 0.00495 → $0.00; rounding the sale first would give
    // 12.5% of $0.04 = 0.005 → $0.01. The line uses the unrounded amount.
    const converted = dec("10.00").times("0.00396");
    const quote = computeCommission({ type: "PERCENTAGE", percent: "12.5" }, { amount: converted, currency: USD, saleNumber: 1 });
    expect(quote.amount.toFixed(2)).toBe("0.00");
    const roundedFirst = computeCommission({ type: "PERCENTAGE", percent: "12.5" }, { amount: dec("0.04"), currency: USD, saleNumber: 1 });
    expect(roundedFirst.amount.toFixed(2)).toBe("0.01");
  });

  it("names the tier used", () => {
    expect(computeCommission(tiered, { amount: dec("1"), currency: USD, saleNumber: 100 }).tierIndex).toBe(0);
    expect(computeCommission(tiered, { amount: dec("1"), currency: USD, saleNumber: 101 }).tierIndex).toBe(1);
  });
});

describe("checking a rule", () => {
  it("accepts well-formed rules and normalises their numbers", () => {
    expect(parseCommissionRule({ type: "PERCENTAGE", percent: "12.50" }, USD)).toEqual({ ok: true, value: { type: "PERCENTAGE", percent: "12.5" } });
    expect(parseCommissionRule({ type: "FLAT", amount: "500" }, JPY)).toEqual({ ok: true, value: { type: "FLAT", amount: "500" } });
  });

  it.each([
    [{ type: "FLAT", amount: "5.555" }, USD, "commissionRule.amount"],
    [{ type: "FLAT", amount: "5.5" }, JPY, "commissionRule.amount"],
    [{ type: "FLAT", amount: "5", percent: "3" }, USD, "commissionRule.percent"],
    [{ type: "PERCENTAGE", percent: "100.01" }, USD, "commissionRule.percent"],
    [{ type: "PERCENTAGE", percent: "-1" }, USD, "commissionRule.percent"],
    [{ type: "PERCENTAGE", percent: "1.00001" }, USD, "commissionRule.percent"],
    [{ type: "TIERED", tiers: [] }, USD, "commissionRule.tiers"],
    [{ type: "TIERED", tiers: [{ upTo: 10, percent: "5" }] }, USD, "commissionRule.tiers.0.upTo"],
    [{ type: "TIERED", tiers: [{ percent: "5" }, { percent: "6" }] }, USD, "commissionRule.tiers.0.upTo"],
    [{ type: "TIERED", tiers: [{ upTo: 10, percent: "5", amount: "1" }, { percent: "6" }] }, USD, "commissionRule.tiers.0"],
    [{ type: "TIERED", tiers: [{ upTo: 0, percent: "5" }, { percent: "6" }] }, USD, "commissionRule.tiers.0.upTo"],
    [{ type: "TIERED", tiers: [{ upTo: 1.5, percent: "5" }, { percent: "6" }] }, USD, "commissionRule.tiers.0.upTo"],
  ] as const)("refuses %j (%s) at %s", (input, currency, field) => {
    const result = parseCommissionRule(input as never, currency);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.field?.join("."))).toContain(field);
  });
});

describe("the rule a sale earns by", () => {
  const program: CommissionRule = { type: "PERCENTAGE", percent: "10" };
  const own: CommissionRule = { type: "FLAT", amount: "5.00" };

  it("is the partner's own rule when it has one", () => {
    expect(ruleForSale({ partnerOverride: own, programRule: program })).toBe(own);
    // Its own rule wins even when it earns less than the program's (here nothing).
    const nothing: CommissionRule = { type: "PERCENTAGE", percent: "0" };
    expect(ruleForSale({ partnerOverride: nothing, programRule: program })).toBe(nothing);
  });

  it("is the program's when the partner has none (null as stored, or absent)", () => {
    expect(ruleForSale({ partnerOverride: null, programRule: program })).toBe(program);
    expect(ruleForSale({ partnerOverride: undefined, programRule: program })).toBe(program);
  });

  it("decides what the sale earns", () => {
    const earned = (partnerOverride: CommissionRule | null) =>
      computeCommission(ruleForSale({ partnerOverride, programRule: program }), { amount: dec("200.00"), currency: USD, saleNumber: 1 }).amount.toFixed(2);
    expect(earned(null)).toBe("20.00");
    expect(earned(own)).toBe("5.00");
  });
});
