import type { CommissionStatus } from "../generated/prisma/enums.ts";

export type { CommissionStatus };

/**
 * The commission line lifecycle as one transition table. A line in an open
 * payout (draft or approved) cannot be held or cancelled: it leaves the
 * payout first (or is reversed, which the reversal rules handle).
 *
 *   PENDING  ──approve──▶ APPROVED ──pay──▶ PAID
 *      │ ▲                  │
 *   hold│ │release       hold│ ▲release
 *      ▼ │                  ▼ │
 *      ON_HOLD ◀────────────┘
 *   PENDING / APPROVED / ON_HOLD ──cancel──▶ CANCELLED ──reinstate──▶ PENDING
 *   any unpaid status ──reverse──▶ REVERSED
 */
export const COMMISSION_ACTIONS = ["approve", "hold", "release", "cancel", "reinstate", "pay", "reverse"] as const;
export type CommissionAction = (typeof COMMISSION_ACTIONS)[number];

export const COMMISSION_STATUSES: readonly CommissionStatus[] = ["PENDING", "APPROVED", "ON_HOLD", "CANCELLED", "PAID", "REVERSED"];

const TRANSITIONS: Record<CommissionAction, { from: readonly CommissionStatus[]; to: CommissionStatus | "HELD_FROM" }> = {
  approve: { from: ["PENDING"], to: "APPROVED" },
  hold: { from: ["PENDING", "APPROVED"], to: "ON_HOLD" },
  release: { from: ["ON_HOLD"], to: "HELD_FROM" },
  cancel: { from: ["PENDING", "APPROVED", "ON_HOLD"], to: "CANCELLED" },
  reinstate: { from: ["CANCELLED"], to: "PENDING" },
  pay: { from: ["APPROVED"], to: "PAID" },
  reverse: { from: ["PENDING", "APPROVED", "ON_HOLD", "CANCELLED"], to: "REVERSED" },
};

/** Actions refused while the line sits in an open payout. */
const BLOCKED_IN_OPEN_PAYOUT: ReadonlySet<CommissionAction> = new Set(["hold", "cancel", "approve", "release", "reinstate"]);

export interface LineState {
  status: CommissionStatus;
  heldFromStatus: CommissionStatus | null;
  inOpenPayout: boolean;
}

export type TransitionOutcome =
  | { ok: true; status: CommissionStatus; heldFromStatus: CommissionStatus | null }
  | { ok: false; code: "INVALID_TRANSITION" | "IN_OPEN_PAYOUT"; message: string };

export function transitionCommission(line: LineState, action: CommissionAction): TransitionOutcome {
  const rule = TRANSITIONS[action];
  if (!rule.from.includes(line.status)) {
    return { ok: false, code: "INVALID_TRANSITION", message: `cannot ${action} a ${line.status} commission` };
  }
  if (line.inOpenPayout && BLOCKED_IN_OPEN_PAYOUT.has(action)) {
    return { ok: false, code: "IN_OPEN_PAYOUT", message: `cannot ${action} a commission in an open payout; remove it from the payout first` };
  }
  if (rule.to === "HELD_FROM") {
    return { ok: true, status: line.heldFromStatus ?? "PENDING", heldFromStatus: null };
  }
  if (rule.to === "ON_HOLD") return { ok: true, status: "ON_HOLD", heldFromStatus: line.status };
  return { ok: true, status: rule.to, heldFromStatus: null };
}
