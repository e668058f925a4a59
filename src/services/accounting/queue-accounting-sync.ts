import { fail, type Result } from "../../domain/errors.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";
import { enqueueAccountingSync } from "./enqueue.ts";

/**
 * Queues approved and paid payouts for the accounting system (and cancelled
 * ones whose bill is still there): the named ones, or every one not yet
 * booked (a backlog after connecting). Failed ones are retried from the
 * start. Returns the ids queued. Errors: NOT_CONNECTED.
 */
export function queueAccountingSync(deps: ServiceDeps, actor: Actor, payoutIds: string[] | null): Promise<Result<string[]>> {
  return transact(deps, actor, async (tx) => {
    const connection = await tx.db.accountingConnection.findUnique({ where: { programId: tx.programId }, select: { status: true } });
    if (connection?.status !== "CONNECTED") fail("NOT_CONNECTED", "QuickBooks is not connected");
    const candidates = await tx.db.payout.findMany({
      where: {
        OR: [
          { status: { in: ["APPROVED", "PAID"] }, accountingSyncStatus: { in: ["NOT_SYNCED", "FAILED", "BILLED"] } },
          // Cancelled with a bill (or a failed sync that may have left one): the bill is to be deleted.
          { status: "CANCELLED", accountingSyncStatus: { in: ["FAILED", "BILLED"] } },
        ],
        ...(payoutIds ? { id: { in: payoutIds } } : {}),
      },
      select: { id: true },
    });
    const ids = candidates.map((p) => p.id);
    await enqueueAccountingSync(tx, ids);
    if (ids.length > 0) await audit(tx, { action: "accounting.sync_requested", entityType: "Program", entityId: tx.programId, after: { payouts: ids.length } });
    return ids;
  });
}
