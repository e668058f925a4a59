import type { Decimal } from "decimal.js";
import { parseCurrencyCode, type CurrencyCode } from "../../domain/currency.ts";
import { fail, userError, UserErrorsThrown, type Result, type UserError } from "../../domain/errors.ts";
import { dec, parseAmount } from "../../domain/money.ts";
import { transitionPayout, type PayoutAction } from "../../domain/payout-status.ts";
import type { Payout, PayoutMethodType } from "../../generated/prisma/client.ts";
import type { BulkResult } from "../commissions/review-commissions.ts";
import { enqueueAccountingSync } from "../accounting/enqueue.ts";
import { once } from "../idempotency.ts";
import { Ledger, loadLines, writeStatusChanges, type LineRow } from "../ledger/ledger.ts";
import { audit, type AuditInput } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact, type Tx } from "../transact.ts";
import { emitPayout } from "./payout-lines.ts";

export const MAX_PAYOUTS_PER_CALL = 200;

export interface PaymentDetails {
  method: PayoutMethodType;
  reference?: string | null;
  notes?: string | null;
  /** What actually left the bank, when it differs from the payout (another currency, say). */
  sentAmount?: string | null;
  sentCurrency?: string | null;
  fee?: string | null;
  /** When the money was sent; default now. Not in the future. */
  paidAt?: Date | null;
}

interface CheckedPayment {
  method: PayoutMethodType;
  reference: string | null;
  notes: string | null;
  sentAmount: Decimal | null;
  sentCurrency: string | null;
  fee: Decimal | null;
  paidAt: Date;
}

function checkPayment(details: PaymentDetails, now: Date, programCurrency: CurrencyCode): CheckedPayment {
  const errors: UserError[] = [];
  const text = (value: string | null | undefined, field: string, max: number) => {
    const trimmed = value?.trim() || null;
    if (trimmed && trimmed.length > max) errors.push(userError("INVALID_INPUT", `${field} must be at most ${max} characters`, ["input", field]));
    return trimmed;
  };
  const reference = text(details.reference, "reference", 255);
  const notes = text(details.notes, "notes", 2000);
  let sentCurrency: CurrencyCode | null = null;
  if (details.sentCurrency != null) {
    sentCurrency = parseCurrencyCode(details.sentCurrency) ?? null;
    if (!sentCurrency) errors.push(userError("INVALID_CURRENCY", `"${details.sentCurrency}" is not an ISO 4217 currency code`, ["input", "sentCurrency"]));
  }
  const amountIn = sentCurrency ?? programCurrency;
  const money = (value: string | null | undefined, field: string, allowZero: boolean) => {
    if (value == null) return null;
    const parsed = parseAmount(value, amountIn, { allowZero });
    if (!parsed.ok) errors.push(userError("INVALID_AMOUNT", `${field} ${parsed.message}`, ["input", field]));
    return parsed.ok ? parsed.value : null;
  };
  const sentAmount = money(details.sentAmount, "sentAmount", false);
  if (details.sentCurrency != null && details.sentAmount == null) errors.push(userError("INVALID_INPUT", "sentCurrency goes with sentAmount", ["input", "sentAmount"]));
  const fee = money(details.fee, "fee", true);
  const paidAt = details.paidAt ?? now;
  if (paidAt.getTime() > now.getTime() + 60_000) errors.push(userError("INVALID_INPUT", "paidAt cannot be in the future", ["input", "paidAt"]));
  if (errors.length > 0) throw new UserErrorsThrown(errors);
  return { method: details.method, reference, notes, sentAmount, sentCurrency: sentAmount ? (sentCurrency ?? programCurrency) : null, fee, paidAt };
}

/**
 * Moves payouts along their lifecycle, one or many: approve (DRAFT →
 * APPROVED), pay (APPROVED → PAID: method, reference, notes, and optionally
 * what was actually sent and the fee; its lines become PAID), cancel (DRAFT
 * or APPROVED → CANCELLED: its lines are payable again). A draft that shrank
 * since it was made is approved only if its amount is still positive and at
 * least the program's minimum (unless drafted with an admin's override);
 * nothing is paid unless positive. Those are skipped as NOT_POSITIVE or
 * BELOW_MINIMUM; a payment dated (paidAt) before the payout's approval is
 * skipped as INVALID_INPUT. Each payout's
 * partner is locked first, so concurrent calls on one payout make exactly
 * one transition; the others report it skipped (INVALID_TRANSITION). Ids of
 * another program are skipped as NOT_FOUND.
 * Errors: INVALID_INPUT, INVALID_AMOUNT, INVALID_CURRENCY, IDEMPOTENCY_CONFLICT.
 */
export function transitionPayouts(
  deps: ServiceDeps,
  actor: Actor,
  action: PayoutAction,
  input: { ids: string[]; reason?: string | null; payment?: PaymentDetails; idempotencyKey?: string | null },
): Promise<Result<BulkResult>> {
  const ids = [...new Set(input.ids)];
  if (ids.length === 0 || ids.length > MAX_PAYOUTS_PER_CALL) {
    return Promise.resolve({ ok: false, errors: [userError("INVALID_INPUT", `name 1 to ${MAX_PAYOUTS_PER_CALL} payouts`, ["input", "ids"])] });
  }
  return transact(deps, actor, (tx) =>
    once(tx, `payout.${action}`, input.idempotencyKey, { ...input, ids, idempotencyKey: undefined }, () => apply(tx, action, ids, input), {
      encode: (result) => result,
      decode: async (stored) => stored as BulkResult,
    }),
  );
}

async function apply(tx: Tx, action: PayoutAction, ids: string[], input: { reason?: string | null; payment?: PaymentDetails }): Promise<BulkResult> {
  const reason = input.reason?.trim() || null;
  if (action === "cancel" && (!reason || reason.length > 1000)) fail("INVALID_INPUT", "a reason of 1 to 1000 characters is required to cancel", ["input", "reason"]);
  const program = await tx.db.program.findUniqueOrThrow({ where: { id: tx.programId }, select: { currency: true, minimumPayout: true } });
  const currency = program.currency as CurrencyCode;
  if (action === "pay" && !input.payment?.method) fail("INVALID_INPUT", "a payment method is required to mark a payout paid", ["input", "method"]);
  const payment = action === "pay" ? checkPayment(input.payment!, tx.now, currency) : null;

  const ledger = new Ledger(tx, `payout.${action}`);
  const first = await tx.db.payout.findMany({ where: { id: { in: ids } }, select: { partnerId: true } });
  await ledger.lockPartners(first.map((payout) => payout.partnerId));
  const payouts = new Map((await tx.db.payout.findMany({ where: { id: { in: ids } } })).map((payout) => [payout.id, payout]));

  const result: BulkResult = { changed: [], skipped: [] };
  const audits: AuditInput[] = [];
  for (const id of ids) {
    const payout = payouts.get(id);
    if (!payout) {
      result.skipped.push({ id, code: "NOT_FOUND", message: "no such payout" });
      continue;
    }
    // Read under the partner's lock, so a refund cannot shrink the amount between this check and the move.
    const move = transitionPayout(payout.status, action, {
      amount: dec(payout.amount),
      currency,
      minimum: dec(program.minimumPayout),
      minimumOverridden: payout.minimumOverrideReason !== null,
    });
    if (!move.ok) {
      result.skipped.push({ id, code: move.code, message: move.message });
      continue;
    }
    // A payment cannot predate the approval it follows: that would move it
    // into an earlier month or tax year (statements, 1099-NEC).
    if (payment && payout.approvedAt && payment.paidAt.getTime() < payout.approvedAt.getTime()) {
      result.skipped.push({ id, code: "INVALID_INPUT", message: `paidAt is before the payout was approved (${payout.approvedAt.toISOString()})` });
      continue;
    }
    const data: Parameters<typeof tx.db.payout.updateMany>[0]["data"] = { status: move.to };
    if (action === "approve") Object.assign(data, { approvedAt: tx.now, approvedBy: tx.actor.id });
    if (action === "cancel") Object.assign(data, { cancelledAt: tx.now, cancelReason: reason });
    if (payment) {
      Object.assign(data, {
        paidAt: payment.paidAt,
        method: payment.method,
        reference: payment.reference,
        notes: payment.notes,
        sentAmount: payment.sentAmount?.toFixed() ?? null,
        sentCurrency: payment.sentCurrency,
        fee: payment.fee?.toFixed() ?? null,
      });
    }
    // The lines as they are in the open payout, read before it changes status.
    const lines = action === "approve" ? [] : await payoutLines(tx, payout.id);
    // Guarded by the status it had: under the partner's lock this cannot lose, but if it ever did it would skip, not double-move.
    const updated = await tx.db.payout.updateMany({ where: { id, status: move.from }, data });
    if (updated.count !== 1) {
      result.skipped.push({ id, code: "CONCURRENT_UPDATE", message: "the payout changed meanwhile" });
      continue;
    }
    if (action !== "approve") await moveLines(tx, ledger, payout, lines, action, payment?.paidAt ?? tx.now);
    const after = await tx.db.payout.findUniqueOrThrow({ where: { id } });
    emitPayout(ledger, after);
    audits.push({
      action: `payout.${action}`,
      entityType: "Payout",
      entityId: id,
      before: { status: payout.status },
      after: { status: after.status, ...(payment ? { method: payment.method, reference: payment.reference } : {}) },
      reason,
    });
    result.changed.push(id);
  }
  // Approved payouts become bills, paid ones bill payments, in the accounting system; cancelled ones lose their bill.
  await enqueueAccountingSync(tx, result.changed);
  await audit(tx, ...audits);
  await ledger.flush();
  return result;
}

async function payoutLines(tx: Tx, payoutId: string): Promise<LineRow[]> {
  const items = await tx.db.payoutItem.findMany({ where: { payoutId, active: true }, select: { commissionId: true } });
  return loadLines(tx, { id: { in: items.map((item) => item.commissionId) } });
}

/** Paying marks the payout's lines PAID; cancelling releases them to payable. */
async function moveLines(tx: Tx, ledger: Ledger, payout: Payout, lines: LineRow[], action: "pay" | "cancel", paidAt: Date): Promise<void> {
  if (action === "cancel") {
    await tx.db.payoutItem.updateMany({ where: { payoutId: payout.id, active: true }, data: { active: false } });
    for (const line of lines) ledger.move(line, line, { status: line.status, matured: line.matured, inOpenPayout: false });
    return;
  }
  await writeStatusChanges(
    tx,
    lines.map((line) => ({ id: line.id, status: "PAID", heldFromStatus: null, paidAt })),
  );
  for (const line of lines) ledger.changed(line, { ...line, status: "PAID", inOpenPayout: false, openPayout: null }, { at: paidAt });
}
