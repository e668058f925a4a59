import type { Decimal } from "decimal.js";
import { DateTime } from "luxon";
import { dec, ZERO } from "./money.ts";
import { yearOf } from "./program-time.ts";

/**
 * Reporting thresholds by tax year, in USD: $600 for payments made through
 * 2025, $2,000 from 2026 (One Big Beautiful Bill Act, which also indexes the
 * amount for inflation after 2026). The table can be overridden from
 * configuration, so a new year's indexed amount needs no release.
 *
 * Years before the first key use the first key's value; years after the last
 * use the last one; a year between two keys uses the nearest key before it.
 */
export const DEFAULT_1099_THRESHOLDS: Readonly<Record<number, string>> = Object.freeze({ 2025: "600", 2026: "2000" });

export function thresholdFor(year: number, table: Readonly<Record<number, string>> = DEFAULT_1099_THRESHOLDS): Decimal {
  if (!Number.isInteger(year)) throw new RangeError(`tax year ${year} is not an integer`);
  const years = Object.keys(table)
    .map(Number)
    .sort((a, b) => a - b);
  const firstYear = years[0];
  if (firstYear === undefined) throw new RangeError("the 1099 threshold table is empty");
  let applicable = firstYear;
  for (const key of years) if (key <= year) applicable = key;
  // Record keys are strings at run time; the table's values are strings so amounts stay exact.
  return dec(table[applicable] as string);
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
  options: { year: number; timeZone: string; eligible: (partnerId: string) => boolean; thresholds?: Readonly<Record<number, string>> },
): Payee1099[] {
  const threshold = thresholdFor(options.year, options.thresholds);
  // The tax year as an instant range, computed once (from an instant inside
  // it, mid-year): a luxon DateTime per payout costs more than all the rest.
  const { start, end, year } = yearOf(DateTime.fromObject({ year: options.year, month: 7 }, { zone: options.timeZone }).toJSDate(), options.timeZone);
  // An unknown zone would make every instant NaN and silently report nobody.
  if (year !== options.year) throw new RangeError(`"${options.timeZone}" is not an IANA time zone`);
  const from = start.getTime();
  const until = end.getTime();

  const byPartner = new Map<string, { total: Decimal; payoutCount: number }>();
  for (const payout of payouts) {
    if (payout.method !== null && THIRD_PARTY_NETWORK_METHODS.has(payout.method)) continue;
    const paidAt = payout.paidAt.getTime();
    // Dropping a payment from a tax report in silence is worse than failing it.
    if (Number.isNaN(paidAt)) throw new RangeError(`payout to ${payout.partnerId} has an invalid paidAt`);
    if (!(paidAt >= from && paidAt < until)) continue;
    const entry = byPartner.get(payout.partnerId) ?? { total: ZERO, payoutCount: 0 };
    entry.total = entry.total.plus(dec(payout.amount));
    entry.payoutCount += 1;
    byPartner.set(payout.partnerId, entry);
  }

  const payees: Payee1099[] = [];
  for (const [partnerId, { total, payoutCount }] of byPartner) {
    if (total.greaterThanOrEqualTo(threshold) && options.eligible(partnerId)) payees.push({ partnerId, total, payoutCount });
  }
  // Code-unit order for ties, not localeCompare: the report must not depend on the server's locale.
  return payees.sort((a, b) => b.total.comparedTo(a.total) || (a.partnerId < b.partnerId ? -1 : a.partnerId > b.partnerId ? 1 : 0));
}
