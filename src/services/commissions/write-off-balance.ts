import { fail, type Result } from "../../domain/errors.ts";
import { ZERO } from "../../domain/money.ts";
import { isPayable, withHoldsEnded } from "../../domain/payable.ts";
import { once } from "../idempotency.ts";
import { insertLines, Ledger, loadLines, type LineRow } from "../ledger/ledger.ts";
import { lineCodec } from "./adjust-commission.ts";
import { payableWhere, unmarkedPayableByPartner } from "./payable-lines.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact, type Tx } from "../transact.ts";

/**
 * Writes off a partner's negative payable balance (clawbacks it will never
 * earn back): a WRITE_OFF line of the opposite amount, bringing payable to
 * zero. The reason is required and audited.
 * Errors: NOT_FOUND, BALANCE_NOT_NEGATIVE, BALANCE_NOT_FINAL (a negative
 * line belongs to a line not yet paid), INVALID_INPUT (no reason),
 * IDEMPOTENCY_CONFLICT. With an idempotency key, a replay returns the first
 * write-off line.
 */
export function writeOffBalance(deps: ServiceDeps, actor: Actor, input: { partnerId: string; reason: string; idempotencyKey?: string | null }): Promise<Result<LineRow>> {
  const reason = input.reason.trim();
  const request = { partnerId: input.partnerId, reason };
  return transact(deps, actor, (tx) => once(tx, "writeOffBalance", input.idempotencyKey, request, () => writeOff(tx, request), lineCodec(tx)));
}

/**
 * The original lines behind the partner's negative payable lines that are not
 * paid. A write-off covers only a debt no later change can undo: a clawback
 * or downward correction of a paid line. One of an unpaid line would be
 * cancelled or refunded with it, and the write-off would become money the
 * partner never earned.
 */
async function linesStillOpen(tx: Tx, partnerId: string): Promise<string[]> {
  const negatives = (await loadLines(tx, { partnerId, ...payableWhere(tx.now), amount: { lt: 0 } })).filter((line) => isPayable(line, tx.now));
  const open = new Set<string>();
  let frontier = negatives.map((line) => ({ id: line.id, relatedId: line.relatedId, status: line.status }));
  // Walk each line's corrections chain up to the line it corrects (a short chain: a clawback or adjustment names its line).
  for (let depth = 0; frontier.length > 0 && depth < 8; depth += 1) {
    const roots = frontier.filter((line) => line.relatedId === null);
    for (const root of roots) if (root.status !== "PAID") open.add(root.id);
    const parents = [...new Set(frontier.flatMap((line) => (line.relatedId === null ? [] : [line.relatedId])))];
    if (parents.length === 0) break;
    frontier = await tx.db.commission.findMany({ where: { id: { in: parents } }, select: { id: true, relatedId: true, status: true } });
  }
  return [...open];
}

async function writeOff(tx: Tx, input: { partnerId: string; reason: string }): Promise<LineRow> {
  const reason = input.reason;
  {
    if (!reason || reason.length > 2000) fail("INVALID_INPUT", "a reason of 1 to 2000 characters is required", ["input", "reason"]);
    const ledger = new Ledger(tx, "balance.write_off");
    const stored = (await ledger.lockPartners([input.partnerId])).get(input.partnerId);
    if (!stored) fail("NOT_FOUND", "no such partner", ["input", "partnerId"]);
    // The payable balance by the payable rule, whether or not the hold-release job has marked every line yet.
    const unmarked = await unmarkedPayableByPartner(tx.db, tx.programId, [input.partnerId], tx.now);
    const balance = withHoldsEnded(stored, unmarked.get(input.partnerId) ?? ZERO);
    if (!balance.payable.isNegative()) {
      fail("BALANCE_NOT_NEGATIVE", `the payable balance is ${balance.payable.toFixed()}; only a negative one can be written off`, ["input", "partnerId"]);
    }
    const open = await linesStillOpen(tx, input.partnerId);
    if (open.length > 0) {
      fail(
        "BALANCE_NOT_FINAL",
        `part of the negative balance comes from ${open.length} line(s) not yet paid: cancelling or refunding them would turn the write-off into money never earned; settle those first`,
        ["input", "partnerId"],
      );
    }
    const [line] = await insertLines(tx, [
      {
        partnerId: input.partnerId,
        kind: "WRITE_OFF",
        status: "APPROVED",
        amount: balance.payable.negated(),
        currency: balance.currency,
        occurredAt: tx.now,
        payableAt: tx.now,
        matured: true,
        reasonCode: "WRITE_OFF",
        note: reason,
      },
    ]);
    ledger.added(line!);
    await audit(tx, {
      action: "balance.write_off",
      entityType: "Commission",
      entityId: line!.id,
      before: { payable: balance.payable.toFixed() },
      after: { payable: "0", amount: line!.amount.toFixed() },
      reason,
    });
    await ledger.flush();
    return line!;
  }
}
