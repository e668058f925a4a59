-- Payout runs as stored records (issue 15): what a run drafted and skipped,
-- and which payouts it drafted; its totals are read from those payouts.

-- CreateEnum
CREATE TYPE "PayoutRunTrigger" AS ENUM ('OPERATOR', 'SCHEDULE');

-- CreateTable
CREATE TABLE "payout_runs" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "trigger" "PayoutRunTrigger" NOT NULL,
    "payable_before" TIMESTAMPTZ(3) NOT NULL,
    "idempotency_key" TEXT,
    "skipped" JSONB NOT NULL DEFAULT '[]',
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "payout_runs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "payout_runs_program_id_id_key" ON "payout_runs"("program_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "payout_runs_program_id_trigger_idempotency_key_key" ON "payout_runs"("program_id", "trigger", "idempotency_key");

-- AddForeignKey
ALTER TABLE "payout_runs" ADD CONSTRAINT "payout_runs_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AlterTable
ALTER TABLE "payouts" ADD COLUMN "run_id" UUID;

-- CreateIndex
CREATE INDEX "payouts_program_id_run_id_idx" ON "payouts"("program_id", "run_id");

-- AddForeignKey: a payout points only at a run of its own program.
ALTER TABLE "payouts" ADD CONSTRAINT "payouts_program_id_run_id_fkey" FOREIGN KEY ("program_id", "run_id") REFERENCES "payout_runs"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;
