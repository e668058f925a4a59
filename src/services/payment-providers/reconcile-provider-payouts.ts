import { Decimal } from "decimal.js";
import { findDiscrepancy, type Discrepancy, type MoneyFact } from "../../domain/provider-discrepancy.ts";
import { Prisma, type PayoutTransfer } from "../../generated/prisma/client.ts";
import type { TransferOutcome } from "../../integrations/payments/payout-provider.ts";
import { PaymentProviderError } from "../../integrations/payments/provider-error.ts";
import { audit } from "../audit.ts";
import type { ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";
import { railActor } from "./payout-outcomes.ts";

/** PAID payouts paid within this many days are compared with their provider. */
export const RECONCILE_WINDOW_DAYS = 30;
/** Each is compared again after this long. */
export const RECONCILE_EVERY_MS = 24 * 60 * 60_000;
/** At most this many attempts are looked up per run (the rest wait for the next). */
const BATCH = 200;

/** The stored form of a discrepancy (payouts.provider_discrepancy). */
export interface StoredDiscrepancy {
  kind: Discrepancy["kind"];
  message: string;
  providerStatus: string | null;
  providerAmount: { amount: string; currency: string } | null;
  recordedAmount: { amount: string; currency: string };
  providerFee: { amount: string; currency: string } | null;
  recordedFee: { amount: string; currency: string } | null;
  foundAt: string;
}

const stored = (m: MoneyFact | null) => (m ? { amount: m.amount.toFixed(), currency: m.currency } : null);

/**
 * The provider reconciliation (issue 15): for payouts PAID through a
 * provider within RECONCILE_WINDOW_DAYS and not compared for a day, asks the
 * provider what it did (lookup: PayPal by batch, Wise and Stripe by
 * transfer) and compares it with what accrue booked (findDiscrepancy). A
 * difference is written on the payout (providerDiscrepancy, for operators)
 * with an audit entry; it is never corrected silently, and the payout keeps
 * its state. A difference that is gone when asked again is cleared, with an
 * audit entry. A transfer the provider answers 404 for is MISSING; one it
 * cannot be asked about (an outage, refused credentials) is compared next run.
 * Returns how many attempts were compared.
 */
export async function reconcileProviderPayouts(deps: ServiceDeps): Promise<number> {
  if (!deps.paymentRails) return 0;
  const now = deps.clock.now();
  const due = await deps.prisma.payoutTransfer.findMany({
    where: {
      status: "PAID",
      payout: { status: "PAID", paidAt: { gte: new Date(now.getTime() - RECONCILE_WINDOW_DAYS * 86_400_000) } },
      OR: [{ reconciledAt: null }, { reconciledAt: { lt: new Date(now.getTime() - RECONCILE_EVERY_MS) } }],
    },
    orderBy: { createdAt: "asc" },
    take: BATCH,
  });
  const byConnection = new Map<string, PayoutTransfer[]>();
  for (const t of due) byConnection.set(t.connectionId, [...(byConnection.get(t.connectionId) ?? []), t]);
  let compared = 0;
  for (const [connectionId, transfers] of byConnection) {
    const connection = await deps.prisma.paymentProviderConnection.findUnique({ where: { id: connectionId } });
    if (connection?.status !== "CONNECTED") continue;
    const rail = deps.paymentRails.forConnection(connection);
    const outcomes: TransferOutcome[] = [];
    /** Transfers the provider answered "no such transfer" for (404): missing, not a failed lookup. */
    const gone = new Set<string>();
    /** Transfers that could not be asked about this run: compared next run. */
    const unasked = new Set<string>();
    const failed = (error: unknown, ids: string[]) => {
      if (error instanceof PaymentProviderError && error.status === 404) for (const id of ids) gone.add(id);
      else {
        for (const id of ids) unasked.add(id);
        deps.logger.warn({ connectionId, err: (error as Error).message }, "provider reconciliation: lookup failed; asked again next run");
      }
    };
    if (connection.provider === "PAYPAL") {
      for (const batchId of new Set(transfers.map((t) => t.providerBatchId).filter((b): b is string => b !== null))) {
        try {
          outcomes.push(...(await rail.lookup({ batchId })));
        } catch (error) {
          failed(
            error,
            transfers.filter((t) => t.providerBatchId === batchId).map((t) => t.id),
          );
        }
      }
    } else {
      // One at a time, so a transfer the provider no longer has is reported alone.
      for (const t of transfers) {
        try {
          outcomes.push(...(await rail.lookup({ transfers: [{ reference: t.payoutId, idempotencyKey: t.idempotencyKey, providerTransferId: t.providerTransferId }] })));
        } catch (error) {
          failed(error, [t.id]);
        }
      }
    }
    for (const transfer of transfers) {
      if (unasked.has(transfer.id)) continue;
      const outcome = gone.has(transfer.id)
        ? undefined
        : outcomes.find((o) => (o.providerTransferId !== null && o.providerTransferId === transfer.providerTransferId) || o.reference === transfer.payoutId);
      // A lookup that answers "no transfer under this key" is a missing transfer, whatever status it gives it.
      const missing = !outcome || outcome.providerTransferId === null;
      const found = findDiscrepancy(
        { amount: new Decimal(transfer.sentAmount ?? transfer.amount), currency: transfer.sentCurrency ?? transfer.currency },
        transfer.fee !== null ? { amount: new Decimal(transfer.fee), currency: transfer.feeCurrency ?? transfer.currency } : null,
        missing ? null : { status: outcome.status, sent: outcome.sentAmount ?? null, fee: outcome.fee ?? null },
      );
      await record(deps, transfer, found, now);
      compared += 1;
    }
  }
  return compared;
}

/** Writes what was found on the payout (or clears what is gone), once per change, with an audit entry. */
async function record(deps: ServiceDeps, transfer: PayoutTransfer, found: Discrepancy | null, now: Date): Promise<void> {
  await transact(deps, railActor(transfer.programId, transfer.provider), async (tx) => {
    await tx.db.payoutTransfer.update({ where: { id: transfer.id }, data: { reconciledAt: now } });
    const payout = await tx.db.payout.findUniqueOrThrow({ where: { id: transfer.payoutId }, select: { providerDiscrepancy: true } });
    const before = payout.providerDiscrepancy as StoredDiscrepancy | null;
    const next: Omit<StoredDiscrepancy, "foundAt"> | null = found
      ? {
          kind: found.kind,
          message: found.message,
          providerStatus: found.providerStatus,
          providerAmount: stored(found.providerAmount),
          recordedAmount: stored(found.recordedAmount)!,
          providerFee: stored(found.providerFee),
          recordedFee: stored(found.recordedFee),
        }
      : null;
    // The message names the kind's figures: the same message is the same difference (its first foundAt stays).
    if ((before?.message ?? null) === (next?.message ?? null) && (before?.kind ?? null) === (next?.kind ?? null)) return;
    const value = next ? { ...next, foundAt: now.toISOString() } : null;
    await tx.db.payout.update({ where: { id: transfer.payoutId }, data: { providerDiscrepancy: value ?? Prisma.DbNull } });
    await audit(tx, {
      action: next ? "payout.provider_discrepancy" : "payout.provider_reconciled",
      entityType: "Payout",
      entityId: transfer.payoutId,
      before: before ? { kind: before.kind } : null,
      after: next ? { kind: next.kind, provider: transfer.provider, providerStatus: next.providerStatus } : { provider: transfer.provider },
      reason: next?.message ?? "the provider agrees with what accrue booked",
    });
  });
}
