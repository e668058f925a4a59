import type { Decimal } from "decimal.js";
import type { CurrencyCode } from "./currency.ts";
import { formatAmount } from "./money.ts";
import { amountBlocker, type AmountBlocker } from "./payout-eligibility.ts";
import type { PayoutStatus } from "../generated/prisma/enums.ts";

export type { PayoutStatus };

/**
 * The payout lifecycle as one transition table:
 *   DRAFT ──approve──▶ APPROVED ──pay──▶ PAID (an operator paid it)
 *   DRAFT, APPROVED ──cancel──▶ CANCELLED (its lines become payable again)
 *   APPROVED ──send──▶ PROCESSING (handed to a payment provider)
 *   PROCESSING ──confirm──▶ PAID (the provider says it left)
 *   PROCESSING ──fail──▶ FAILED (nothing was sent; its lines become payable again; final)
 *   PAID ──return──▶ RETURNED (the money came back; booked as a bounce; final)
 * A PROCESSING payout cannot be cancelled or marked paid by hand: only the
 * provider knows where the money is.
 */
/** What operators do to a payout (transitionPayouts). */
export const OPERATOR_PAYOUT_ACTIONS = ["approve", "pay", "cancel"] as const;
export type PayoutAction = (typeof OPERATOR_PAYOUT_ACTIONS)[number];
/** What sending through a provider, and the provider's answers, do. */
export const RAIL_PAYOUT_ACTIONS = ["send", "confirm", "fail", "return"] as const;
export type RailPayoutAction = (typeof RAIL_PAYOUT_ACTIONS)[number];
export type AnyPayoutAction = PayoutAction | RailPayoutAction;
export const PAYOUT_ACTIONS: readonly AnyPayoutAction[] = [...OPERATOR_PAYOUT_ACTIONS, ...RAIL_PAYOUT_ACTIONS];
export const PAYOUT_STATUSES: readonly PayoutStatus[] = ["DRAFT", "APPROVED", "PROCESSING", "PAID", "FAILED", "RETURNED", "CANCELLED"];

const TRANSITIONS: Record<AnyPayoutAction, { from: readonly PayoutStatus[]; to: PayoutStatus }> = {
  approve: { from: ["DRAFT"], to: "APPROVED" },
  pay: { from: ["APPROVED"], to: "PAID" },
  cancel: { from: ["DRAFT", "APPROVED"], to: "CANCELLED" },
  send: { from: ["APPROVED"], to: "PROCESSING" },
  confirm: { from: ["PROCESSING"], to: "PAID" },
  fail: { from: ["PROCESSING"], to: "FAILED" },
  return: { from: ["PAID"], to: "RETURNED" },
};

export type PayoutRefusal = { ok: false; code: "INVALID_TRANSITION" | "DUAL_CONTROL" | AmountBlocker; message: string };
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

const VERBS: Record<AnyPayoutAction, string> = {
  approve: "approve",
  pay: "mark paid",
  cancel: "cancel",
  send: "send",
  confirm: "confirm",
  fail: "fail",
  return: "return",
};

/**
 * The status move, then (given the payout's amount) the amount rule: see
 * payoutAmountRefusal. Without facts only the status is checked.
 */
export function transitionPayout(status: PayoutStatus, action: AnyPayoutAction, facts?: PayoutAmountFacts): PayoutTransition {
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
export function payoutAmountRefusal(action: AnyPayoutAction, facts: PayoutAmountFacts): PayoutRefusal | null {
  // What the provider reports is a fact, not a choice: confirming, failing and returning are never refused for the amount.
  if (action === "cancel" || action === "confirm" || action === "fail" || action === "return") return null;
  const blocker = amountBlocker({ amount: facts.amount, minimum: facts.minimum, overrideMinimum: action !== "approve" || facts.minimumOverridden });
  if (!blocker) return null;
  const amount = formatAmount(facts.amount, facts.currency);
  const message =
    blocker === "NOT_POSITIVE"
      ? `cannot ${VERBS[action]} a payout of ${amount} ${facts.currency}: its amount is not positive (cancel it; its lines become payable again)`
      : `cannot ${VERBS[action]} a payout of ${amount} ${facts.currency}: below the program's minimum of ${formatAmount(facts.minimum, facts.currency)} (cancel it, or an admin may draft it again with a minimum override)`;
  return { ok: false, code: blocker, message };
}

/** Open: a partner has at most one, and new lines can still join or leave it. */
export const OPEN_PAYOUT_STATUSES: readonly PayoutStatus[] = ["DRAFT", "APPROVED"];

/** Statuses whose payout still holds its lines unpaid: the open ones and one on its way through a provider. */
export const LINE_HOLDING_PAYOUT_STATUSES: readonly PayoutStatus[] = ["DRAFT", "APPROVED", "PROCESSING"];

/**
 * Dual control: above the program's threshold (when it sets one), the person
 * who sends a payout must not be the one who approved it. A payout approved
 * before approvers were recorded (approvedBy unknown) cannot prove it, so it
 * is refused too above the threshold.
 */
export function dualControlRefusal(facts: { amount: Decimal; currency: CurrencyCode; threshold: Decimal | null; approvedBy: string | null; sender: string }): PayoutRefusal | null {
  if (facts.threshold === null || facts.amount.lte(facts.threshold)) return null;
  if (facts.approvedBy !== null && facts.approvedBy !== facts.sender) return null;
  const above = `${formatAmount(facts.amount, facts.currency)} ${facts.currency} is above the program's dual-control amount of ${formatAmount(facts.threshold, facts.currency)}`;
  return {
    ok: false,
    code: "DUAL_CONTROL",
    message:
      facts.approvedBy === null ? `${above}, and who approved it is not recorded: approve it again through a new draft` : `${above}: someone other than its approver must send it`,
  };
}
