import { fail, type Result } from "../../domain/errors.ts";
import { sum } from "../../domain/money.ts";
import type { Payout } from "../../generated/prisma/client.ts";
import { Ledger, loadLines } from "../ledger/ledger.ts";
import { once } from "../idempotency.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact, type Tx } from "../transact.ts";
import { payoutCodec } from "./record-payout-bounce.ts";
import { emitPayout } from "./payout-lines.ts";

/**
 * Takes lines out of a draft payout: they are payable again, and the draft's
 * amount is recomputed from what stays. Lines not in the draft are an error.
 * The draft may be left below the minimum or not positive (the operator may
 * be taking out a disputed line, and a refund can do the same): editing is
 * allowed, approving such a draft is refused (see payoutAmountRefusal), and
 * cancelling it releases what is left. A draft left with no line at all is
 * cancelled (see detachFromDraft), so it never blocks the next payout.
 * Errors: NOT_FOUND, INVALID_TRANSITION (not a draft), INVALID_INPUT,
 * IDEMPOTENCY_CONFLICT. With an idempotency key, a replay returns the payout
 * as the first call left it.
 */
export function removePayoutLines(
  deps: ServiceDeps,
  actor: Actor,
  input: { payoutId: string; commissionIds: string[]; reason?: string | null; idempotencyKey?: string | null },
): Promise<Result<Payout>> {
  const request = { payoutId: input.payoutId, commissionIds: [...new Set(input.commissionIds)].sort(), reason: input.reason?.trim() || null };
  return transact(deps, actor, (tx) => once(tx, "removePayoutLines", input.idempotencyKey, request, () => removeLines(tx, input), payoutCodec(tx)));
}

async function removeLines(tx: Tx, input: { payoutId: string; commissionIds: string[]; reason?: string | null }): Promise<Payout> {
  {
    const found = await tx.db.payout.findUnique({ where: { id: input.payoutId }, select: { partnerId: true } });
    if (!found) fail("NOT_FOUND", "no such payout", ["input", "payoutId"]);
    const ledger = new Ledger(tx, "payout.remove_lines");
    await ledger.lockPartners([found.partnerId]);
    const payout = await tx.db.payout.findUniqueOrThrow({ where: { id: input.payoutId } });
    if (payout.status !== "DRAFT") fail("INVALID_TRANSITION", `lines can only leave a DRAFT payout (this one is ${payout.status})`, ["input", "payoutId"]);
    const ids = [...new Set(input.commissionIds)];
    if (ids.length === 0) fail("INVALID_INPUT", "name at least one commission", ["input", "commissionIds"]);
    const lines = await loadLines(tx, { id: { in: ids } });
    const outsiders = ids.filter((id) => !lines.some((line) => line.id === id && line.openPayout?.id === payout.id));
    if (outsiders.length > 0) fail("INVALID_INPUT", `${outsiders.length} of these commissions are not in this payout`, ["input", "commissionIds"]);
    const after = await detachFromDraft(
      tx,
      ledger,
      payout,
      lines.map((line) => line.id),
      input.reason ?? null,
    );
    await ledger.flush();
    return after;
  }
}

/**
 * Deactivates lines' items in a draft and recomputes its amount; the caller
 * says where the lines go (back to payable, or reversed) through the ledger.
 * A draft emptied of every line is cancelled. Returns the draft as it is now.
 */
export async function detachFromDraft(tx: Tx, ledger: Ledger, payout: Payout, commissionIds: string[], reason: string | null): Promise<Payout> {
  const lines = await loadLines(tx, { id: { in: commissionIds } });
  await tx.db.payoutItem.updateMany({ where: { payoutId: payout.id, commissionId: { in: commissionIds }, active: true }, data: { active: false } });
  for (const line of lines) ledger.move(line, line, { status: line.status, matured: line.matured, inOpenPayout: false });
  const remaining = await tx.db.payoutItem.findMany({ where: { payoutId: payout.id, active: true }, select: { amount: true } });
  const amount = sum(remaining.map((item) => item.amount)).toFixed();
  // A draft left with no line pays nothing and would block the partner's
  // next payout (one open payout per partner): it is cancelled.
  const emptied = remaining.length === 0;
  const cancelReason = `no lines left${reason ? `: ${reason}` : ""}`.slice(0, 1000);
  const after = await tx.db.payout.update({
    where: { id: payout.id },
    data: emptied ? { amount, status: "CANCELLED", cancelledAt: tx.now, cancelReason } : { amount },
  });
  emitPayout(ledger, after);
  await audit(tx, {
    action: "payout.remove_lines",
    entityType: "Payout",
    entityId: payout.id,
    before: { amount: payout.amount.toFixed() },
    after: { amount, removed: commissionIds },
    reason,
  });
  if (emptied) {
    await audit(tx, {
      action: "payout.cancel",
      entityType: "Payout",
      entityId: payout.id,
      before: { status: payout.status },
      after: { status: "CANCELLED" },
      reason: cancelReason,
    });
  }
  return after;
}
