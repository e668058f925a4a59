import type { Decimal } from "decimal.js";
import type { CurrencyCode } from "./currency.ts";
import { roundToMinorUnit } from "./money.ts";

/**
 * A refund of part of a sale reverses the same share of each of its lines.
 * Shares are computed cumulatively, so repeated partial refunds add up to
 * exactly the whole line when the whole sale is refunded, whatever rounding
 * each step needed:
 *   reversed after = round(line × refunded so far / sale), ROUND_HALF_UP,
 *   this refund's share = reversed after − reversed before.
 */
export function reversedShare(line: Decimal, saleAmount: Decimal, refundedSoFar: Decimal, currency: CurrencyCode): Decimal {
  if (refundedSoFar.greaterThanOrEqualTo(saleAmount)) return line;
  return roundToMinorUnit(line.times(refundedSoFar).dividedBy(saleAmount), currency);
}

export function reversalDelta(line: Decimal, saleAmount: Decimal, refundedBefore: Decimal, refundedAfter: Decimal, currency: CurrencyCode): Decimal {
  return reversedShare(line, saleAmount, refundedAfter, currency).minus(reversedShare(line, saleAmount, refundedBefore, currency));
}
