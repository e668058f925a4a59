-- Scheduled work's outcome per task, summed over every server instance and worker, so a
-- failing task is counted where operators can read it (the platform role's scheduledTasks),
-- not only logged. System bookkeeping: it belongs to no program.
CREATE TABLE "scheduled_task_runs" (
    "task" TEXT NOT NULL,
    "failures" BIGINT NOT NULL DEFAULT 0,
    "last_failed_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "last_succeeded_at" TIMESTAMPTZ(3),

    CONSTRAINT "scheduled_task_runs_pkey" PRIMARY KEY ("task")
);
