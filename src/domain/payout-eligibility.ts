import type { Decimal } from "decimal.js";

/**
 * Why a partner cannot be paid now. A payout run reports each skipped
 * partner with the first of these; a partner's balance shows them all.
 */
export const PAYOUT_BLOCKERS = ["OPEN_PAYOUT_EXISTS", "NOT_POSITIVE", "BELOW_MINIMUM", "NO_PAYOUT_METHOD", "NO_BILLING_DETAILS"] as const;
export type PayoutBlocker = (typeof PAYOUT_BLOCKERS)[number];

export interface EligibilityInput {
  /** The net of the lines a payout would gather (may be negative). */
  payable: Decimal;
  minimum: Decimal;
  hasPayoutMethod: boolean;
  hasBillingDetails: boolean;
  hasOpenPayout: boolean;
  /** An admin's override of the minimum (for a partner who leaves); the net must still be positive. */
  overrideMinimum?: boolean;
}

export function payoutBlockers(input: EligibilityInput): PayoutBlocker[] {
  const blockers: PayoutBlocker[] = [];
  if (input.hasOpenPayout) blockers.push("OPEN_PAYOUT_EXISTS");
  if (!input.payable.greaterThan(0)) blockers.push("NOT_POSITIVE");
  else if (!input.overrideMinimum && input.payable.lessThan(input.minimum)) blockers.push("BELOW_MINIMUM");
  if (!input.hasPayoutMethod) blockers.push("NO_PAYOUT_METHOD");
  if (!input.hasBillingDetails) blockers.push("NO_BILLING_DETAILS");
  return blockers;
}

export const BLOCKER_MESSAGES: Record<PayoutBlocker, string> = {
  OPEN_PAYOUT_EXISTS: "already has an open payout",
  NOT_POSITIVE: "nothing positive to pay (the payable balance is zero or negative)",
  BELOW_MINIMUM: "the payable balance is below the program's minimum payout",
  NO_PAYOUT_METHOD: "no payout method on file",
  NO_BILLING_DETAILS: "no billing details on file",
};
