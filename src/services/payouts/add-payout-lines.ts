import { fail, type Result } from "../../domain/errors.ts";
import { sum } from "../../domain/money.ts";
import type { Payout } from "../../generated/prisma/client.ts";
import { Ledger } from "../ledger/ledger.ts";
import { once } from "../idempotency.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact, type Tx } from "../transact.ts";
import { payoutCodec } from "./record-payout-bounce.ts";
import { emitPayout, matureDueLines, payableLines } from "./payout-lines.ts";

/** Lines named in one call, as many as a payout takes in one go elsewhere. */
export const MAX_LINES_PER_CALL = 500;

/**
 * Puts payable lines into a draft payout (Trcker: a draft "can be approved,
 * modified, or cancelled"), beside removePayoutLines: each named line must
 * be the draft's partner's, in the draft's currency, and payable now
 * (approved, past its hold, in no open payout; a negative line too: a
 * clawback may be netted in). The lines move from payable to in-payouts and
 * the draft's amount is recomputed from its lines. Approving re-checks the
 * minimum as for any draft. With an idempotency key, a replay returns the
 * payout as the first call left it.
 * Errors: NOT_FOUND, INVALID_TRANSITION (not a draft), INVALID_INPUT (no
 * line, too many, or lines that are not payable lines of the partner in the
 * draft's currency), IDEMPOTENCY_CONFLICT.
 */
export function addPayoutLines(
  deps: ServiceDeps,
  actor: Actor,
  input: { payoutId: string; commissionIds: string[]; reason?: string | null; idempotencyKey?: string | null },
): Promise<Result<Payout>> {
  const request = { payoutId: input.payoutId, commissionIds: [...new Set(input.commissionIds)].sort(), reason: input.reason?.trim() || null };
  return transact(deps, actor, (tx) => once(tx, "addPayoutLines", input.idempotencyKey, request, () => addLines(tx, { ...input, reason: request.reason }), payoutCodec(tx)));
}

async function addLines(tx: Tx, input: { payoutId: string; commissionIds: string[]; reason: string | null }): Promise<Payout> {
  const ids = [...new Set(input.commissionIds)];
  if (ids.length === 0 || ids.length > MAX_LINES_PER_CALL) fail("INVALID_INPUT", `name 1 to ${MAX_LINES_PER_CALL} commissions`, ["input", "commissionIds"]);
  if (input.reason && input.reason.length > 1000) fail("INVALID_INPUT", "reason must be at most 1000 characters", ["input", "reason"]);
  const found = await tx.db.payout.findUnique({ where: { id: input.payoutId }, select: { partnerId: true } });
  if (!found) fail("NOT_FOUND", "no such payout", ["input", "payoutId"]);
  const ledger = new Ledger(tx, "payout.add_lines");
  await ledger.lockPartners([found.partnerId]);
  const payout = await tx.db.payout.findUniqueOrThrow({ where: { id: input.payoutId } });
  if (payout.status !== "DRAFT") fail("INVALID_TRANSITION", `lines can only join a DRAFT payout (this one is ${payout.status})`, ["input", "payoutId"]);
  // Lines whose hold ended since are payable now, as a new draft would find them.
  await matureDueLines(tx, ledger, [payout.partnerId]);
  // Payable now, whatever period the draft was for: naming a line is the operator's choice of it.
  const { lines: payable } = await payableLines(tx, payout.partnerId, tx.now);
  const chosen = payable.filter((line) => ids.includes(line.id) && line.currency === payout.currency);
  if (chosen.length !== ids.length) {
    fail("INVALID_INPUT", `${ids.length - chosen.length} of these commissions are not payable lines of this payout's partner in ${payout.currency}`, ["input", "commissionIds"]);
  }
  await tx.db.payoutItem.createMany({ data: chosen.map((line) => ({ programId: tx.programId, payoutId: payout.id, commissionId: line.id, amount: line.amount.toFixed() })) });
  for (const line of chosen) ledger.move(line, line, { ...line, inOpenPayout: true, openPayout: payout });
  const items = await tx.db.payoutItem.findMany({ where: { payoutId: payout.id, active: true }, select: { amount: true } });
  const amount = sum(items.map((item) => item.amount)).toFixed();
  const after = await tx.db.payout.update({ where: { id: payout.id }, data: { amount } });
  emitPayout(ledger, after);
  await audit(tx, {
    action: "payout.add_lines",
    entityType: "Payout",
    entityId: payout.id,
    before: { amount: payout.amount.toFixed() },
    after: { amount, added: chosen.map((line) => line.id) },
    reason: input.reason,
  });
  await ledger.flush();
  return after;
}
