import type { Decimal } from "decimal.js";
import { sum } from "../../domain/money.ts";
import { isPayable } from "../../domain/payable.ts";
import { joinsPayout } from "../../domain/payout-eligibility.ts";
import { payableWhere } from "../commissions/payable-lines.ts";
import type { Payout } from "../../generated/prisma/client.ts";
import { type Ledger, loadLines, writeStatusChanges, type LineRow } from "../ledger/ledger.ts";
import type { PayoutPayload } from "../events.ts";
import type { Tx } from "../transact.ts";

/**
 * Lines whose hold has ended are marked matured (the balance projection
 * never reads the clock): approved ones move from pending to payable and are
 * announced; pending or held ones just carry the mark, so approving or
 * releasing them later makes them payable at once. The partners must be
 * locked by the caller's ledger.
 */
export async function matureDueLines(tx: Tx, ledger: Ledger, partnerIds: string[]): Promise<LineRow[]> {
  // Found through commissions_maturing_idx (the lines not yet marked: few at
  // any time), which needs its predicate's statuses written out: Prisma sends
  // enums as casts of parameters, which PostgreSQL cannot match to a partial
  // index, and then walked every line of the partner still pending, approved
  // or on hold past its hold (a backlog awaiting review, marked long ago),
  // for each partner a payout run drafts and each tick of the hold release,
  // under the partner's lock. The partners are locked, so the ids stay due.
  const ids = await tx.db.$queryRaw<{ id: string }[]>`
    SELECT id::text FROM commissions
     WHERE program_id = ${tx.programId}::uuid AND partner_id = ANY(${partnerIds}::uuid[])
       AND NOT matured AND status IN ('PENDING', 'APPROVED', 'ON_HOLD') AND payable_at <= ${tx.now}`;
  if (ids.length === 0) return [];
  const due = await loadLines(tx, { id: { in: ids.map((row) => row.id) }, status: { in: ["PENDING", "APPROVED", "ON_HOLD"] }, matured: false });
  await writeStatusChanges(
    tx,
    due.map((line) => ({ id: line.id, status: line.status, heldFromStatus: line.heldFromStatus, matured: true })),
  );
  for (const line of due) if (line.status === "APPROVED") ledger.changed(line, { ...line, matured: true });
  return due;
}

/**
 * The lines a payout for the period ending `before` gathers: those payable
 * now (domain/payable.ts: approved, hold ended, in no open payout); positive
 * ones payable at or before `before`, negative ones (a fresh clawback)
 * whenever payable now (see joinsPayout).
 */
export async function payableLines(tx: Tx, partnerId: string, before: Date): Promise<{ lines: LineRow[]; net: Decimal }> {
  const lines = (await loadLines(tx, { partnerId, ...payableWhere(tx.now) })).filter((line) => isPayable(line, tx.now) && joinsPayout(line, before, tx.now));
  return { lines, net: sum(lines.map((line) => line.amount)) };
}

export function payoutSnapshot(payout: Payout): PayoutPayload {
  const iso = (at: Date | null) => at?.toISOString() ?? null;
  return {
    id: payout.id,
    partnerId: payout.partnerId,
    status: payout.status,
    amount: payout.amount.toFixed(),
    currency: payout.currency,
    payableBefore: payout.payableBefore.toISOString(),
    method: payout.method,
    reference: payout.reference,
    approvedAt: iso(payout.approvedAt),
    paidAt: iso(payout.paidAt),
    cancelledAt: iso(payout.cancelledAt),
  };
}

/** Announces a payout's new state on its partner's feed (the ledger numbers it). */
export function emitPayout(ledger: Ledger, payout: Payout): void {
  ledger.emit(payout.partnerId, "payout.changed", payout.id, payoutSnapshot(payout));
}
