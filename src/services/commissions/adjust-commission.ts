import type { CurrencyCode } from "../../domain/currency.ts";
import { fail, UserErrorsThrown, type Result } from "../../domain/errors.ts";
import { sum } from "../../domain/money.ts";
import { once } from "../idempotency.ts";
import { insertLines, Ledger, loadLines, type LineRow } from "../ledger/ledger.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact, type Tx } from "../transact.ts";
import { checkCorrection, type CorrectionInput } from "./correction-input.ts";

/**
 * Corrects a line by a signed amount: a new ADJUSTMENT line linked to it,
 * never an edit in place. While the original is unpaid and in no payout, the
 * adjustment shares its status and payableAt (and moves with it on review);
 * once the original is paid or in a payout, the adjustment is approved and
 * payable now, netting against the next payout.
 * A correction never takes the line below zero: the line with its
 * counting corrections (adjustments, refund shares, clawbacks) must stay
 * at or above zero; taking back more than was earned is a clawback, booked
 * by a refund, not an adjustment.
 * Errors: NOT_FOUND, INVALID_AMOUNT (zero, too many places, or more than
 * the line's net), INVALID_TRANSITION (the line is cancelled or reversed),
 * IDEMPOTENCY_CONFLICT. With an idempotency key, a replay returns the first
 * adjustment line.
 */
export function adjustCommission(deps: ServiceDeps, actor: Actor, input: CorrectionInput & { commissionId: string; idempotencyKey?: string | null }): Promise<Result<LineRow>> {
  return transact(deps, actor, (tx) => once(tx, "adjustCommission", input.idempotencyKey, { ...input, idempotencyKey: undefined }, () => adjust(tx, input), lineCodec(tx)));
}

/** A correction line stored by id under an idempotency key. */
export function lineCodec(tx: Tx) {
  return {
    encode: (line: LineRow) => line.id,
    decode: async (id: unknown) => (await loadLines(tx, { id: id as string }))[0]!,
  };
}

async function adjust(tx: Tx, input: CorrectionInput & { commissionId: string }): Promise<LineRow> {
  {
    const ledger = new Ledger(tx, "commission.adjust");
    const found = await loadLines(tx, { id: input.commissionId });
    if (!found[0]) fail("NOT_FOUND", "no such commission", ["input", "id"]);
    await ledger.lockPartners([found[0].partnerId]);
    const [line] = await loadLines(tx, { id: input.commissionId });
    const original = line!;
    const checked = checkCorrection(input, original.currency as CurrencyCode, { allowNegative: true });
    if (checked.errors.length > 0) throw new UserErrorsThrown(checked.errors);
    if (original.status === "CANCELLED" || original.status === "REVERSED") {
      fail("INVALID_TRANSITION", `a ${original.status} commission cannot be adjusted`, ["input", "id"]);
    }
    const corrections = await tx.db.commission.findMany({
      where: { relatedId: original.id, kind: { in: ["ADJUSTMENT", "REVERSAL", "CLAWBACK"] }, status: { notIn: ["CANCELLED", "REVERSED"] } },
      select: { amount: true },
    });
    const net = sum([original.amount, ...corrections.map((c) => c.amount)]);
    if (net.plus(checked.amount!).isNegative()) {
      fail("INVALID_AMOUNT", `this would take the commission below zero: it stands at ${net.toFixed()} with its corrections`, ["input", "amount"]);
    }
    const follows = !original.inOpenPayout && original.status !== "PAID";
    const [adjustment] = await insertLines(tx, [
      {
        partnerId: original.partnerId,
        kind: "ADJUSTMENT",
        status: follows ? original.status : "APPROVED",
        heldFromStatus: follows ? original.heldFromStatus : null,
        amount: checked.amount!,
        currency: original.currency,
        occurredAt: tx.now,
        payableAt: follows ? original.payableAt : tx.now,
        matured: follows ? original.matured : true,
        relatedId: original.id,
        conversionId: original.conversionId,
        reasonCode: input.reasonCode,
        note: checked.note,
      },
    ]);
    ledger.added(adjustment!);
    await audit(tx, {
      action: "commission.adjust",
      entityType: "Commission",
      entityId: adjustment!.id,
      after: { amount: adjustment!.amount.toFixed(), relatedId: original.id, status: adjustment!.status, reasonCode: input.reasonCode },
      reason: checked.note,
    });
    await ledger.flush();
    return adjustment!;
  }
}
