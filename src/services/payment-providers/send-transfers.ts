import { Decimal } from "decimal.js";
import type { CurrencyCode } from "../../domain/currency.ts";
import type { PayoutTransfer } from "../../generated/prisma/client.ts";
import { PaymentProviderError } from "../../integrations/payments/provider-error.ts";
import type { Recipient, TransferOutcome } from "../../integrations/payments/payout-provider.ts";
import { Ledger } from "../ledger/ledger.ts";
import { transact } from "../transact.ts";
import { type ServiceDeps } from "../deps.ts";
import { bookReturn, confirmPayout, failPayout, lockPayout, markReturned, notePayout, PROVIDER_LABEL, railActor, recordTransferOutcome } from "./payout-outcomes.ts";

/**
 * The outbox job behind sendPayouts: hands one batch's transfers to their
 * provider with the keys stored when they were sent (PayPal's
 * sender_batch_id is the batch key; Wise's customerTransactionId and
 * Stripe's Idempotency-Key come from each transfer's key), then records
 * each transfer's outcome and applies it to its payout: PAID, FAILED with
 * the provider's reason, or still PROCESSING (webhooks and polling follow
 * it). Run again for the same batch (a retry after an outage, a crash after
 * the provider accepted), it asks again with the same keys: the provider
 * answers with what it already did, and nothing is sent twice. Transfers
 * that have their answer are not asked about again.
 *
 * Throws PaymentProviderError for the outbox: retryable (an outage that
 * outlasted the connector's own retries), unauthorized (reconnect), permanent.
 */
export async function sendTransfers(deps: ServiceDeps, programId: string, batchKey: string): Promise<void> {
  const db = deps.tenant(programId);
  const transfers = await db.payoutTransfer.findMany({ where: { batchKey, status: "PENDING" }, orderBy: { createdAt: "asc" } });
  if (transfers.length === 0) return;
  const provider = transfers[0]!.provider;
  const connection = await db.paymentProviderConnection.findUnique({ where: { id: transfers[0]!.connectionId } });
  if (!connection || connection.status !== "CONNECTED") {
    throw new PaymentProviderError(`${PROVIDER_LABEL[provider]} is disconnected; an admin must reconnect it before these payouts can be sent`, "unauthorized");
  }
  if (!deps.paymentRails) throw new PaymentProviderError("payment rails are not configured on this server", "permanent");
  const rail = deps.paymentRails.forConnection(connection);
  const program = await db.program.findUniqueOrThrow({ where: { id: programId }, select: { name: true } });
  const result = await rail.send({
    idempotencyKey: batchKey,
    emailSubject: `${program.name}: your payout`,
    transfers: transfers.map((t) => ({
      reference: t.payoutId,
      idempotencyKey: t.idempotencyKey,
      amount: new Decimal(t.amount),
      currency: t.currency as CurrencyCode,
      recipient: t.recipient as unknown as Recipient,
      note: `${program.name} payout`,
    })),
  });
  const byKey = new Map(result.transfers.map((o) => [o.idempotencyKey ?? o.reference, o]));
  for (const transfer of transfers) {
    const outcome = byKey.get(transfer.idempotencyKey) ?? result.transfers.find((o) => o.reference === transfer.payoutId);
    if (!outcome) continue; // not in the answer: asked again on the next run, with the same key
    await applyTransferOutcome(deps, transfer, { ...outcome, providerBatchId: outcome.providerBatchId ?? result.batchId }, deps.clock.now());
  }
}

/**
 * Applies what the provider says of one transfer (a send's answer, a lookup)
 * to the transfer row and its payout, in one transaction under the
 * partner's lock; a return of a paid payout books its bounce first.
 */
export async function applyTransferOutcome(deps: ServiceDeps, transfer: PayoutTransfer, outcome: TransferOutcome, at: Date): Promise<void> {
  if (outcome.status === "RETURNED") {
    const payout = await deps.tenant(transfer.programId).payout.findUniqueOrThrow({ where: { id: transfer.payoutId } });
    await bookReturn(deps, payout, transfer, outcome.reason ?? "returned");
  }
  const done = await transact(deps, railActor(transfer.programId, transfer.provider), async (tx) => {
    const ledger = new Ledger(tx, "payout.provider_outcome");
    const payout = await lockPayout(tx, ledger, transfer.payoutId);
    if (!payout) return;
    const row = await recordTransferOutcome(tx, transfer, outcome);
    const reason = outcome.reason ?? outcome.status.toLowerCase();
    switch (outcome.status) {
      case "PAID":
        await confirmPayout(tx, ledger, payout, row, at);
        break;
      case "FAILED":
        await failPayout(tx, ledger, payout, row, reason);
        break;
      case "UNCLAIMED":
        await notePayout(tx, ledger, payout, row, `unclaimed: ${reason}`);
        break;
      case "RETURNED":
        // Before it was confirmed it never arrived: failed; after, the bounce booked above makes it RETURNED.
        if (payout.status === "PROCESSING") await failPayout(tx, ledger, payout, row, `returned: ${reason}`);
        else await markReturned(tx, ledger, payout, row, reason);
        break;
      case "PROCESSING":
        break;
    }
    await ledger.flush();
  });
  if (!done.ok) throw new Error(`the outcome of transfer ${transfer.id} was not recorded: ${done.errors.map((e) => e.message).join("; ")}`);
}

/**
 * The outbox gave up on a batch (a permanent refusal, credentials refused,
 * or retries exhausted). A refusal means nothing was sent: the batch's
 * unanswered transfers fail with the message and their payouts' lines are
 * payable again. An outage that outlasted every retry proves nothing (the
 * provider may have accepted): those stay PROCESSING with the message noted,
 * for the poll to look them up by their keys.
 */
export async function giveUpOnBatch(deps: ServiceDeps, programId: string, batchKey: string, message: string, refused: boolean): Promise<void> {
  const transfers = await deps.tenant(programId).payoutTransfer.findMany({ where: { batchKey, status: "PENDING" } });
  for (const transfer of transfers) {
    if (refused) {
      await applyTransferOutcome(deps, transfer, { reference: transfer.payoutId, status: "FAILED", providerTransferId: null, reason: message }, deps.clock.now());
    } else {
      await transact(deps, railActor(programId, transfer.provider), async (tx) => {
        const ledger = new Ledger(tx, "payout.provider_give_up");
        const payout = await lockPayout(tx, ledger, transfer.payoutId);
        if (payout) await notePayout(tx, ledger, payout, transfer, `not confirmed yet (${message}); it is looked up by its key`);
        await ledger.flush();
      });
    }
  }
}
