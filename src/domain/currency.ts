import currencyCodes from "currency-codes";

/** An ISO 4217 code that this system knows the minor unit of. */
export type CurrencyCode = string & { readonly __currency: unique symbol };

// Precious metals, SDRs, bond-market units and the test and "no currency"
// codes have no minor unit in ISO 4217 ("N.A."; the package reads it as 0) and
// are not money a partner is paid in.
const NOT_MONEY = new Set(["XAG", "XAU", "XPD", "XPT", "XDR", "XSU", "XUA", "XBA", "XBB", "XBC", "XBD", "XTS", "XXX"]);
const minorUnits = new Map<string, number>(currencyCodes.data.filter((record) => !NOT_MONEY.has(record.code)).map((record) => [record.code, record.digits]));

export function isCurrencyCode(value: string): value is CurrencyCode {
  return minorUnits.has(value);
}

export function parseCurrencyCode(value: string): CurrencyCode | undefined {
  return isCurrencyCode(value) ? value : undefined;
}

/** Decimal places of the currency's minor unit: USD 2, JPY 0, KWD 3 (ISO 4217). */
export function minorUnitsOf(currency: CurrencyCode): number {
  const digits = minorUnits.get(currency);
  if (digits === undefined) throw new Error(`Unknown currency ${currency}`);
  return digits;
}
