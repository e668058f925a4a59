import type { Decimal } from "decimal.js";
import type { CurrencyCode } from "../../domain/currency.ts";
import { fail, userError, UserErrorsThrown, type Result } from "../../domain/errors.ts";
import { dec, parseAmount, sum } from "../../domain/money.ts";
import { reversalDelta } from "../../domain/reversal.ts";
import type { Reversal } from "../../generated/prisma/client.ts";
import { insertLines, Ledger, loadLines, writeStatusChanges, type LineRow, type NewLine, type StatusChange } from "../ledger/ledger.ts";
import { audit, type AuditInput } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact, type Tx } from "../transact.ts";
import { emitPayout } from "../payouts/payout-lines.ts";
import { detachFromDraft } from "../payouts/remove-payout-lines.ts";
import { contentHash } from "./content-hash.ts";
import { FUTURE_TOLERANCE_MS } from "./record-conversions.ts";

export interface ReverseConversionInput {
  conversionId?: string | null;
  conversionExternalId?: string | null;
  /** The integrator's refund (or chargeback) id: a retry with it changes nothing. */
  refundId: string;
  /** In the sale's currency; absent means whatever is left. */
  amount?: string | null;
  kind?: "REFUND" | "CHARGEBACK" | null;
  reason?: string | null;
  occurredAt?: Date | null;
}

/** The lines that carry a line's earlier refunds: partial reversals and clawbacks. */
const SHARE_KINDS = new Set(["REVERSAL", "CLAWBACK"]);
/** The lines that correct a line and may share its fate on a full refund. */
const DEPENDENT_KINDS = new Set(["ADJUSTMENT", ...SHARE_KINDS]);

/**
 * Reverses a sale in full or in part (refund, chargeback). A partial refund
 * reverses the same share of each of the sale's lines; refunds may repeat
 * until the whole is reversed. Per line:
 * - unpaid and in no payout: marked REVERSED when the sale is fully
 *   refunded (with its earlier unpaid reversal shares and clawbacks, and its
 *   unpaid adjustments), else a linked negative REVERSAL line in the same
 *   status;
 * - in a draft payout: taken out of the draft and reversed when the sale is
 *   fully refunded, else the negative share joins the draft (recomputed);
 * - either of those, fully refunded, but an earlier share of it (a clawback,
 *   a reversal share) already paid or in another payout: a REVERSAL line of
 *   what is left, as for a partial refund;
 * - paid, or in an approved payout: untouched; a negative CLAWBACK line,
 *   approved by the system with no hold, nets against the next payout.
 * Reversals never re-rate other lines. Idempotent by refundId.
 * Errors: NOT_FOUND, INVALID_INPUT, INVALID_AMOUNT, EXCEEDS_REMAINING,
 * IDEMPOTENCY_CONFLICT.
 */
export function reverseConversion(deps: ServiceDeps, actor: Actor, input: ReverseConversionInput): Promise<Result<Reversal>> {
  return transact(deps, actor, (tx) => reverse(tx, input));
}

async function reverse(tx: Tx, input: ReverseConversionInput): Promise<Reversal> {
  const refundId = input.refundId.trim();
  if (!refundId || refundId.length > 255) fail("INVALID_INPUT", "refundId must be 1 to 255 characters", ["input", "refundId"]);
  if ((input.conversionId == null) === (input.conversionExternalId == null)) {
    fail("INVALID_INPUT", "name the conversion by exactly one of conversionId or conversionExternalId", ["input", "conversionId"]);
  }
  const reason = input.reason?.trim() || null;
  if (reason && reason.length > 1000) fail("INVALID_INPUT", "reason must be at most 1000 characters", ["input", "reason"]);
  const found = await tx.db.conversion.findFirst({
    where: input.conversionId ? { id: input.conversionId } : { externalId: input.conversionExternalId! },
    select: { id: true, commissions: { select: { partnerId: true } } },
  });
  if (!found) fail("NOT_FOUND", "no such conversion", ["input", input.conversionId ? "conversionId" : "conversionExternalId"]);

  // The partners' balance locks serialise every change to these lines, and
  // with them every refund of this sale; the sale's row is read after them.
  const ledger = new Ledger(tx, "conversion.reverse");
  await ledger.lockPartners(found.commissions.map((c) => c.partnerId));
  const conversion = await tx.db.conversion.findUniqueOrThrow({ where: { id: found.id } });
  const saleCurrency = conversion.currency as CurrencyCode;
  const sale = dec(conversion.amount);
  const refundedBefore = dec(conversion.reversedAmount);
  const remaining = sale.minus(refundedBefore);

  let amount: Decimal = remaining;
  if (input.amount != null) {
    const parsed = parseAmount(input.amount, saleCurrency);
    if (!parsed.ok) throw new UserErrorsThrown([userError("INVALID_AMOUNT", `amount ${parsed.message}`, ["input", "amount"])]);
    amount = parsed.value;
  }
  const kind = input.kind ?? "REFUND";
  const occurredAt = input.occurredAt ?? tx.now;
  // A refund happens after its sale and not in the future: its date places its lines on statements.
  if (occurredAt.getTime() > tx.now.getTime() + FUTURE_TOLERANCE_MS) fail("INVALID_INPUT", "occurredAt is in the future", ["input", "occurredAt"]);
  if (occurredAt.getTime() < conversion.occurredAt.getTime()) fail("INVALID_INPUT", "occurredAt is before the sale it refunds", ["input", "occurredAt"]);
  const hash = contentHash({ conversionId: conversion.id, amount: input.amount == null ? "REST" : amount.toFixed(), kind });

  const previous = await tx.db.reversal.findUnique({ where: { programId_externalId: { programId: tx.programId, externalId: refundId } } });
  if (previous) {
    if (previous.contentHash !== hash) fail("IDEMPOTENCY_CONFLICT", `refund "${refundId}" was recorded before with other content`, ["input", "refundId"]);
    return previous;
  }
  if (remaining.isZero()) fail("EXCEEDS_REMAINING", "the sale is already fully reversed", ["input", "amount"]);
  if (amount.greaterThan(remaining)) {
    fail("EXCEEDS_REMAINING", `only ${remaining.toFixed()} ${saleCurrency} of the sale is left to reverse`, ["input", "amount"]);
  }
  const refundedAfter = refundedBefore.plus(amount);
  const full = refundedAfter.equals(sale);

  const reversal = await tx.db.reversal.create({
    data: { programId: tx.programId, conversionId: conversion.id, externalId: refundId, kind, amount: amount.toFixed(), reason, contentHash: hash, occurredAt },
  });
  await tx.db.conversion.update({ where: { id: conversion.id }, data: { reversedAmount: refundedAfter.toFixed() } });

  const lines = await loadLines(tx, { conversionId: conversion.id, kind: "CONVERSION" });
  const dependents = await loadLines(tx, { relatedId: { in: lines.map((l) => l.id) } });
  const changes: StatusChange[] = [];
  const newLines: NewLine[] = [];
  const audits: AuditInput[] = [];
  const markReversed = (line: LineRow) => {
    changes.push({ id: line.id, status: "REVERSED", heldFromStatus: null, statusReason: reason ?? kind.toLowerCase() });
    ledger.changed(line, { ...line, status: "REVERSED", heldFromStatus: null }, { at: occurredAt, reason: reason ?? kind });
    audits.push({
      action: "commission.reverse",
      entityType: "Commission",
      entityId: line.id,
      before: { status: line.status },
      after: { status: "REVERSED", reversalId: reversal.id },
      reason,
    });
  };

  const joiningDraft = new Map<number, string>(); // index in newLines → draft payout id
  for (const original of lines) {
    let line = original;
    if (line.status === "REVERSED") continue;
    const delta = reversalDelta(line.amount, sale, refundedBefore, refundedAfter, line.currency as CurrencyCode);
    // A line still unpaid (at most in a draft payout) is reversed itself; one
    // paid or in an approved payout keeps its history and gets a clawback.
    const draft = line.openPayout?.status === "DRAFT" ? line.openPayout : null;
    const reversible = line.status !== "PAID" && (!line.inOpenPayout || draft !== null);
    const mine = dependents.filter((d) => d.relatedId === line.id && DEPENDENT_KINDS.has(d.kind) && d.status !== "REVERSED");
    // Earlier refunds of this line live on as its REVERSAL and CLAWBACK lines
    // (a clawback stays when the approved payout that caused it is cancelled).
    // Marking the line REVERSED takes its whole amount away, so those shares
    // must go with it, or the partner loses them twice. A share that is
    // unpaid and in no payout (or in the draft the line leaves) is reversed
    // with the line. One already paid or in another payout must not be
    // touched: then the line stays and this refund books what is left of it
    // (line − shares so far, the cumulative rule of a partial refund). Either
    // way the sale's lines net to the commission on its un-refunded part, and
    // balances stay the sum of the lines.
    // An adjustment paid (or in another payout) sticks the same way: the
    // refund must take it back too, or a paid correction survives the sale.
    const counts = (d: LineRow) => d.status !== "CANCELLED" && d.status !== "REVERSED";
    const stuck = (d: LineRow) => counts(d) && (d.status === "PAID" || (d.inOpenPayout && d.openPayout?.id !== draft?.id));
    if (reversible && full && !mine.some(stuck)) {
      if (draft) {
        const payout = await tx.db.payout.findUniqueOrThrow({ where: { id: draft.id } });
        const inDraft = [line, ...mine].filter((l) => l.openPayout?.id === draft.id);
        await detachFromDraft(
          tx,
          ledger,
          payout,
          inDraft.map((l) => l.id),
          reason ?? `${kind.toLowerCase()} ${refundId}`,
        );
        line = { ...line, inOpenPayout: false, openPayout: null };
        for (const d of mine) if (d.openPayout?.id === draft.id) Object.assign(d, { inOpenPayout: false, openPayout: null });
      }
      markReversed(line);
      for (const dependent of mine) {
        if (dependent.inOpenPayout) continue;
        // Shares go whatever their status (a clawback is APPROVED while the line
        // may be held); an adjustment only while it shares the line's status.
        if (SHARE_KINDS.has(dependent.kind) || (dependent.kind === "ADJUSTMENT" && (counts(dependent) || dependent.status === line.status))) markReversed(dependent);
      }
      continue;
    }
    // A full refund books what is left of the line with its corrections
    // (adjustments, earlier shares), so the sale nets to zero paid or not;
    // a partial one the line's share by the cumulative rule.
    const booked = full && counts(line) ? sum([line.amount, ...mine.filter(counts).map((d) => d.amount)]) : delta;
    if (!booked.isZero()) {
      if (draft) joiningDraft.set(newLines.length, draft.id);
      newLines.push({
        partnerId: line.partnerId,
        kind: reversible ? "REVERSAL" : "CLAWBACK",
        status: reversible ? line.status : "APPROVED",
        heldFromStatus: reversible ? line.heldFromStatus : null,
        amount: booked.negated(),
        currency: line.currency,
        occurredAt,
        payableAt: reversible ? line.payableAt : tx.now,
        matured: reversible ? line.matured : true,
        relatedId: line.id,
        conversionId: conversion.id,
        reversalId: reversal.id,
        reasonCode: kind,
        note: reason,
      });
    }
  }
  await writeStatusChanges(tx, changes);
  const inserted = await insertLines(tx, newLines);
  const drafts = new Set<string>();
  for (const [index, line] of inserted.entries()) {
    const draftId = joiningDraft.get(index);
    if (draftId) {
      // The negative share joins the draft its line is in, so the draft pays the net.
      await tx.db.payoutItem.create({ data: { programId: tx.programId, payoutId: draftId, commissionId: line.id, amount: line.amount.toFixed() } });
      Object.assign(line, { inOpenPayout: true, openPayout: { id: draftId, status: "DRAFT" } });
      drafts.add(draftId);
    }
    ledger.added(line);
    audits.push({
      action: line.kind === "CLAWBACK" ? "commission.clawback" : "commission.reverse_share",
      entityType: "Commission",
      entityId: line.id,
      after: { amount: line.amount.toFixed(), relatedId: line.relatedId, status: line.status, reversalId: reversal.id, payoutId: draftId ?? null },
      reason,
    });
  }
  for (const draftId of drafts) {
    const items = await tx.db.payoutItem.findMany({ where: { payoutId: draftId, active: true }, select: { amount: true } });
    const before = await tx.db.payout.findUniqueOrThrow({ where: { id: draftId } });
    const after = await tx.db.payout.update({ where: { id: draftId }, data: { amount: sum(items.map((item) => item.amount)).toFixed() } });
    emitPayout(ledger, after);
    audits.push({
      action: "payout.recompute",
      entityType: "Payout",
      entityId: draftId,
      before: { amount: before.amount.toFixed() },
      after: { amount: after.amount.toFixed() },
      reason,
    });
  }
  audits.push({
    action: "conversion.reverse",
    entityType: "Conversion",
    entityId: conversion.id,
    before: { reversedAmount: refundedBefore.toFixed() },
    after: { reversedAmount: refundedAfter.toFixed(), refundId, kind },
    reason,
  });
  await audit(tx, ...audits);
  await ledger.flush();
  return reversal;
}
