import { Decimal } from "decimal.js";
import { transitionPayout } from "../../domain/payout-status.ts";
import type { Payout, PayoutMethodType, PayoutTransfer } from "../../generated/prisma/client.ts";
import type { TransferOutcome } from "../../integrations/payments/payout-provider.ts";
import { enqueueAccountingSync } from "../accounting/enqueue.ts";
import { Ledger, loadLines, writeStatusChanges } from "../ledger/ledger.ts";
import { emitPayout } from "../payouts/payout-lines.ts";
import { recordPayoutBounce } from "../payouts/record-payout-bounce.ts";
import { audit } from "../audit.ts";
import { type Actor, type ServiceDeps } from "../deps.ts";
import { type Tx } from "../transact.ts";

/**
 * What a provider's answer does to a payout it was sent through (phase 2 of
 * issue 15, docs/payment-rails.md). Every function here runs inside the
 * caller's transaction with the payout's partner locked by `ledger`, writes
 * an audit entry and announces the payout on the live feed; none of them
 * moves a payout the provider's news does not apply to (it says what it did).
 */

/** The payout method type each rail pays. */
export const RAIL_METHOD: Record<PayoutTransfer["provider"], PayoutMethodType> = { PAYPAL: "PAYPAL", WISE: "WISE", STRIPE: "STRIPE" };

export const PROVIDER_LABEL: Record<PayoutTransfer["provider"], string> = { PAYPAL: "PayPal", WISE: "Wise", STRIPE: "Stripe" };

export type OutcomeEffect = "paid" | "failed" | "noted" | "return_due" | "none";

/** The actor provider news acts as (audit entries name the rail). */
export function railActor(programId: string, provider: PayoutTransfer["provider"]): Actor {
  return { role: "system", id: `${provider.toLowerCase()}-rail`, programId };
}

/** Records what the provider said on the transfer row (ids, fee, rate, status) without moving the payout. */
export async function recordTransferOutcome(tx: Tx, transfer: PayoutTransfer, outcome: Partial<TransferOutcome> & { status: TransferOutcome["status"] }): Promise<PayoutTransfer> {
  return tx.db.payoutTransfer.update({
    where: { id: transfer.id },
    data: {
      status: outcome.status,
      providerTransferId: outcome.providerTransferId ?? transfer.providerTransferId,
      providerBatchId: outcome.providerBatchId ?? transfer.providerBatchId,
      reason: outcome.reason?.slice(0, 1000) ?? (outcome.status === "PAID" ? null : transfer.reason),
      ...(outcome.fee ? { fee: outcome.fee.amount.toFixed(), feeCurrency: outcome.fee.currency } : {}),
      ...(outcome.sentAmount ? { sentAmount: outcome.sentAmount.amount.toFixed(), sentCurrency: outcome.sentAmount.currency } : {}),
      ...(outcome.rate ? { rate: outcome.rate.toFixed() } : {}),
    },
  });
}

/**
 * PROCESSING → PAID on the provider's confirmation: the same effect as an
 * operator marking it paid (its lines become PAID; the accounting system
 * gets its BillPayment), with the rail as method, the provider's transfer id
 * as reference, and what the provider reported as sent and charged.
 */
export async function confirmPayout(tx: Tx, ledger: Ledger, payout: Payout, transfer: PayoutTransfer, paidAt: Date): Promise<boolean> {
  const move = transitionPayout(payout.status, "confirm");
  if (!move.ok) return false;
  // sentAmount is recorded when it differs from the payout (another currency, or less after a fee);
  // the payout's fee is read in the sent currency (or the payout's), so a fee in another currency stays on the transfer.
  const sentCurrency = transfer.sentCurrency ?? payout.currency;
  const sentDiffers = transfer.sentAmount !== null && (sentCurrency !== payout.currency || !new Decimal(transfer.sentAmount).eq(payout.amount));
  const feeCurrency = sentDiffers ? sentCurrency : payout.currency;
  const fee = transfer.fee !== null && transfer.feeCurrency === feeCurrency ? transfer.fee : null;
  // The lines as they are in the payout, read before it leaves PROCESSING: read after, they would
  // look payable (in no payout that holds lines) and the balance would move them from payable, not
  // from inPayouts, to paid (the money oracle found it).
  const items = await tx.db.payoutItem.findMany({ where: { payoutId: payout.id, active: true }, select: { commissionId: true } });
  const lines = await loadLines(tx, { id: { in: items.map((item) => item.commissionId) } });
  const updated = await tx.db.payout.updateMany({
    where: { id: payout.id, status: move.from },
    data: {
      status: move.to,
      paidAt,
      method: RAIL_METHOD[transfer.provider],
      reference: transfer.providerTransferId ?? transfer.providerBatchId ?? transfer.idempotencyKey,
      providerNote: null,
      ...(sentDiffers ? { sentAmount: transfer.sentAmount!.toFixed(), sentCurrency } : {}),
      ...(fee ? { fee: fee.toFixed() } : {}),
    },
  });
  if (updated.count !== 1) return false;
  await writeStatusChanges(
    tx,
    lines.map((line) => ({ id: line.id, status: "PAID", heldFromStatus: null, paidAt })),
  );
  for (const line of lines) ledger.changed(line, { ...line, status: "PAID", inOpenPayout: false, openPayout: null });
  await finish(tx, ledger, payout, "payout.provider_paid", { status: "PAID", provider: transfer.provider, reference: transfer.providerTransferId }, null);
  return true;
}

/**
 * PROCESSING → FAILED with the provider's reason: nothing was sent, so the
 * lines leave the payout and are payable again (as a cancellation releases
 * them), and its Bill, if one was booked, is removed. Final: the money joins
 * the next payout, sent with new keys.
 */
export async function failPayout(tx: Tx, ledger: Ledger, payout: Payout, transfer: PayoutTransfer, reason: string): Promise<boolean> {
  const move = transitionPayout(payout.status, "fail");
  if (!move.ok) return false;
  const text = `${PROVIDER_LABEL[transfer.provider]}: ${reason}`.slice(0, 1000);
  const items = await tx.db.payoutItem.findMany({ where: { payoutId: payout.id, active: true }, select: { commissionId: true } });
  const lines = await loadLines(tx, { id: { in: items.map((item) => item.commissionId) } });
  const updated = await tx.db.payout.updateMany({
    where: { id: payout.id, status: move.from },
    data: { status: move.to, failedAt: tx.now, failureReason: text, providerNote: null },
  });
  if (updated.count !== 1) return false;
  await tx.db.payoutItem.updateMany({ where: { payoutId: payout.id, active: true }, data: { active: false } });
  for (const line of lines) ledger.move(line, line, { status: line.status, matured: line.matured, inOpenPayout: false });
  await finish(tx, ledger, payout, "payout.provider_failed", { status: "FAILED", provider: transfer.provider }, text);
  return true;
}

/** A payout still on its way gets a note (PayPal: unclaimed), shown to partner and operators. */
export async function notePayout(tx: Tx, ledger: Ledger, payout: Payout, transfer: PayoutTransfer, note: string): Promise<boolean> {
  if (payout.status !== "PROCESSING" && payout.status !== "PAID") return false;
  const text = `${PROVIDER_LABEL[transfer.provider]}: ${note}`.slice(0, 1000);
  if (payout.providerNote === text) return false;
  await tx.db.payout.update({ where: { id: payout.id }, data: { providerNote: text } });
  await finish(tx, ledger, payout, "payout.provider_note", { status: payout.status, provider: transfer.provider }, text);
  return true;
}

/** PAID → RETURNED once its bounce is booked (see returnPaidPayout). */
export async function markReturned(tx: Tx, ledger: Ledger, payout: Payout, transfer: PayoutTransfer, reason: string): Promise<boolean> {
  const move = transitionPayout(payout.status, "return");
  if (!move.ok || payout.bouncedAt === null) return false;
  const updated = await tx.db.payout.updateMany({ where: { id: payout.id, status: move.from }, data: { status: move.to, returnedAt: tx.now } });
  if (updated.count !== 1) return false;
  await finish(
    tx,
    ledger,
    payout,
    "payout.provider_returned",
    { status: "RETURNED", provider: transfer.provider },
    `${PROVIDER_LABEL[transfer.provider]}: ${reason}`.slice(0, 1000),
  );
  return true;
}

/**
 * The money of a PAID payout came back: booked through the bounce path,
 * in its own transaction (which books it once per payout, whoever asks),
 * before the payout is marked RETURNED. Run again after a crash between the
 * two, it finds the bounce booked and goes on.
 */
export async function bookReturn(deps: ServiceDeps, payout: Payout, transfer: PayoutTransfer, reason: string): Promise<void> {
  if (payout.status !== "PAID" || payout.bouncedAt !== null) return;
  const result = await recordPayoutBounce(deps, railActor(payout.programId, transfer.provider), {
    payoutId: payout.id,
    reason: `${PROVIDER_LABEL[transfer.provider]} returned it: ${reason}`.slice(0, 1000),
  });
  if (!result.ok && !result.errors.every((e) => e.code === "INVALID_TRANSITION")) {
    throw new Error(`the return of payout ${payout.id} was not booked: ${result.errors.map((e) => e.message).join("; ")}`);
  }
}

/** Loads the payout under its partner's lock. */
export async function lockPayout(tx: Tx, ledger: Ledger, payoutId: string): Promise<Payout | null> {
  const first = await tx.db.payout.findUnique({ where: { id: payoutId }, select: { partnerId: true } });
  if (!first) return null;
  await ledger.lockPartners([first.partnerId]);
  return tx.db.payout.findUnique({ where: { id: payoutId } });
}

async function finish(tx: Tx, ledger: Ledger, before: Payout, action: string, after: Record<string, unknown>, reason: string | null): Promise<void> {
  const payout = await tx.db.payout.findUniqueOrThrow({ where: { id: before.id } });
  emitPayout(ledger, payout);
  await enqueueAccountingSync(tx, [payout.id]);
  await audit(tx, { action, entityType: "Payout", entityId: payout.id, before: { status: before.status }, after, reason });
}
