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

export type PayoutTransition = { ok: true; from: PayoutStatus; to: PayoutStatus } | { ok: false; code: "INVALID_TRANSITION"; message: string };

export function transitionPayout(status: PayoutStatus, action: PayoutAction): PayoutTransition {
  const rule = TRANSITIONS[action];
  if (!rule.from.includes(status)) {
    const verb = { approve: "approve", pay: "mark paid", cancel: "cancel" }[action];
    return { ok: false, code: "INVALID_TRANSITION", message: `cannot ${verb} a ${status} payout` };
  }
  return { ok: true, from: status, to: rule.to };
}

export const OPEN_PAYOUT_STATUSES: readonly PayoutStatus[] = ["DRAFT", "APPROVED"];
