-- Work queued again for a subject while its job runs: the job runs once more instead of being marked done.
ALTER TABLE "outbox_jobs" ADD COLUMN "requeued" BOOLEAN NOT NULL DEFAULT false;
