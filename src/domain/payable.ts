import type { Decimal } from "decimal.js";
import type { CommissionStatus } from "../generated/prisma/enums.ts";

/**
 * The one definition of "payable" (DESIGN.md, Commission): a line is payable
 * when it is APPROVED, its hold has ended (`payableAt` has passed on the
 * program's clock), and it is in no payout that still holds its lines (draft,
 * approved, or on its way through a provider). Time alone makes a line
 * payable: nothing has to run first.
 *
 * The stored `matured` mark is not part of the rule. It is the balance
 * projection's record of "the hold had ended when the line last moved", so
 * the projection never reads the clock; the hold-release job and every
 * payout draft bring it up to date. Until they do, a line can be payable
 * while the stored balance still counts it as pending: readers add those
 * lines back (`withHoldsEnded`), with the SQL of services/commissions/payable-lines.ts,
 * so every figure answers by this rule whether the job has run or not.
 */

/** The hold period is over at `now` (inclusive: a line is payable at its payableAt). */
export function holdEnded(line: { payableAt: Date }, now: Date): boolean {
  return line.payableAt.getTime() <= now.getTime();
}

export interface PayableFacts {
  status: CommissionStatus;
  payableAt: Date;
  /** In a payout that holds its lines (LINE_HOLDING_PAYOUT_STATUSES, payout-status.ts). */
  inOpenPayout: boolean;
}

/** Whether the line is payable at `now`. */
export function isPayable(line: PayableFacts, now: Date): boolean {
  return line.status === "APPROVED" && !line.inOpenPayout && holdEnded(line, now);
}

/** The figures a stored balance holds that the rule moves. */
export interface PendingAndPayable {
  pending: Decimal;
  payable: Decimal;
}

/**
 * A stored balance read by the rule: `ended` is the sum of the partner's
 * payable lines the projection has not marked yet (approved, hold ended,
 * `matured` still false, in no payout); they move from pending to payable.
 * Nothing else changes: in payouts, paid and lifetime earned do not depend on
 * the hold.
 */
export function withHoldsEnded<B extends PendingAndPayable>(balance: B, ended: Decimal): B {
  if (ended.isZero()) return balance;
  return { ...balance, pending: balance.pending.minus(ended), payable: balance.payable.plus(ended) };
}
