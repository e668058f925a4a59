import type { OutboxJob } from "../generated/prisma/client.ts";
import { QuickBooksError, type QuickBooksClient } from "../integrations/quickbooks/client.ts";
import { checkBillPayment } from "../integrations/quickbooks/payment-sync.ts";
import { removeBill, syncPayout } from "../integrations/quickbooks/sync-payout.ts";
import { PaymentProviderError } from "../integrations/payments/provider-error.ts";
import { CHECK_BILL_PAYMENT, REMOVE_BILL, SYNC_PAYOUT } from "../services/accounting/enqueue.ts";
import { audit } from "../services/audit.ts";
import type { ServiceDeps } from "../services/deps.ts";
import { transact } from "../services/transact.ts";
import { SEND_TRANSFERS } from "../services/payment-providers/send-payouts.ts";
import { giveUpOnBatch, sendTransfers } from "../services/payment-providers/send-transfers.ts";

export const MAX_ATTEMPTS = 10;
const BASE_DELAY_MS = 30_000;
const MAX_DELAY_MS = 60 * 60_000;
/** A worker holds a claimed job this long; a crashed worker's job is taken again after. */
const LEASE_MS = 5 * 60_000;
/** A claimed job is started only while this much of its lease is left (a job's few QuickBooks calls fit well inside). */
const LEASE_MARGIN_MS = 2 * 60_000;

/**
 * Exponential backoff with jitter (each wait between half and one and a half
 * of base·2^(attempt−1), at most an hour), or what QuickBooks asked for with
 * Retry-After when that is longer.
 */
export function retryDelayMs(attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const exponential = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(exponential * (0.5 + random()));
  return Math.max(jittered, retryAfterMs ?? 0);
}

export interface OutboxContext {
  deps: ServiceDeps;
  qbo: QuickBooksClient;
}

async function run(ctx: OutboxContext, job: OutboxJob): Promise<void> {
  switch (job.kind) {
    case SYNC_PAYOUT:
      return syncPayout(ctx, job.programId, job.subjectId);
    case REMOVE_BILL:
      return removeBill(ctx, job.programId, job.subjectId);
    case CHECK_BILL_PAYMENT:
      return checkBillPayment(ctx.deps, ctx.qbo, job.programId, job.subjectId);
    case SEND_TRANSFERS:
      return sendTransfers(ctx.deps, job.programId, job.subjectId);
    default:
      throw new QuickBooksError(`unknown job kind ${job.kind}`, "permanent");
  }
}

/**
 * Claims due jobs (FOR UPDATE SKIP LOCKED, with a lease, so two workers never
 * take the same one) and runs them outside any transaction: a retryable
 * failure (QuickBooks down, 429, 5xx, a timeout) is tried again later with
 * backoff; a permanent one (a validation fault) stops the job and shows the
 * reason on the payout and in the audit trail, for an operator to retry.
 */
export async function deliverOutbox(ctx: OutboxContext, limit = 20): Promise<{ done: number; retried: number; failed: number }> {
  const { deps } = ctx;
  const now = deps.clock.now();
  const leaseUntil = now.getTime() + LEASE_MS;
  const jobs = await deps.prisma.$queryRaw<OutboxJob[]>`
    UPDATE outbox_jobs AS j SET lease_until = ${new Date(leaseUntil)}, attempts = j.attempts + 1, requeued = false, updated_at = ${now}
     WHERE j.id IN (
       SELECT id FROM outbox_jobs
        WHERE status = 'PENDING' AND next_attempt_at <= ${now} AND (lease_until IS NULL OR lease_until < ${now})
        ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
    RETURNING j.id::text AS id, j.program_id::text AS "programId", j.kind, j.subject_id AS "subjectId", j.attempts`;
  const outcome = { done: 0, retried: 0, failed: 0 };
  for (const [index, job] of jobs.entries()) {
    if (deps.clock.now().getTime() > leaseUntil - LEASE_MARGIN_MS) {
      // The batch ran long: the rest would run on leases about to lapse, when
      // another worker may take them too. Hand them back, untried, for the next round.
      const rest = jobs.slice(index).map((j) => j.id);
      await deps.prisma.$executeRaw`
        UPDATE outbox_jobs SET lease_until = NULL, attempts = attempts - 1 WHERE id = ANY(${rest}::uuid[]) AND status = 'PENDING'`;
      break;
    }
    try {
      await run(ctx, job);
      // Done, unless its subject was queued again while it ran: then it runs once more, now.
      await deps.prisma.$executeRaw`
        UPDATE outbox_jobs SET status = CASE WHEN requeued THEN 'PENDING'::"OutboxStatus" ELSE 'DONE'::"OutboxStatus" END,
               next_attempt_at = CASE WHEN requeued THEN ${deps.clock.now()} ELSE next_attempt_at END,
               attempts = CASE WHEN requeued THEN 0 ELSE attempts END,
               requeued = false, lease_until = NULL, last_error = NULL, updated_at = ${deps.clock.now()}
         WHERE id = ${job.id}::uuid`;
      outcome.done += 1;
    } catch (error) {
      // QuickBooks and the payment rails say alike whether a failure is worth retrying.
      const known = error instanceof QuickBooksError || error instanceof PaymentProviderError ? error : null;
      const message = known ? known.message : "unexpected error";
      if (!known) deps.logger.error({ err: error, job: job.id }, "outbox job failed unexpectedly");
      const retry = (!known || known.kind !== "permanent") && job.attempts < MAX_ATTEMPTS;
      if (retry) {
        const delay = retryDelayMs(job.attempts, known?.retryAfterMs);
        await deps.prisma.outboxJob.update({
          where: { id: job.id },
          data: { leaseUntil: null, lastError: message, nextAttemptAt: new Date(deps.clock.now().getTime() + delay) },
        });
        deps.logger.warn({ job: job.id, kind: job.kind, attempt: job.attempts, retryInMs: delay, reason: message }, "outbox job will be retried");
        outcome.retried += 1;
      } else {
        await fail(ctx, job, message, known?.kind === "permanent" || known?.kind === "unauthorized");
        outcome.failed += 1;
      }
    }
  }
  return outcome;
}

async function fail(ctx: OutboxContext, job: OutboxJob, message: string, refused: boolean): Promise<void> {
  const { deps } = ctx;
  if (job.kind === SEND_TRANSFERS) await giveUpOnBatch(deps, job.programId, job.subjectId, message, refused);
  await transact(deps, { role: "system", id: "accounting-sync", programId: job.programId }, async (tx) => {
    await tx.db.outboxJob.update({ where: { id: job.id }, data: { status: "FAILED", leaseUntil: null, lastError: message } });
    if (job.kind === SYNC_PAYOUT || job.kind === REMOVE_BILL) {
      await tx.db.payout.updateMany({ where: { id: job.subjectId }, data: { accountingSyncStatus: "FAILED", accountingSyncError: message } });
      await audit(tx, { action: "payout.accounting_sync_failed", entityType: "Payout", entityId: job.subjectId, after: { attempts: job.attempts }, reason: message });
    }
  });
  deps.logger.warn({ job: job.id, kind: job.kind, reason: message }, "outbox job failed for good");
}
