-- CreateEnum
CREATE TYPE "AccountingSyncStatus" AS ENUM ('NOT_SYNCED', 'PENDING', 'BILLED', 'PAID', 'FAILED');

-- CreateEnum
CREATE TYPE "AccountingConnectionStatus" AS ENUM ('CONNECTED', 'DISCONNECTED');

-- CreateEnum
CREATE TYPE "OutboxStatus" AS ENUM ('PENDING', 'DONE', 'FAILED');

-- AlterTable
ALTER TABLE "programs" ADD COLUMN     "last_scheduled_run_on" DATE;

-- AlterTable
ALTER TABLE "partners" ADD COLUMN     "accounting_vendor_id" TEXT,
ADD COLUMN     "accounting_vendor_name" TEXT;

-- AlterTable
ALTER TABLE "payouts" ADD COLUMN     "accounting_bill_id" TEXT,
ADD COLUMN     "accounting_bill_payment_id" TEXT,
ADD COLUMN     "accounting_sync_error" TEXT,
ADD COLUMN     "accounting_sync_status" "AccountingSyncStatus" NOT NULL DEFAULT 'NOT_SYNCED',
ADD COLUMN     "accounting_synced_at" TIMESTAMPTZ(3),
ADD COLUMN     "accounting_vendor_credit_id" TEXT;

-- CreateTable
CREATE TABLE "accounting_connections" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "provider" TEXT NOT NULL,
    "status" "AccountingConnectionStatus" NOT NULL DEFAULT 'CONNECTED',
    "realm_id" TEXT NOT NULL,
    "access_token" TEXT NOT NULL,
    "refresh_token" TEXT NOT NULL,
    "access_token_expires_at" TIMESTAMPTZ(3) NOT NULL,
    "refresh_token_expires_at" TIMESTAMPTZ(3),
    "expense_account_id" TEXT NOT NULL,
    "bank_account_id" TEXT,
    "changes_checked_at" TIMESTAMPTZ(3),
    "connected_by" TEXT NOT NULL,
    "connected_at" TIMESTAMPTZ(3) NOT NULL,
    "disconnected_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "accounting_connections_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbox_jobs" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "subject_id" TEXT NOT NULL,
    "status" "OutboxStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL,
    "lease_until" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "outbox_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "accounting_connections_program_id_key" ON "accounting_connections"("program_id");

-- CreateIndex
CREATE INDEX "accounting_connections_realm_id_idx" ON "accounting_connections"("realm_id");

-- CreateIndex
CREATE INDEX "outbox_jobs_status_next_attempt_at_idx" ON "outbox_jobs"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "outbox_jobs_program_id_subject_id_idx" ON "outbox_jobs"("program_id", "subject_id");

-- CreateIndex
CREATE INDEX "payouts_program_id_accounting_bill_id_idx" ON "payouts"("program_id", "accounting_bill_id");

-- AddForeignKey
ALTER TABLE "accounting_connections" ADD CONSTRAINT "accounting_connections_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outbox_jobs" ADD CONSTRAINT "outbox_jobs_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- One pending job per subject: enqueueing twice (an approval, then a backlog
-- sync) keeps the first.
CREATE UNIQUE INDEX "outbox_jobs_pending_subject_key" ON "outbox_jobs"("program_id", "kind", "subject_id") WHERE "status" = 'PENDING';
