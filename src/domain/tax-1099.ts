import type { Decimal } from "decimal.js";
import { DateTime } from "luxon";
import { dec, ZERO } from "./money.ts";
import { yearOf } from "./program-time.ts";

/**
 * Reporting thresholds by tax year, in USD: $600 for payments made through
 * 2025, $2,000 from 2026 (One Big Beautiful Bill Act, which also indexes the
 * amount for inflation after 2026). Configuration may override years
 * (ACCRUE_1099_THRESHOLDS), so a new year's indexed amount needs no release.
 *
 * A key holds from its year until the next key: a year uses the nearest key
 * at or before it, years after the last key the last one, and years before
 * the first key the first one ($600 for any year through 2025).
 */
export const DEFAULT_1099_THRESHOLDS: Readonly<Record<number, string>> = Object.freeze({ 2025: "600", 2026: "2000" });

const AMOUNT = /^\d+(\.\d{1,2})?$/;

/**
 * The built-in table with `overrides` laid over it, so only the years given
 * change: {"2027":"2100"} sets 2027 and the years after it and keeps $600
 * through 2025 and $2,000 for 2026. (Replacing the table instead would give
 * every year before the first override that override's value.)
 */
export function merge1099Thresholds(overrides: Readonly<Record<number, string>> = {}): Readonly<Record<number, string>> {
  const merged: Record<number, string> = { ...DEFAULT_1099_THRESHOLDS };
  for (const [key, amount] of Object.entries(overrides)) {
    const year = Number(key);
    if (!Number.isInteger(year)) throw new RangeError(`1099 threshold year "${key}" is not an integer`);
    if (typeof amount !== "string" || !AMOUNT.test(amount)) throw new RangeError(`1099 threshold for ${year} is not an amount like "2000" or "2100.50"`);
    merged[year] = amount;
  }
  return Object.freeze(merged);
}

/**
 * The threshold of a tax year, from the built-in table with `overrides`
 * merged over it (see merge1099Thresholds). A year before every key takes
 * the built-in rule for it ($600), never an override's for a later year.
 */
export function thresholdFor(year: number, overrides: Readonly<Record<number, string>> = {}): Decimal {
  if (!Number.isInteger(year)) throw new RangeError(`tax year ${year} is not an integer`);
  const table = merge1099Thresholds(overrides);
  const years = Object.keys(table)
    .map(Number)
    .sort((a, b) => a - b);
  let applicable: number | undefined;
  for (const key of years) if (key <= year) applicable = key;
  const builtInFirst = Math.min(...Object.keys(DEFAULT_1099_THRESHOLDS).map(Number));
  // Record keys are strings at run time; the table's values are strings so amounts stay exact.
  return dec((applicable === undefined ? DEFAULT_1099_THRESHOLDS[builtInFirst] : table[applicable]) as string);
}

/**
 * Payout methods whose networks (payment card and third-party settlement
 * organisations: PayPal, Venmo) report the payments themselves on Form
 * 1099-K; payouts made through them are left out of 1099-NEC, or the partner
 * would be reported twice for the same money.
 */
export const THIRD_PARTY_NETWORK_METHODS: ReadonlySet<string> = new Set(["PAYPAL", "VENMO"]);

export interface Paid1099Payout {
  partnerId: string;
  /** Decimal string, program currency USD. */
  amount: string;
  /** PayoutMethodType, or null when the payout was recorded without one (counted: reporting is the safe side). */
  method: string | null;
  paidAt: Date;
}

export interface Payee1099 {
  partnerId: string;
  total: Decimal;
  payoutCount: number;
}

/**
 * Groups paid payouts by partner for the tax year cut in the program's time
 * zone (a payout paid 2026-01-01T03:00Z is in 2025 for America/Los_Angeles),
 * leaves out third-party-network payouts, and keeps partners whose total
 * reaches the year's threshold (≥). `eligible(partnerId)` says whether the
 * partner is a US person with a W-9 on file; it is asked once per partner.
 * Sorted by total descending, then partnerId.
 *
 * The caller passes payouts that were paid and stayed paid: a bounced payout
 * never reached the partner.
 */
export function payees1099(
  payouts: Iterable<Paid1099Payout>,
  options: {
    year: number;
    timeZone: string;
    eligible: (partnerId: string) => boolean;
    /** Overrides laid over the built-in thresholds (merge1099Thresholds). */
    thresholds?: Readonly<Record<number, string>>;
  },
): Payee1099[] {
  const tally = new Payees1099Tally(options);
  for (const payout of payouts) tally.add(payout);
  return tally.payees(options.eligible);
}

/**
 * payees1099 a payout at a time, for a caller that pages payouts from the
 * database: it holds one running total per partner, never the payouts.
 * `candidates()` names the partners at or above the threshold, so the caller
 * loads billing details for those only, then asks `payees(eligible)`.
 */
export class Payees1099Tally {
  private readonly threshold: Decimal;
  private readonly from: number;
  private readonly until: number;
  private readonly byPartner = new Map<string, { total: Decimal; payoutCount: number }>();

  constructor(options: { year: number; timeZone: string; thresholds?: Readonly<Record<number, string>> }) {
    this.threshold = thresholdFor(options.year, options.thresholds);
    // The tax year as an instant range, computed once (from an instant inside
    // it, mid-year): a luxon DateTime per payout costs more than all the rest.
    const { start, end, year } = yearOf(DateTime.fromObject({ year: options.year, month: 7 }, { zone: options.timeZone }).toJSDate(), options.timeZone);
    // An unknown zone would make every instant NaN and silently report nobody.
    if (year !== options.year) throw new RangeError(`"${options.timeZone}" is not an IANA time zone`);
    this.from = start.getTime();
    this.until = end.getTime();
  }

  add(payout: Paid1099Payout): void {
    if (payout.method !== null && THIRD_PARTY_NETWORK_METHODS.has(payout.method)) return;
    const paidAt = payout.paidAt.getTime();
    // Dropping a payment from a tax report in silence is worse than failing it.
    if (Number.isNaN(paidAt)) throw new RangeError(`payout to ${payout.partnerId} has an invalid paidAt`);
    if (!(paidAt >= this.from && paidAt < this.until)) return;
    const entry = this.byPartner.get(payout.partnerId) ?? { total: ZERO, payoutCount: 0 };
    entry.total = entry.total.plus(dec(payout.amount));
    entry.payoutCount += 1;
    this.byPartner.set(payout.partnerId, entry);
  }

  /** Partners whose total reaches the threshold, before eligibility. */
  candidates(): string[] {
    return [...this.byPartner].filter(([, { total }]) => total.greaterThanOrEqualTo(this.threshold)).map(([partnerId]) => partnerId);
  }

  payees(eligible: (partnerId: string) => boolean): Payee1099[] {
    const payees: Payee1099[] = [];
    for (const [partnerId, { total, payoutCount }] of this.byPartner) {
      if (total.greaterThanOrEqualTo(this.threshold) && eligible(partnerId)) payees.push({ partnerId, total, payoutCount });
    }
    // Code-unit order for ties, not localeCompare: the report must not depend on the server's locale.
    return payees.sort((a, b) => b.total.comparedTo(a.total) || (a.partnerId < b.partnerId ? -1 : a.partnerId > b.partnerId ? 1 : 0));
  }
}
