import { fail, type Result } from "../../domain/errors.ts";
import type { Payout } from "../../generated/prisma/client.ts";
import { bookCredit } from "../commissions/credit-partner.ts";
import { once } from "../idempotency.ts";
import { insertLines, Ledger } from "../ledger/ledger.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact, type Tx } from "../transact.ts";
import { emitPayout } from "./payout-lines.ts";

/**
 * A payment that came back after the payout was marked paid (a returned
 * transfer, a closed account). Paid stays final (its lines stay PAID); the
 * money is owed again, so a CREDIT line of the payout's amount (reason
 * PAYMENT_BOUNCED) is booked, approved and payable at once, and beside it a
 * PAID line of minus that amount (same reason): what came back was not paid,
 * and the rebooked money was not earned a second time, so `paid` and
 * `lifetimeEarned` stay what really happened. Once per payout.
 * Errors: NOT_FOUND, INVALID_TRANSITION (not paid, or already bounced),
 * INVALID_INPUT, IDEMPOTENCY_CONFLICT. With an idempotency key, a replay
 * returns the payout as the first call left it.
 */
export function recordPayoutBounce(deps: ServiceDeps, actor: Actor, input: { payoutId: string; reason: string; idempotencyKey?: string | null }): Promise<Result<Payout>> {
  return transact(deps, actor, (tx) =>
    once(tx, "recordPayoutBounce", input.idempotencyKey, { payoutId: input.payoutId, reason: input.reason.trim() }, () => bounce(tx, input), payoutCodec(tx)),
  );
}

/** A payout stored by id under an idempotency key. */
export function payoutCodec(tx: Tx) {
  return {
    encode: (payout: Payout) => payout.id,
    decode: (id: unknown) => tx.db.payout.findUniqueOrThrow({ where: { id: id as string } }),
  };
}

async function bounce(tx: Tx, input: { payoutId: string; reason: string }): Promise<Payout> {
  {
    const reason = input.reason.trim();
    if (!reason || reason.length > 1000) fail("INVALID_INPUT", "a reason of 1 to 1000 characters is required", ["input", "reason"]);
    const payout = await tx.db.payout.findUnique({ where: { id: input.payoutId } });
    if (!payout) fail("NOT_FOUND", "no such payout", ["input", "payoutId"]);
    if (payout.status !== "PAID") fail("INVALID_TRANSITION", `only a PAID payout can bounce (this one is ${payout.status})`, ["input", "payoutId"]);
    const marked = await tx.db.payout.updateMany({ where: { id: payout.id, bouncedAt: null }, data: { bouncedAt: tx.now, bounceReason: reason } });
    if (marked.count !== 1) fail("INVALID_TRANSITION", "this payout's bounce is already booked", ["input", "payoutId"]);
    await bookCredit(tx, {
      partnerId: payout.partnerId,
      amount: payout.amount.toFixed(),
      reasonCode: "PAYMENT_BOUNCED",
      note: `payout ${payout.id} bounced: ${reason}`,
    });
    const after = await tx.db.payout.findUniqueOrThrow({ where: { id: payout.id } });
    const ledger = new Ledger(tx, "payout.bounce");
    await ledger.lockPartners([payout.partnerId]);
    const [returned] = await insertLines(tx, [
      {
        partnerId: payout.partnerId,
        kind: "CREDIT",
        status: "PAID",
        amount: payout.amount.negated(),
        currency: payout.currency,
        occurredAt: tx.now,
        payableAt: tx.now,
        matured: true,
        reasonCode: "PAYMENT_BOUNCED",
        note: `payout ${payout.id} came back: ${reason}`,
      },
    ]);
    ledger.added(returned!);
    emitPayout(ledger, after);
    await audit(tx, { action: "payout.bounce", entityType: "Payout", entityId: payout.id, before: { bouncedAt: null }, after: { bouncedAt: tx.now }, reason });
    await ledger.flush();
    return after;
  }
}
