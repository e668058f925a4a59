import { builder } from "../builder.ts";

interface ScheduledTaskRow {
  task: string;
  failures: bigint;
  lastFailedAt: Date | null;
  lastError: string | null;
  lastSucceededAt: Date | null;
}

const ScheduledTask = builder.objectRef<ScheduledTaskRow>("ScheduledTask").implement({
  description: "A kind of scheduled work (hold releases, scheduled payout runs, accounting outbox and poll), summed over every server instance and worker.",
  fields: (t) => ({
    task: t.exposeString("task", { description: "releaseHolds, scheduledPayouts, outbox, paymentRails or accountingPoll." }),
    failures: t.int({
      description: "Runs that failed since the database was created. Each failure is also logged, with its details.",
      resolve: (row) => Number(row.failures),
    }),
    lastFailedAt: t.field({ type: "DateTime", nullable: true, resolve: (row) => row.lastFailedAt }),
    lastError: t.string({
      nullable: true,
      description: "The last failure as a code (SERVICE_UNAVAILABLE when the database was out of reach, INTERNAL_ERROR otherwise) and the error's class; the logs have the rest.",
      resolve: (row) => row.lastError,
    }),
    lastSucceededAt: t.field({
      type: "DateTime",
      nullable: true,
      description: "The last run that ended without error (written at most once a minute, and at once after a failure).",
      resolve: (row) => row.lastSucceededAt,
    }),
  }),
});

builder.queryFields((t) => ({
  scheduledTasks: t.field({
    type: [ScheduledTask],
    description: "How scheduled work has gone, for operators of the platform (platform role): failures are counted here, not only logged.",
    authScopes: { platform: true },
    // System bookkeeping, not a program's: read unscoped, by the platform role alone.
    resolve: (_root, _args, ctx) => ctx.deps.prisma.scheduledTaskRun.findMany({ orderBy: { task: "asc" } }),
  }),
}));
