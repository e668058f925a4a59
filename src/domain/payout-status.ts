import type { Decimal } from "decimal.js";
import type { CurrencyCode } from "./currency.ts";
import { formatAmount } from "./money.ts";
import { amountBlocker, type AmountBlocker } from "./payout-eligibility.ts";
import type { PayoutStatus } from "../generated/prisma/enums.ts";

export type { PayoutStatus };

/**
 * The payout lifecycle as one transition table:
 *   DRAFT ──approve──▶ APPROVED ──pay──▶ PAID (final)
 *   DRAFT, APPROVED ──cancel──▶ CANCELLED (its lines become payable again)
 */
export const PAYOUT_ACTIONS = ["approve", "pay", "cancel"] as const;
export type PayoutAction = (typeof PAYOUT_ACTIONS)[number];
export const PAYOUT_STATUSES: readonly PayoutStatus[] = ["DRAFT", "APPROVED", "PAID", "CANCELLED"];

const TRANSITIONS: Record<PayoutAction, { from: readonly PayoutStatus[]; to: PayoutStatus }> = {
  approve: { from: ["DRAFT"], to: "APPROVED" },
  pay: { from: ["APPROVED"], to: "PAID" },
  cancel: { from: ["DRAFT", "APPROVED"], to: "CANCELLED" },
};

export type PayoutRefusal = { ok: false; code: "INVALID_TRANSITION" | AmountBlocker; message: string };
export type PayoutTransition = { ok: true; from: PayoutStatus; to: PayoutStatus } | PayoutRefusal;

/** What the amount rule reads of a payout and its program. */
export interface PayoutAmountFacts {
  amount: Decimal;
  currency: CurrencyCode;
  /** The program's minimum payout now. */
  minimum: Decimal;
  /** The draft was made with an admin's override of the minimum (its reason is on the payout). */
  minimumOverridden: boolean;
}

const VERBS: Record<PayoutAction, string> = { approve: "approve", pay: "mark paid", cancel: "cancel" };

/**
 * The status move, then (given the payout's amount) the amount rule: see
 * payoutAmountRefusal. Without facts only the status is checked.
 */
export function transitionPayout(status: PayoutStatus, action: PayoutAction, facts?: PayoutAmountFacts): PayoutTransition {
  const rule = TRANSITIONS[action];
  if (!rule.from.includes(status)) {
    return { ok: false, code: "INVALID_TRANSITION", message: `cannot ${VERBS[action]} a ${status} payout` };
  }
  const refusal = facts ? payoutAmountRefusal(action, facts) : null;
  return refusal ?? { ok: true, from: status, to: rule.to };
}

/**
 * A draft can shrink after it is made (a refund takes its lines out, an
 * operator removes some), so approving re-checks the rule the draft met: a
 * positive net that reaches the minimum, unless the draft was made with an
 * admin's override. Paying re-checks only that the net is positive: an
 * approved payout's lines are frozen and the minimum was checked when it was
 * approved, and a minimum raised since must not strand a payout that may
 * already be billed or sent. Cancelling is always allowed: it is the way out.
 */
export function payoutAmountRefusal(action: PayoutAction, facts: PayoutAmountFacts): PayoutRefusal | null {
  if (action === "cancel") return null;
  const blocker = amountBlocker({ amount: facts.amount, minimum: facts.minimum, overrideMinimum: action === "pay" || facts.minimumOverridden });
  if (!blocker) return null;
  const amount = formatAmount(facts.amount, facts.currency);
  const message =
    blocker === "NOT_POSITIVE"
      ? `cannot ${VERBS[action]} a payout of ${amount} ${facts.currency}: its amount is not positive (cancel it; its lines become payable again)`
      : `cannot ${VERBS[action]} a payout of ${amount} ${facts.currency}: below the program's minimum of ${formatAmount(facts.minimum, facts.currency)} (cancel it, or an admin may draft it again with a minimum override)`;
  return { ok: false, code: blocker, message };
}

export const OPEN_PAYOUT_STATUSES: readonly PayoutStatus[] = ["DRAFT", "APPROVED"];
