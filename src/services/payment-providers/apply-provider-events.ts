import { Decimal } from "decimal.js";
import type { ProviderEvent, PayoutTransfer } from "../../generated/prisma/client.ts";
import type { TransferOutcome } from "../../integrations/payments/payout-provider.ts";
import { enqueue } from "../accounting/enqueue.ts";
import { Ledger } from "../ledger/ledger.ts";
import { transact } from "../transact.ts";
import { type ServiceDeps } from "../deps.ts";
import { bookReturn, confirmPayout, failPayout, lockPayout, markReturned, notePayout, railActor, recordTransferOutcome } from "./payout-outcomes.ts";
import { SEND_TRANSFERS } from "./send-payouts.ts";
import { applyTransferOutcome } from "./send-transfers.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A transfer the provider has not settled is looked up after this long without news (webhooks can be lost). */
export const POLL_AFTER_MS = 60 * 60_000;
/** A batch whose send never got an answer (the outbox gave up on an outage) is sent again, with its keys, after this long. */
export const RESEND_AFTER_MS = 60 * 60_000;

/**
 * Applies stored provider events (the webhooks' rows in provider_events
 * with processed_at null) to the payouts their transfers belong to, oldest
 * first, each in its own transaction under the payout's partner lock, which
 * also sets processed_at, so an event is applied once however often it was
 * delivered or this runs. The rules (docs/payment-rails.md):
 * paid → PROCESSING becomes PAID; failed → PROCESSING becomes FAILED;
 * returned → PROCESSING becomes FAILED (it never arrived), PAID becomes
 * RETURNED through the bounce path; unclaimed → a note. An event older than
 * one already applied to the transfer is stored and skipped; an event no
 * transfer of ours matches is marked processed with the reason.
 * Returns how many events were applied.
 */
export async function applyProviderEvents(deps: ServiceDeps, limit = 200): Promise<number> {
  const events = await deps.prisma.providerEvent.findMany({ where: { processedAt: null }, orderBy: [{ occurredAt: "asc" }, { receivedAt: "asc" }], take: limit });
  let applied = 0;
  for (const event of events) {
    try {
      if (await applyEvent(deps, event)) applied += 1;
    } catch (error) {
      deps.logger.warn({ event: event.id, err: (error as Error).message }, "provider event not applied; tried again next time");
    }
  }
  return applied;
}

async function findTransfer(deps: ServiceDeps, event: ProviderEvent): Promise<PayoutTransfer | null> {
  const db = deps.tenant(event.programId);
  const byId = await db.payoutTransfer.findFirst({ where: { provider: event.provider, providerTransferId: event.transferId }, orderBy: { attempt: "desc" } });
  if (byId) return byId;
  // PayPal's items and Stripe's transfers echo our reference (the payout id); the latest attempt with this provider is the one on its way.
  if (event.reference && UUID.test(event.reference)) {
    return db.payoutTransfer.findFirst({ where: { provider: event.provider, payoutId: event.reference }, orderBy: { attempt: "desc" } });
  }
  return null;
}

async function applyEvent(deps: ServiceDeps, event: ProviderEvent): Promise<boolean> {
  const transfer = event.subject === "transfer" ? await findTransfer(deps, event) : null;
  const reason = event.reason ?? event.providerType;
  // A return of a paid payout is booked through the bounce path first (its own transaction, once per payout).
  if (transfer && event.kind === "RETURNED" && isWholeReturn(event, transfer)) {
    const payout = await deps.tenant(event.programId).payout.findUniqueOrThrow({ where: { id: transfer.payoutId } });
    if (!stale(event, transfer)) await bookReturn(deps, payout, transfer, reason);
  }
  const result = await transact(deps, railActor(event.programId, event.provider), async (tx) => {
    const claimed = await tx.db.providerEvent.updateMany({ where: { id: event.id, processedAt: null }, data: { processedAt: tx.now } });
    if (claimed.count !== 1) return false; // another worker applied it
    if (event.subject !== "transfer") return false; // a Stripe connected account's own bank payout: stored for the record
    if (!transfer) {
      await tx.db.providerEvent.update({ where: { id: event.id }, data: { processingError: `no payout was sent through ${event.provider} as transfer ${event.transferId}` } });
      return false;
    }
    const ledger = new Ledger(tx, "payout.provider_event");
    const payout = await lockPayout(tx, ledger, transfer.payoutId);
    const current = await tx.db.payoutTransfer.findUniqueOrThrow({ where: { id: transfer.id } });
    if (!payout || stale(event, current)) return false;
    const status: TransferOutcome["status"] = event.kind;
    let row = await recordTransferOutcome(tx, current, {
      // An unclaimed item is recorded as such on its attempt (the poll follows UNCLAIMED attempts as PROCESSING ones); a partial return changes no status.
      status: status === "RETURNED" && !isWholeReturn(event, current) ? (current.status === "PENDING" ? "PROCESSING" : current.status) : status,
      providerTransferId: current.providerTransferId ?? event.transferId,
      ...(event.batchId ? { providerBatchId: event.batchId } : {}),
      ...(event.reason ? { reason: event.reason } : {}),
    });
    row = await tx.db.payoutTransfer.update({ where: { id: row.id }, data: { lastEventAt: event.occurredAt } });
    let changed = false;
    switch (event.kind) {
      case "PAID":
        changed = await confirmPayout(tx, ledger, payout, row, event.occurredAt);
        break;
      case "FAILED":
        changed = await failPayout(tx, ledger, payout, row, reason);
        break;
      case "UNCLAIMED":
        changed = await notePayout(tx, ledger, payout, row, `unclaimed (${reason}); PayPal returns it after 30 days unless the recipient claims it`);
        break;
      case "RETURNED":
        if (!isWholeReturn(event, row)) {
          changed = await notePayout(
            tx,
            ledger,
            payout,
            row,
            `${event.amount!.toFixed(2)} ${event.currency ?? row.currency} of it was reversed; a partial return is not booked by itself: record it after checking with the partner`,
          );
        } else if (payout.status === "PROCESSING") changed = await failPayout(tx, ledger, payout, row, `returned before it arrived: ${reason}`);
        else changed = await markReturned(tx, ledger, payout, row, reason);
        break;
    }
    await ledger.flush();
    return changed;
  });
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join("; "));
  return result.value;
}

/** Deliveries arrive out of order: news older than what was already applied to the transfer changes nothing. */
function stale(event: ProviderEvent, transfer: PayoutTransfer): boolean {
  return transfer.lastEventAt !== null && event.occurredAt.getTime() < transfer.lastEventAt.getTime();
}

/** A Stripe reversal names the total reversed so far; only one of the whole transfer returns the payout. */
function isWholeReturn(event: ProviderEvent, transfer: PayoutTransfer): boolean {
  return event.amount === null || new Decimal(event.amount).gte(transfer.amount);
}

/**
 * Polling, for news a webhook never brought: transfers still PROCESSING (or
 * UNCLAIMED) with no news for POLL_AFTER_MS are looked up with their
 * provider and what it says is applied as a send's answer would be; batches
 * whose send never got an answer are queued again with their keys.
 * Returns how many transfers were looked up.
 */
export async function pollTransfers(deps: ServiceDeps): Promise<number> {
  if (!deps.paymentRails) return 0;
  const now = deps.clock.now();
  const quiet = new Date(now.getTime() - POLL_AFTER_MS);
  const due = await deps.prisma.payoutTransfer.findMany({
    where: {
      status: { in: ["PROCESSING", "UNCLAIMED"] },
      payout: { status: "PROCESSING", sentAt: { lt: quiet } },
      AND: [{ OR: [{ lastEventAt: null }, { lastEventAt: { lt: quiet } }] }, { OR: [{ checkedAt: null }, { checkedAt: { lt: quiet } }] }],
    },
    orderBy: { createdAt: "asc" },
    take: 200,
  });
  const byConnection = new Map<string, PayoutTransfer[]>();
  for (const t of due) byConnection.set(t.connectionId, [...(byConnection.get(t.connectionId) ?? []), t]);
  let looked = 0;
  for (const [connectionId, transfers] of byConnection) {
    const connection = await deps.prisma.paymentProviderConnection.findUnique({ where: { id: connectionId } });
    if (!connection || connection.status !== "CONNECTED") continue;
    const rail = deps.paymentRails.forConnection(connection);
    try {
      const batches = [...new Set(transfers.map((t) => t.providerBatchId).filter((b): b is string => b !== null && transfers[0]!.provider === "PAYPAL"))];
      const outcomes: TransferOutcome[] = [];
      if (transfers[0]!.provider === "PAYPAL") for (const batchId of batches) outcomes.push(...(await rail.lookup({ batchId })));
      else
        outcomes.push(
          ...(await rail.lookup({ transfers: transfers.map((t) => ({ reference: t.payoutId, idempotencyKey: t.idempotencyKey, providerTransferId: t.providerTransferId })) })),
        );
      for (const transfer of transfers) {
        const outcome = outcomes.find((o) => (o.providerTransferId && o.providerTransferId === transfer.providerTransferId) || o.reference === transfer.payoutId);
        looked += 1;
        // Asked: next time after another quiet hour.
        await deps.prisma.payoutTransfer.update({ where: { id: transfer.id }, data: { checkedAt: now } });
        if (!outcome || outcome.status === transfer.status) continue;
        await applyTransferOutcome(deps, transfer, outcome, now);
      }
    } catch (error) {
      deps.logger.warn({ connectionId, err: (error as Error).message }, "payout transfers not looked up; asked again next time");
    }
  }
  // Sends the outbox gave up on during an outage: queued again; the same keys make the provider answer with what it did.
  const unanswered = await deps.prisma.payoutTransfer.findMany({
    where: { status: "PENDING", createdAt: { lt: new Date(now.getTime() - RESEND_AFTER_MS) }, payout: { status: "PROCESSING" } },
    select: { programId: true, batchKey: true },
    distinct: ["batchKey"],
    take: 100,
  });
  for (const { programId, batchKey } of unanswered) {
    const pending = await deps.prisma.outboxJob.count({ where: { programId, kind: SEND_TRANSFERS, subjectId: batchKey, status: "PENDING" } });
    if (pending > 0) continue;
    await transact(deps, { role: "system", id: "payment-rails", programId }, (tx) => enqueue(tx, SEND_TRANSFERS, [batchKey]));
  }
  return looked;
}
