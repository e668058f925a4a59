import type { Tx } from "../transact.ts";

export const SYNC_PAYOUT = "accounting.sync_payout";
export const CHECK_BILL_PAYMENT = "accounting.bill_payment";
export const REMOVE_BILL = "accounting.remove_bill";

/**
 * Queues work for the outbox worker in the caller's transaction, so it
 * exists if and only if the change that needs it committed. A subject has at
 * most one pending job (a partial unique index); queueing again marks it
 * requeued, so that a job running at that moment (which read the subject
 * before this change) runs once more instead of being marked done.
 */
export async function enqueue(tx: Tx, kind: string, subjectIds: string[], at: Date = tx.now): Promise<void> {
  if (subjectIds.length === 0) return;
  await tx.db.$executeRaw`
    INSERT INTO outbox_jobs (id, program_id, kind, subject_id, status, attempts, next_attempt_at, created_at, updated_at)
    SELECT gen_random_uuid(), ${tx.programId}::uuid, ${kind}, s.id, 'PENDING', 0, ${at}, ${tx.now}, ${tx.now}
      FROM unnest(${subjectIds}::text[]) AS s(id)
    ON CONFLICT (program_id, kind, subject_id) WHERE status = 'PENDING' DO UPDATE SET requeued = true`;
}

/**
 * Payouts whose state the accounting system should follow, when the program
 * has one connected: approved ones become bills, paid ones bill payments
 * (`SYNC_PAYOUT`), and cancelled ones whose bill exists have it deleted
 * (`REMOVE_BILL`, its own job kind so that it never folds into a sync job
 * still running for the same payout). The payouts show PENDING. Returns how
 * many were queued.
 */
export async function enqueueAccountingSync(tx: Tx, payoutIds: string[]): Promise<number> {
  if (payoutIds.length === 0) return 0;
  const connection = await tx.db.accountingConnection.findUnique({ where: { programId: tx.programId }, select: { status: true } });
  if (connection?.status !== "CONNECTED") return 0;
  const due = await tx.db.payout.findMany({
    where: { id: { in: payoutIds }, accountingBillPaymentId: null },
    select: { id: true, status: true, accountingBillId: true, accountingSyncStatus: true },
  });
  const sync = due.filter((p) => p.status === "PAID" || (p.status === "APPROVED" && !p.accountingBillId)).map((p) => p.id);
  // A cancelled payout has a bill to delete when we know of one, or may have
  // one we never heard back about when a sync was under way (PENDING, FAILED).
  const mayHaveBill = (p: (typeof due)[number]) =>
    p.accountingBillId ? p.accountingSyncStatus !== "REMOVED" : p.accountingSyncStatus === "PENDING" || p.accountingSyncStatus === "FAILED";
  // A payout a provider failed is undone as a cancelled one is: nothing was paid.
  const remove = due.filter((p) => (p.status === "CANCELLED" || p.status === "FAILED") && mayHaveBill(p)).map((p) => p.id);
  const ids = [...sync, ...remove];
  if (ids.length === 0) return 0;
  await tx.db.payout.updateMany({ where: { id: { in: ids } }, data: { accountingSyncStatus: "PENDING", accountingSyncError: null } });
  await enqueue(tx, SYNC_PAYOUT, sync);
  await enqueue(tx, REMOVE_BILL, remove);
  return ids.length;
}
