import type { Decimal } from "decimal.js";
import type { CommissionStatus } from "../generated/prisma/enums.ts";
import { ZERO } from "./money.ts";

/**
 * Where a commission line counts in its partner's balance:
 * - pending: PENDING, ON_HOLD, or APPROVED before payableAt (not matured);
 * - payable: APPROVED, matured, in no open payout (may be negative);
 * - inPayouts: in an open (draft or approved) payout;
 * - paid: PAID;
 * - nowhere: CANCELLED, REVERSED.
 * lifetimeEarned is the sum of every line that counts somewhere.
 */
export type Bucket = "pending" | "payable" | "inPayouts" | "paid";

export interface BucketInput {
  status: CommissionStatus;
  matured: boolean;
  inOpenPayout: boolean;
}

export function bucketOf(line: BucketInput): Bucket | null {
  if (line.inOpenPayout) return "inPayouts";
  switch (line.status) {
    case "PENDING":
    case "ON_HOLD":
      return "pending";
    case "APPROVED":
      return line.matured ? "payable" : "pending";
    case "PAID":
      return "paid";
    case "CANCELLED":
    case "REVERSED":
      return null;
  }
}

export interface BalanceDelta {
  pending: Decimal;
  payable: Decimal;
  inPayouts: Decimal;
  paid: Decimal;
  lifetimeEarned: Decimal;
}

export function emptyDelta(): BalanceDelta {
  return { pending: ZERO, payable: ZERO, inPayouts: ZERO, paid: ZERO, lifetimeEarned: ZERO };
}

/** Adds to `delta` what moving a line of `amount` from `before` to `after` does (null: absent or uncounted). */
export function addLineChange(delta: BalanceDelta, amount: Decimal, before: BucketInput | null, after: BucketInput | null): void {
  const from = before ? bucketOf(before) : null;
  const to = after ? bucketOf(after) : null;
  if (from === to) return;
  if (from) {
    delta[from] = delta[from].minus(amount);
    delta.lifetimeEarned = delta.lifetimeEarned.minus(amount);
  }
  if (to) {
    delta[to] = delta[to].plus(amount);
    delta.lifetimeEarned = delta.lifetimeEarned.plus(amount);
  }
}

export function isZeroDelta(delta: BalanceDelta): boolean {
  return delta.pending.isZero() && delta.payable.isZero() && delta.inPayouts.isZero() && delta.paid.isZero() && delta.lifetimeEarned.isZero();
}
