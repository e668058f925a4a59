import type { Database } from "../db/database.ts";
import type { QuickBooksClient } from "../integrations/quickbooks/client.ts";
import { pollBillPayments } from "../integrations/quickbooks/payment-sync.ts";
import type { ServiceDeps } from "../services/deps.ts";
import { applyProviderEvents, pollTransfers } from "../services/payment-providers/apply-provider-events.ts";
import { reconcileProviderPayouts } from "../services/payment-providers/reconcile-provider-payouts.ts";
import { deliverOutbox } from "./outbox.ts";
import { releaseHolds } from "./release-holds.ts";
import { runScheduledPayouts } from "./scheduled-payout-runs.ts";
import { createTaskRecord } from "./task-record.ts";

/** One advisory lock key per task: any constant works, every instance uses the same. */
const LOCKS = {
  releaseHolds: 72_616_401,
  scheduledPayouts: 72_616_402,
  outbox: 72_616_403,
  accountingPoll: 72_616_404,
  paymentRails: 72_616_405,
  providerReconciliation: 72_616_406,
} as const;
type Task = keyof typeof LOCKS;

/**
 * Scheduled work: hold releases, scheduled payout runs, outbox delivery,
 * provider news for payouts sent through a payment rail, and the accounting
 * change poll. Each task runs on one instance at a time: on
 * PostgreSQL it holds a transaction-level advisory lock
 * (pg_try_advisory_xact_lock) for its whole run, in a transaction of its own
 * (a session lock through the pool could be released on another
 * connection); an instance that does not get the lock skips the turn. The
 * embedded database has one owner, the process, where a mutex does.
 */
/** How long a task may hold its advisory lock (see exclusive). */
const LOCK_HOLD_MS = 60 * 60_000;

export function createScheduler(options: { deps: ServiceDeps; db: Database; qbo: QuickBooksClient; intervalMs: number; accountingPollMs: number }) {
  const { deps, db, qbo } = options;
  const running = new Set<Task>();
  let lastPoll = 0;
  let timer: NodeJS.Timeout | undefined;
  let tick: Promise<void> | undefined;

  async function exclusive<T>(task: Task, work: () => Promise<T>): Promise<T | undefined> {
    if (running.has(task)) return undefined;
    running.add(task);
    try {
      if (db.kind === "pglite") return await work();
      let result: T | undefined;
      await deps.prisma.$transaction(
        async (tx) => {
          const [row] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(${LOCKS[task]}) AS locked`;
          if (!row?.locked) return;
          result = await work();
        },
        // The lock lives as long as this transaction, which Prisma ends at its
        // timeout whether or not the work is done: long enough for a scheduled
        // run over a large program (the outbox bounds its own batches by lease).
        { timeout: LOCK_HOLD_MS, maxWait: 10_000 },
      );
      return result;
    } finally {
      running.delete(task);
    }
  }

  // Each task's outcome is counted (failures() here, scheduled_task_runs for operators).
  const record = createTaskRecord(deps);
  const tasks = record.trackAll({
    releaseHolds: () => exclusive("releaseHolds", () => releaseHolds(deps)),
    scheduledPayouts: () => exclusive("scheduledPayouts", () => runScheduledPayouts(deps)),
    outbox: () => exclusive("outbox", () => deliverOutbox({ deps, qbo })),
    // Provider news (stored webhooks, then a lookup of transfers with none for an hour) moves payouts sent through a provider.
    paymentRails: () => exclusive("paymentRails", async () => (await applyProviderEvents(deps)) + (await pollTransfers(deps))),
    // PAID payouts compared with what their provider says it sent (once a day each); differences are shown, never corrected.
    providerReconciliation: () => exclusive("providerReconciliation", () => reconcileProviderPayouts(deps)),
    accountingPoll: () =>
      exclusive("accountingPoll", async () => {
        const connections = await deps.prisma.accountingConnection.findMany({ where: { status: "CONNECTED" }, select: { programId: true } });
        let marked = 0;
        for (const { programId } of connections) {
          try {
            marked += await pollBillPayments(deps, qbo, programId);
          } catch (error) {
            deps.logger.warn({ programId, err: (error as Error).message }, "accounting change poll failed; will ask again");
          }
        }
        return marked;
      }),
  });

  /** Every task once, in order (the tests drive time with this); one task failing never keeps the others from their turn. */
  async function runOnce(options: { poll?: boolean } = {}): Promise<void> {
    // The polls of other systems (accounting changes, provider reconciliation) run on the slower poll cadence.
    const order: (keyof typeof tasks)[] = [
      "releaseHolds",
      "scheduledPayouts",
      "outbox",
      "paymentRails",
      ...((options.poll ?? true) ? (["accountingPoll", "providerReconciliation"] as const) : []),
    ];
    for (const task of order) {
      try {
        await tasks[task]();
      } catch (error) {
        deps.logger.error({ err: error, task }, "scheduled task failed; it runs again next tick");
      }
    }
  }

  return {
    tasks,
    runOnce,
    /** Tasks that failed in this process since it started (tests assert there are none). */
    failures: () => record.failures(),
    start() {
      timer = setInterval(() => {
        if (tick) return;
        const poll = Date.now() - lastPoll >= options.accountingPollMs;
        if (poll) lastPoll = Date.now();
        tick = runOnce({ poll })
          .catch((error: unknown) => deps.logger.error({ err: error }, "scheduled work failed"))
          .finally(() => {
            tick = undefined;
          });
      }, options.intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await tick;
      await record.settled();
    },
  };
}

export type Scheduler = ReturnType<typeof createScheduler>;
