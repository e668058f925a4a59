import type { PaymentProviderConnection } from "../../generated/prisma/client.ts";
import type { ProviderEvent } from "../../integrations/payments/payout-provider.ts";
import type { ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";

/**
 * THE SEAM FOR PHASE 2 (docs/payment-rails.md): where a verified webhook's
 * normalised events land. Each is stored once per provider event id (a
 * redelivery, or a duplicate per subscription, is dropped by the unique
 * index) with processed_at null; the payout lifecycle picks unprocessed rows
 * up in occurred_at order, applies them to the payout their transfer
 * belongs to, and sets processed_at. Nothing here changes a payout.
 *
 * Returns how many were new and how many had been received before.
 */
export async function receiveProviderEvents(
  deps: ServiceDeps,
  connection: Pick<PaymentProviderConnection, "id" | "programId" | "provider">,
  events: readonly ProviderEvent[],
): Promise<{ stored: number; duplicates: number }> {
  if (events.length === 0) return { stored: 0, duplicates: 0 };
  const result = await transact(deps, { role: "system", id: `${connection.provider.toLowerCase()}-webhook`, programId: connection.programId }, async (tx) => {
    const { count } = await tx.db.providerEvent.createMany({
      data: events.map((event) => ({
        programId: connection.programId,
        connectionId: connection.id,
        provider: connection.provider,
        eventId: event.eventId,
        kind: event.kind.toUpperCase() as "PAID" | "FAILED" | "RETURNED" | "UNCLAIMED",
        subject: event.subject,
        transferId: event.transferId,
        reference: event.reference ?? null,
        batchId: event.batchId ?? null,
        account: event.account ?? null,
        reason: event.reason?.slice(0, 1000) ?? null,
        amount: event.amount ? event.amount.amount.toFixed() : null,
        currency: event.amount?.currency ?? null,
        providerType: event.providerType,
        occurredAt: event.occurredAt,
      })),
      skipDuplicates: true,
    });
    return count;
  });
  if (!result.ok) throw new Error(`provider events were not stored: ${result.errors.map((e) => e.message).join("; ")}`);
  return { stored: result.value, duplicates: events.length - result.value };
}
