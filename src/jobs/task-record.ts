import { expectedFailure } from "../graphql/error-codes.ts";
import type { ServiceDeps } from "../services/deps.ts";

/** A success is written at most this often per task (a heartbeat); failures always are. */
const SUCCESS_WRITE_EVERY_MS = 60_000;

/** A task's failures in this process, for tests and logs. */
export interface TaskFailure {
  task: string;
  count: number;
  lastError: string;
}

interface Pending {
  failures: number;
  lastFailedAt?: Date;
  lastError?: string;
  lastSucceededAt?: Date;
}

/**
 * What a failed task is called where operators read it: the code clients
 * would get for it and the error's class, never its message (SQL, values);
 * the logs have the rest.
 */
export function describeTaskError(error: unknown): string {
  const name = error instanceof Error ? error.name : typeof error;
  return `${expectedFailure(error)?.code ?? "INTERNAL_ERROR"} (${name})`;
}

/**
 * Counts scheduled tasks' failures, in this process (`failures()`) and in
 * scheduled_task_runs, summed over every instance and worker, where the
 * platform role reads them (scheduledTasks). A task's error still reaches
 * its caller; this only records it. A write that fails (the database being
 * what failed) is kept and added to the next one.
 */
export function createTaskRecord(deps: Pick<ServiceDeps, "prisma" | "logger">) {
  const local = new Map<string, TaskFailure>();
  const pending = new Map<string, Pending>();
  const lastWrittenSuccess = new Map<string, number>();
  /** Tasks whose latest run here failed: their next success is written at once. */
  const failing = new Set<string>();
  let writing: Promise<void> = Promise.resolve();

  async function write(task: string): Promise<void> {
    const entry = pending.get(task);
    if (!entry) return;
    pending.delete(task);
    try {
      await deps.prisma.$executeRaw`
        INSERT INTO scheduled_task_runs (task, failures, last_failed_at, last_error, last_succeeded_at)
        VALUES (${task}, ${entry.failures}, ${entry.lastFailedAt ?? null}, ${entry.lastError ?? null}, ${entry.lastSucceededAt ?? null})
        ON CONFLICT (task) DO UPDATE SET
          failures = scheduled_task_runs.failures + EXCLUDED.failures,
          last_failed_at = coalesce(EXCLUDED.last_failed_at, scheduled_task_runs.last_failed_at),
          last_error = coalesce(EXCLUDED.last_error, scheduled_task_runs.last_error),
          last_succeeded_at = coalesce(EXCLUDED.last_succeeded_at, scheduled_task_runs.last_succeeded_at)`;
      if (entry.lastSucceededAt) lastWrittenSuccess.set(task, entry.lastSucceededAt.getTime());
    } catch (error) {
      // Kept for the next write: the counts reach the table once the database is back.
      const next = pending.get(task);
      pending.set(task, {
        failures: entry.failures + (next?.failures ?? 0),
        lastFailedAt: next?.lastFailedAt ?? entry.lastFailedAt,
        lastError: next?.lastError ?? entry.lastError,
        lastSucceededAt: next?.lastSucceededAt ?? entry.lastSucceededAt,
      });
      deps.logger.warn({ task, err: describeTaskError(error) }, "could not record a scheduled task's outcome; will add it to the next record");
    }
  }

  function note(task: string, error: unknown | undefined): void {
    const now = new Date();
    const entry = pending.get(task) ?? { failures: 0 };
    if (error === undefined) {
      entry.lastSucceededAt = now;
      const recovered = failing.delete(task);
      if (!recovered && now.getTime() - (lastWrittenSuccess.get(task) ?? 0) < SUCCESS_WRITE_EVERY_MS) {
        pending.set(task, entry);
        return;
      }
    } else {
      const lastError = describeTaskError(error);
      entry.failures += 1;
      entry.lastFailedAt = now;
      entry.lastError = lastError;
      failing.add(task);
      const mine = local.get(task) ?? { task, count: 0, lastError };
      local.set(task, { task, count: mine.count + 1, lastError });
    }
    pending.set(task, entry);
    writing = writing.then(() => write(task));
  }

  return {
    /** Runs `work` as `task`, recording its outcome; its result or error passes through. */
    async track<T>(task: string, work: () => Promise<T>): Promise<T> {
      let result: T;
      try {
        result = await work();
      } catch (error) {
        note(task, error);
        throw error;
      }
      note(task, undefined);
      return result;
    },
    /** Wraps every task of `tasks` in track(), under its key. */
    trackAll<Tasks extends Record<string, () => Promise<unknown>>>(tasks: Tasks): Tasks {
      return Object.fromEntries(Object.entries(tasks).map(([task, work]) => [task, () => this.track(task, work)])) as Tasks;
    },
    /** This process's failures since it started. */
    failures(): TaskFailure[] {
      return [...local.values()];
    },
    /** Waits for the records being written. */
    settled(): Promise<void> {
      return writing;
    },
  };
}

export type TaskRecord = ReturnType<typeof createTaskRecord>;
