import { Decimal } from "decimal.js";
import { minorUnitsOf, type CurrencyCode } from "./currency.ts";

/**
 * Money is never a JavaScript number. Amounts are decimal.js values made from
 * strings (or from other Decimals), so `money(1.1, "USD")` does not compile;
 * a `number` reaching this module is a type error by construction.
 *
 * Precision is set well above NUMERIC(19,4) plus a 10-place exchange rate, so
 * products and quotients inside one computation lose nothing before the one
 * rounding each line gets.
 */
export const Dec = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -100, toExpPos: 100 });
export type Dec = Decimal;

export interface Money {
  readonly amount: Decimal;
  readonly currency: CurrencyCode;
}

/** A decimal from its string form, or a Decimal-like value (Prisma's own copy) via its string. */
export function dec(value: string | { toFixed(): string }): Decimal {
  return new Dec(typeof value === "string" ? value : value.toFixed());
}

export const ZERO = new Dec(0);

export function money(amount: string | Decimal, currency: CurrencyCode): Money {
  return { amount: typeof amount === "string" ? new Dec(amount) : amount, currency };
}

/**
 * Rounds to the currency's minor unit with ROUND_HALF_UP: ties away from zero,
 * symmetric, so the negative of a rounded line is the rounded negative.
 */
export function roundToMinorUnit(amount: Decimal, currency: CurrencyCode): Decimal {
  return amount.toDecimalPlaces(minorUnitsOf(currency), Decimal.ROUND_HALF_UP);
}

export function sum(amounts: Iterable<Decimal>): Decimal {
  let total: Decimal = ZERO;
  for (const amount of amounts) total = total.plus(amount);
  return total;
}

/** The canonical string form: plain notation, the currency's places. */
export function formatAmount(amount: Decimal, currency: CurrencyCode): string {
  return amount.toFixed(minorUnitsOf(currency));
}

const PLAIN_DECIMAL = /^-?(0|[1-9]\d*)(?:\.(\d+))?$/;

/**
 * `formatAmount(dec(text), currency)` for a decimal's plain text, as amounts
 * come from the database ("80.2000" in a NUMERIC(19,4) column): when the
 * text already has the currency's places, or differs from them only by
 * trailing zeros, those are added or dropped as text; nothing is rounded.
 * Any other text (a digit beyond the currency's places, a negative zero,
 * another notation) goes through Decimal and `formatAmount`, unchanged. The
 * result is the same string either way; this only spares a read of many
 * lines a Decimal per amount.
 */
export function formatAmountText(text: string, currency: CurrencyCode): string {
  const places = minorUnitsOf(currency);
  const match = PLAIN_DECIMAL.exec(text);
  if (match) {
    const fraction = match[2] ?? "";
    const whole = fraction ? text.slice(0, text.length - fraction.length - 1) : text;
    const zero = match[1] === "0" && !/[1-9]/.test(fraction);
    if (!(zero && text.startsWith("-"))) {
      if (fraction.length <= places) return places === 0 ? whole : `${whole}.${fraction.padEnd(places, "0")}`;
      if (/^0+$/.test(fraction.slice(places))) return places === 0 ? whole : `${whole}.${fraction.slice(0, places)}`;
    }
  }
  return formatAmount(dec(text), currency);
}

/** Largest magnitude a NUMERIC(19,4) column holds, with room for its 4 places. */
const MAX_INTEGER_DIGITS = 15;
const DECIMAL_PATTERN = /^-?(0|[1-9]\d*)(\.\d+)?$/;

export type AmountProblem = "FORMAT" | "SCALE" | "RANGE" | "SIGN";

export interface ParseAmountOptions {
  /** How many decimal places are allowed; defaults to the currency's minor unit. */
  maxScale: number;
  allowNegative?: boolean;
  allowZero?: boolean;
  maxIntegerDigits?: number;
}

/**
 * Parses a decimal string exactly as written: plain notation only (no
 * exponent, NaN, Infinity, spaces or '+'), at most `maxScale` places (extra
 * places are refused, never rounded: PostgreSQL would round them silently).
 */
export function parseDecimal(text: string, options: ParseAmountOptions): { ok: true; value: Decimal } | { ok: false; problem: AmountProblem; message: string } {
  if (!DECIMAL_PATTERN.test(text)) {
    return { ok: false, problem: "FORMAT", message: `"${text}" is not a plain decimal number (like 12.50)` };
  }
  const [integerPart = "", fraction = ""] = text.replace("-", "").split(".");
  if (fraction.length > options.maxScale) {
    return {
      ok: false,
      problem: "SCALE",
      message: options.maxScale === 0 ? `"${text}" has decimals, and this amount allows none` : `"${text}" has more than ${options.maxScale} decimal places`,
    };
  }
  if (integerPart.length > (options.maxIntegerDigits ?? MAX_INTEGER_DIGITS)) {
    return { ok: false, problem: "RANGE", message: `"${text}" is too large` };
  }
  const value = new Dec(text);
  if (value.isNegative() && !value.isZero() && !options.allowNegative) {
    return { ok: false, problem: "SIGN", message: `"${text}" must not be negative` };
  }
  if (value.isZero() && !options.allowZero) {
    return { ok: false, problem: "SIGN", message: `"${text}" must not be zero` };
  }
  return { ok: true, value: value.isZero() ? ZERO : value };
}

/** Parses an amount in a currency; scale is limited to its minor unit. */
export function parseAmount(text: string, currency: CurrencyCode, options: Omit<ParseAmountOptions, "maxScale"> = {}): ReturnType<typeof parseDecimal> {
  return parseDecimal(text, { ...options, maxScale: minorUnitsOf(currency) });
}
