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
  const amount = amountBlocker({ amount: input.payable, minimum: input.minimum, overrideMinimum: input.overrideMinimum });
  if (amount) blockers.push(amount);
  if (!input.hasPayoutMethod) blockers.push("NO_PAYOUT_METHOD");
  if (!input.hasBillingDetails) blockers.push("NO_BILLING_DETAILS");
  return blockers;
}

export type AmountBlocker = Extract<PayoutBlocker, "NOT_POSITIVE" | "BELOW_MINIMUM">;

/**
 * The amount rule a payout meets when it is drafted, and again when it is
 * approved (a draft can shrink in between): the net is positive, and reaches
 * the program's minimum unless an admin overrode it. An override never pays
 * a zero or negative net.
 */
export function amountBlocker(input: { amount: Decimal; minimum: Decimal; overrideMinimum?: boolean }): AmountBlocker | null {
  if (!input.amount.greaterThan(0)) return "NOT_POSITIVE";
  if (!input.overrideMinimum && input.amount.lessThan(input.minimum)) return "BELOW_MINIMUM";
  return null;
}

/**
 * Whether a payable line (approved, hold ended, in no open payout) joins a
 * payout for the period ending `payableBefore`. Positive lines join only when
 * payable in the period. Negative ones (clawbacks, a partial refund's share,
 * negative adjustments) join whenever they are payable now: a clawback nets
 * against the next payout, whatever period that payout is for, so a payout
 * for a past period never pays gross while a clawback waits.
 */
export function joinsPayout(line: { amount: Decimal; payableAt: Date }, payableBefore: Date, now: Date): boolean {
  const until = line.amount.lessThan(0) ? now : payableBefore;
  return line.payableAt.getTime() <= until.getTime();
}

export const BLOCKER_MESSAGES: Record<PayoutBlocker, string> = {
  OPEN_PAYOUT_EXISTS: "already has an open payout",
  NOT_POSITIVE: "nothing positive to pay (the payable balance is zero or negative)",
  BELOW_MINIMUM: "the payable balance is below the program's minimum payout",
  NO_PAYOUT_METHOD: "no payout method on file",
  NO_BILLING_DETAILS: "no billing details on file",
};
