import type { Decimal } from "decimal.js";
import { sum } from "./money.ts";

/** What settling reads of a payable line. */
export interface SettleLine {
  id: string;
  amount: Decimal;
  payableAt: Date;
  occurredAt: Date;
}

/**
 * "Settle a chosen amount" (issue 15; Trackdesk's amount to be settled): the
 * whole lines a payout of at most `upTo` takes, never a part of a line.
 *
 * Every negative line joins (a clawback always nets against the next payout,
 * as a full payout takes it). Then the positive lines, oldest first (payable
 * date, then when earned, then id), while the net stays at or below `upTo`;
 * the first line that does not fit ends the choice: a newer, smaller line is
 * never paid before an older one (the oldest money owed is paid first, and
 * what stays payable is the newest). So the net may land below `upTo`; the
 * lines left out stay payable for the next payout.
 */
export function settleUpTo<L extends SettleLine>(lines: readonly L[], upTo: Decimal): { lines: L[]; net: Decimal } {
  const negatives = lines.filter((line) => line.amount.isNegative());
  const positives = lines
    .filter((line) => !line.amount.isNegative())
    .sort((a, b) => a.payableAt.getTime() - b.payableAt.getTime() || a.occurredAt.getTime() - b.occurredAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const chosen: L[] = [...negatives];
  let net = sum(negatives.map((line) => line.amount));
  for (const line of positives) {
    if (net.plus(line.amount).greaterThan(upTo)) break;
    chosen.push(line);
    net = net.plus(line.amount);
  }
  return { lines: chosen, net };
}
