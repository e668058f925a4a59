import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { minorUnitsOf, parseCurrencyCode, type CurrencyCode } from "../../src/domain/currency.ts";
import { dec, formatAmount, formatAmountText, money, parseAmount, parseDecimal, roundToMinorUnit } from "../../src/domain/money.ts";

const USD = "USD" as CurrencyCode;
const JPY = "JPY" as CurrencyCode;
const KWD = "KWD" as CurrencyCode;

describe("currencies", () => {
  it.each([
    ["USD", 2],
    ["EUR", 2],
    ["JPY", 0],
    ["KRW", 0],
    ["KWD", 3],
    ["BHD", 3],
    ["IQD", 3], // ISO 4217 says 3, though CLDR formats 0
    ["CLF", 4],
  ])("%s has %i decimal places", (code, places) => {
    expect(minorUnitsOf(parseCurrencyCode(code)!)).toBe(places);
  });

  it.each(["usd", "XAU", "XXX", "XTS", "ABC", "US"])("%s is not money", (code) => {
    expect(parseCurrencyCode(code)).toBeUndefined();
  });
});

describe("rounding to the minor unit: ROUND_HALF_UP, symmetric", () => {
  it.each([
    // amount, currency, rounded
    ["1.005", USD, "1.01"], // $1.005 → $1.01 (ties away from zero)
    ["-1.005", USD, "-1.01"], // a clawback is the exact negative
    ["1.004999", USD, "1.00"],
    ["-1.004999", USD, "-1.00"],
    ["2.5", JPY, "3"], // ¥2.5 → ¥3
    ["-2.5", JPY, "-3"],
    ["3.5", JPY, "4"],
    ["0.0005", KWD, "0.001"], // 0.0005 KWD → 0.001
    ["-0.0005", KWD, "-0.001"],
    ["12.3454", KWD, "12.345"],
    ["0.004", USD, "0.00"],
  ])("%s %s → %s", (amount, currency, expected) => {
    expect(formatAmount(roundToMinorUnit(dec(amount), currency), currency)).toBe(expected);
  });

  it("gives the negative of a rounded line for the negated line, for every tie", () => {
    for (let cents = -500; cents <= 500; cents += 1) {
      const tie = dec(`${cents}.5`).dividedBy(100); // x.xx5
      expect(roundToMinorUnit(tie.negated(), USD).equals(roundToMinorUnit(tie, USD).negated())).toBe(true);
    }
  });
});

describe("parsing amounts exactly as written", () => {
  it.each([
    ["12.50", USD, "12.5"],
    ["0.01", USD, "0.01"],
    ["1300", JPY, "1300"],
    ["4.125", KWD, "4.125"],
    ["999999999999999.99", USD, "999999999999999.99"],
  ])("accepts %s %s", (text, currency, value) => {
    const parsed = parseAmount(text, currency);
    expect(parsed.ok && parsed.value.toFixed()).toBe(value);
  });

  it.each([
    ["12.505", USD, "SCALE"], // more places than the currency has: refused, never rounded
    ["1300.5", JPY, "SCALE"],
    ["4.1255", KWD, "SCALE"],
    ["1e3", USD, "FORMAT"],
    ["1E-2", USD, "FORMAT"],
    ["NaN", USD, "FORMAT"],
    ["Infinity", USD, "FORMAT"],
    ["", USD, "FORMAT"],
    [" 12", USD, "FORMAT"],
    ["+12", USD, "FORMAT"],
    ["0x10", USD, "FORMAT"],
    ["1,000.00", USD, "FORMAT"],
    ["012", USD, "FORMAT"],
    ["12.", USD, "FORMAT"],
    [".5", USD, "FORMAT"],
    ["-12.00", USD, "SIGN"],
    ["0", USD, "SIGN"],
    ["0.00", USD, "SIGN"],
    ["1234567890123456", USD, "RANGE"], // 16 integer digits do not fit NUMERIC(19,4)
  ])("refuses %j in %s (%s)", (text, currency, problem) => {
    const parsed = parseAmount(text, currency);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toBe(problem);
  });

  it("accepts negatives and zero only when asked to", () => {
    expect(parseDecimal("-5.25", { maxScale: 2, allowNegative: true }).ok).toBe(true);
    expect(parseDecimal("0", { maxScale: 2, allowZero: true }).ok).toBe(true);
    expect(parseDecimal("-0", { maxScale: 2, allowZero: true })).toMatchObject({ ok: true });
  });

  it("keeps precision far beyond a double's", () => {
    const parsed = parseAmount("999999999999999.99", USD);
    expect(parsed.ok && parsed.value.plus("0.01").toFixed()).toBe("1000000000000000");
    expect(money("0.10", USD).amount.plus("0.20").toFixed()).toBe("0.3");
  });

  it("has no way to make money from a JavaScript number", () => {
    // @ts-expect-error: amounts are strings or Decimals, never numbers
    expect(() => money(0.1, USD)).not.toThrow(); // the type checker (npm run typecheck) is the guard
    // @ts-expect-error: parsing takes the text as written
    void (() => parseAmount(12.5, USD));
  });
});

describe("formatting an amount's text (database reads)", () => {
  const CLF = "CLF" as CurrencyCode;
  it.each([
    ["80.2000", USD, "80.20"],
    ["-5.0000", USD, "-5.00"],
    ["0.0000", USD, "0.00"],
    ["1300.0000", JPY, "1300"],
    ["1300", JPY, "1300"],
    ["4.1250", KWD, "4.125"],
    ["4.1", KWD, "4.100"],
    ["7", USD, "7.00"],
    ["1.2345", CLF, "1.2345"],
  ])("%s %s → %s", (text, currency, expected) => {
    expect(formatAmountText(text, currency)).toBe(expected);
  });

  it("gives formatAmount's string for any text, rounding (HALF_UP) only through Decimal", () => {
    const texts = ["1.005", "-1.005", "2.5000", "-0.0040", "-0", "-0.0000", "0.0049", "1e3", "00.50", "+1.00", "999999999999999.9999"];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom(...texts),
          fc.tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.nat({ max: 4 }), fc.nat({ max: 9999 })).map(([negative, whole, places, digits]) => {
            const fraction = places ? `.${String(digits).padStart(4, "0").slice(0, places)}` : "";
            return `${negative ? "-" : ""}${whole}${fraction}`;
          }),
        ),
        fc.constantFrom(USD, JPY, KWD, CLF),
        (text, currency) => {
          expect(formatAmountText(text, currency)).toBe(formatAmount(dec(text), currency));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
