import { describe, expect, it } from "vitest";
import {
  DEFAULT_1099_THRESHOLDS,
  merge1099Thresholds,
  payees1099,
  Payees1099Tally,
  THIRD_PARTY_NETWORK_METHODS,
  thresholdFor,
  type Paid1099Payout,
} from "../../src/domain/tax-1099.ts";

const LA = "America/Los_Angeles";
const everyone = () => true;

function payout(partnerId: string, amount: string, paidAt: string, method: string | null = "ACH"): Paid1099Payout {
  return { partnerId, amount, method, paidAt: new Date(paidAt) };
}

/** The report as plain values: [partnerId, total in USD, payout count]. */
function report(...args: Parameters<typeof payees1099>): Array<[string, string, number]> {
  return payees1099(...args).map((payee) => [payee.partnerId, payee.total.toFixed(2), payee.payoutCount]);
}

describe("1099-NEC thresholds by tax year", () => {
  it.each([
    // year, threshold in USD
    [2020, "600"], // before the first key: the first key's value
    [2024, "600"],
    [2025, "600"], // payments made through 2025
    [2026, "2000"], // from 2026
    [2027, "2000"],
    [2030, "2000"], // after the last key: the last key's value
  ])("%i → $%s", (year, expected) => {
    expect(thresholdFor(year).toFixed()).toBe(expected);
  });

  it("defaults to $600 through 2025 and $2,000 from 2026", () => {
    expect(DEFAULT_1099_THRESHOLDS).toEqual({ 2025: "600", 2026: "2000" });
  });

  it.each([
    // year, threshold in USD, from a table with an inflation-indexed 2028
    [2024, "600"],
    [2026, "2000"],
    [2027, "2000"], // between keys: the nearest earlier key
    [2028, "2100.50"],
    [2035, "2100.50"],
  ])("an overriding table: %i → $%s", (year, expected) => {
    expect(thresholdFor(year, { 2028: "2100.50", 2025: "600", 2026: "2000" }).toFixed(2)).toBe(Number(expected).toFixed(2));
  });

  it.each([
    // year, threshold in USD, with ACCRUE_1099_THRESHOLDS={"2027":"2100"}: only 2027 on changes
    [2020, "600"],
    [2024, "600"],
    [2025, "600"], // was 2100 when the override replaced the built-in table
    [2026, "2000"],
    [2027, "2100"],
    [2030, "2100"],
  ])("an override of one year keeps the built-in others: %i → $%s", (year, expected) => {
    expect(thresholdFor(year, { 2027: "2100" }).toFixed()).toBe(expected);
  });

  it.each([
    // year, threshold in USD, with an override before the built-in keys
    [2022, "600"], // before every key: the built-in $600, not the override's value
    [2023, "700"],
    [2024, "700"],
    [2025, "600"],
    [2026, "2000"],
  ])("an override of an early year holds until the next key: %i → $%s", (year, expected) => {
    expect(thresholdFor(year, { 2023: "700" }).toFixed()).toBe(expected);
  });

  it("merges overrides over the built-in table, and an empty override is the built-in table", () => {
    expect(merge1099Thresholds({ 2027: "2100" })).toEqual({ 2025: "600", 2026: "2000", 2027: "2100" });
    expect(merge1099Thresholds({ 2026: "2500" })).toEqual({ 2025: "600", 2026: "2500" });
    expect(merge1099Thresholds({})).toEqual(DEFAULT_1099_THRESHOLDS);
    expect(thresholdFor(2026, {}).toFixed()).toBe("2000");
    expect(() => merge1099Thresholds({ 2027: "lots" })).toThrow(/amount/);
  });

  it("reports with merged thresholds: an override for 2027 leaves 2025's $600 alone", () => {
    const payouts = [payout("p1", "700.00", "2025-06-01T12:00:00Z"), payout("p2", "2050.00", "2027-06-01T12:00:00Z"), payout("p3", "2150.00", "2027-06-01T12:00:00Z")];
    expect(report(payouts, { year: 2025, timeZone: LA, eligible: everyone, thresholds: { 2027: "2100" } })).toEqual([["p1", "700.00", 1]]);
    expect(report(payouts, { year: 2027, timeZone: LA, eligible: everyone, thresholds: { 2027: "2100" } })).toEqual([["p3", "2150.00", 1]]);
  });
});

describe("payees1099", () => {
  it.each([
    // year, amounts in USD paid to one partner, reported?
    [2025, ["600.00"], true], // exactly at the threshold: reported (≥)
    [2025, ["599.99"], false], // a cent below
    [2025, ["300.00", "299.99"], false],
    [2025, ["300.00", "300.00"], true], // the threshold applies to the year's total, not to each payout
    [2026, ["2000.00"], true],
    [2026, ["1999.99"], false],
    [2026, ["600.00", "600.00"], false], // $1,200 was enough in 2025, not in 2026
  ])("in %i, payouts %j → reported: %s", (year, amounts, reported) => {
    const payouts = amounts.map((amount, i) => payout("p1", amount, `${year}-0${i + 3}-15T18:00:00Z`));
    expect(report(payouts, { year, timeZone: LA, eligible: everyone }).length).toBe(reported ? 1 : 0);
  });

  it("adds exactly, with no floating-point drift", () => {
    // 6,000 payouts of $0.10 = $600.00 exactly; as JS numbers the sum would be 599.9999999999…
    const payouts = Array.from({ length: 6_000 }, () => payout("p1", "0.10", "2025-06-01T12:00:00Z"));
    expect(report(payouts, { year: 2025, timeZone: LA, eligible: everyone })).toEqual([["p1", "600.00", 6_000]]);
  });

  it.each([
    // method, counted in 1099-NEC?
    ["PAYPAL", false], // reported by PayPal on 1099-K
    ["VENMO", false],
    ["ACH", true],
    ["WIRE", true],
    ["CHECK", true],
    ["BANK_TRANSFER", true],
    ["ZELLE", true], // Zelle is not a third-party settlement organisation
    [null, true], // no method recorded: counted, the safe side
  ])("a payout by %s is counted: %s", (method, counted) => {
    const payouts = [payout("p1", "1000.00", "2025-05-01T12:00:00Z", method)];
    expect(report(payouts, { year: 2025, timeZone: LA, eligible: everyone }).length).toBe(counted ? 1 : 0);
  });

  it("leaves PayPal and Venmo out of a partner's total, and out of the count", () => {
    const payouts = [
      payout("p1", "500.00", "2025-02-01T12:00:00Z", "ACH"),
      payout("p1", "5000.00", "2025-03-01T12:00:00Z", "PAYPAL"),
      payout("p1", "5000.00", "2025-04-01T12:00:00Z", "VENMO"),
      payout("p1", "150.00", "2025-05-01T12:00:00Z", "WIRE"),
      payout("p1", "25.00", "2025-06-01T12:00:00Z", "CHECK"),
    ];
    expect(report(payouts, { year: 2025, timeZone: LA, eligible: everyone })).toEqual([["p1", "675.00", 3]]);
    expect([...THIRD_PARTY_NETWORK_METHODS].sort()).toEqual(["PAYPAL", "VENMO"]);
  });

  it.each([
    // paidAt (UTC), time zone, tax year it belongs to
    ["2026-01-01T03:00:00Z", LA, 2025], // 2025-12-31 19:00 in Los Angeles
    ["2026-01-01T08:00:00Z", LA, 2026], // 2026-01-01 00:00 in Los Angeles: the first instant of 2026
    ["2026-01-01T07:59:59.999Z", LA, 2025],
    ["2026-01-01T03:00:00Z", "UTC", 2026],
    ["2025-12-31T23:30:00Z", "Asia/Tokyo", 2026], // 2026-01-01 08:30 in Tokyo
    ["2025-12-31T14:59:59Z", "Asia/Tokyo", 2025],
  ])("a payout paid %s is in tax year %i for %s", (paidAt, timeZone, year) => {
    const payouts = [payout("p1", "5000.00", paidAt)];
    // Thresholds of $1 both years, so only the year cut decides.
    const thresholds = { 2025: "1", 2026: "1" };
    expect(report(payouts, { year, timeZone, eligible: everyone, thresholds })).toHaveLength(1);
    expect(report(payouts, { year: year === 2025 ? 2026 : 2025, timeZone, eligible: everyone, thresholds })).toHaveLength(0);
  });

  it("uses the threshold of the report's year", () => {
    // $1,500 paid in 2025 (≥ $600) and $1,500 paid in 2026 (< $2,000)
    const payouts = [payout("p1", "1500.00", "2025-07-01T12:00:00Z"), payout("p1", "1500.00", "2026-07-01T12:00:00Z")];
    expect(report(payouts, { year: 2025, timeZone: LA, eligible: everyone })).toEqual([["p1", "1500.00", 1]]);
    expect(report(payouts, { year: 2026, timeZone: LA, eligible: everyone })).toEqual([]);
  });

  it("leaves out partners without a W-9 (not US persons), asking once per partner", () => {
    const payouts = [
      payout("us-w9", "700.00", "2025-03-01T12:00:00Z"),
      payout("foreign", "9000.00", "2025-03-01T12:00:00Z"),
      payout("foreign", "9000.00", "2025-04-01T12:00:00Z"),
      payout("no-w9", "800.00", "2025-03-01T12:00:00Z"),
    ];
    const asked: string[] = [];
    const eligible = (partnerId: string) => {
      asked.push(partnerId);
      return partnerId === "us-w9";
    };
    expect(report(payouts, { year: 2025, timeZone: LA, eligible })).toEqual([["us-w9", "700.00", 1]]);
    expect(asked.sort()).toEqual(["foreign", "no-w9", "us-w9"]);
  });

  it("sorts by total descending, then partnerId", () => {
    const payouts = [
      payout("b", "700.00", "2025-03-01T12:00:00Z"),
      payout("c", "900.00", "2025-03-01T12:00:00Z"),
      payout("a", "700.00", "2025-03-01T12:00:00Z"),
      payout("d", "600.00", "2025-03-01T12:00:00Z"),
      payout("e", "650.00", "2025-03-01T12:00:00Z"),
      payout("e", "300.00", "2025-04-01T12:00:00Z"), // e: $950 in two payouts
    ];
    expect(report(payouts, { year: 2025, timeZone: LA, eligible: everyone })).toEqual([
      ["e", "950.00", 2],
      ["c", "900.00", 1],
      ["a", "700.00", 1],
      ["b", "700.00", 1],
      ["d", "600.00", 1],
    ]);
  });

  it("refuses an unknown time zone instead of reporting nobody", () => {
    expect(() => payees1099([], { year: 2025, timeZone: "Mars/Olympus", eligible: everyone })).toThrow(/time zone/);
  });

  it("refuses a payout with an invalid paidAt instead of dropping it", () => {
    const payouts = [{ partnerId: "p1", amount: "700.00", method: "ACH", paidAt: new Date("not a date") }];
    expect(() => payees1099(payouts, { year: 2025, timeZone: LA, eligible: everyone })).toThrow(/invalid paidAt/);
  });
});

describe("Payees1099Tally (the export pages payouts into it)", () => {
  it("gives what payees1099 gives, and names the candidates at the threshold before eligibility", () => {
    const payouts = [
      payout("a", "400.00", "2026-02-01T12:00:00Z"),
      payout("a", "1600.00", "2026-09-01T12:00:00Z"), // a: $2,000, exactly the 2026 threshold
      payout("b", "5000.00", "2026-05-01T12:00:00Z", "PAYPAL"), // left out: PayPal reports it
      payout("c", "2500.00", "2026-05-01T12:00:00Z"), // reaches it, but not eligible
      payout("d", "1999.99", "2026-05-01T12:00:00Z"),
    ];
    const tally = new Payees1099Tally({ year: 2026, timeZone: LA });
    for (const p of payouts) tally.add(p);
    expect(tally.candidates().sort()).toEqual(["a", "c"]);
    const eligible = (id: string) => id !== "c";
    expect(tally.payees(eligible).map((p) => [p.partnerId, p.total.toFixed(2), p.payoutCount])).toEqual(report(payouts, { year: 2026, timeZone: LA, eligible }));
    expect(report(payouts, { year: 2026, timeZone: LA, eligible })).toEqual([["a", "2000.00", 2]]);
  });
});
