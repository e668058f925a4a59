import type { Decimal } from "decimal.js";
import type { CurrencyCode } from "../../domain/currency.ts";
import { Dec } from "../../domain/money.ts";

/**
 * Exact conversions between decimal amounts and a provider's wire numbers.
 * Nothing here rounds: an amount that does not fit is an error, because a
 * silently rounded payout is money paid wrong.
 */

/** An amount as an integer count of minor units (`digits` places), as a string; throws if it has more places. */
export function toMinorUnits(amount: Decimal, digits: number): string {
  const scaled = amount.times(new Dec(10).pow(digits));
  if (!scaled.isInteger()) throw new RangeError(`${amount.toFixed()} has more than ${digits} decimal places`);
  return scaled.toFixed(0);
}

/** An integer count of minor units back to an amount. */
export function fromMinorUnits(units: number | string, digits: number): Decimal {
  if (typeof units === "number" && !Number.isSafeInteger(units)) throw new RangeError(`${units} is not an exact integer`);
  const value = new Dec(String(units));
  if (!value.isInteger()) throw new RangeError(`${units} is not a whole number of minor units`);
  return value.dividedBy(new Dec(10).pow(digits));
}

/**
 * A JSON number read by JSON.parse, back to the decimal it was written as.
 * A double prints back (shortest round trip) exactly the decimal it was
 * parsed from when that decimal had at most 15 significant digits; amounts
 * and rates from providers do, and anything longer is refused, not guessed.
 */
export function decimalFromJsonNumber(value: unknown): Decimal {
  if (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value)) return new Dec(value);
  if (typeof value !== "number" || !Number.isFinite(value)) throw new RangeError(`${String(value)} is not a number`);
  const decimal = new Dec(String(value));
  if (decimal.precision(true) > 15) throw new RangeError(`${value} has more digits than a JSON number carries exactly`);
  return decimal;
}

/**
 * A decimal for a JSON body that wants a number (Wise): exact when it has at
 * most 15 significant digits, which NUMERIC(19,4) amounts under 10^11 have.
 */
export function jsonNumberFromDecimal(amount: Decimal): number {
  const value = Number(amount.toFixed());
  if (!new Dec(String(value)).equals(amount)) throw new RangeError(`${amount.toFixed()} cannot travel as a JSON number exactly`);
  return value;
}

export const asCurrency = (code: string): CurrencyCode => code.toUpperCase() as CurrencyCode;
