-- Payment rails, phase 2 (issue 15): payouts sent through a provider and
-- followed until they land. New payout states, who approved and who sent
-- (dual control), the provider's reasons, and one row per send attempt whose
-- idempotency keys are stored before any request leaves.

-- AlterEnum (the new values are not used in this migration, so it may run inside its transaction)
ALTER TYPE "PayoutStatus" ADD VALUE 'PROCESSING';
ALTER TYPE "PayoutStatus" ADD VALUE 'FAILED';
ALTER TYPE "PayoutStatus" ADD VALUE 'RETURNED';

-- CreateEnum
CREATE TYPE "PayoutTransferStatus" AS ENUM ('PENDING', 'PROCESSING', 'PAID', 'FAILED', 'UNCLAIMED', 'RETURNED');

-- AlterTable
ALTER TABLE "programs" ADD COLUMN "dual_control_above" DECIMAL(19,4);

-- AlterTable
ALTER TABLE "payouts" ADD COLUMN "approved_by" TEXT,
ADD COLUMN "sent_by" TEXT,
ADD COLUMN "sent_at" TIMESTAMPTZ(3),
ADD COLUMN "failed_at" TIMESTAMPTZ(3),
ADD COLUMN "failure_reason" TEXT,
ADD COLUMN "returned_at" TIMESTAMPTZ(3),
ADD COLUMN "provider_note" TEXT;

-- CreateTable
CREATE TABLE "payout_transfers" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "payout_id" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "provider" "PaymentProvider" NOT NULL,
    "connection_id" UUID NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "batch_key" TEXT NOT NULL,
    "amount" DECIMAL(19,4) NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "recipient" JSONB NOT NULL,
    "provider_transfer_id" TEXT,
    "provider_batch_id" TEXT,
    "status" "PayoutTransferStatus" NOT NULL DEFAULT 'PENDING',
    "reason" TEXT,
    "fee" DECIMAL(19,4),
    "fee_currency" CHAR(3),
    "sent_amount" DECIMAL(19,4),
    "sent_currency" CHAR(3),
    "rate" DECIMAL(19,8),
    "last_event_at" TIMESTAMPTZ(3),
    "checked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "payout_transfers_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "payout_transfers_program_id_idempotency_key_key" ON "payout_transfers"("program_id", "idempotency_key");

-- CreateIndex
CREATE UNIQUE INDEX "payout_transfers_payout_id_attempt_key" ON "payout_transfers"("payout_id", "attempt");

-- CreateIndex
CREATE INDEX "payout_transfers_program_id_batch_key_idx" ON "payout_transfers"("program_id", "batch_key");

-- CreateIndex
CREATE INDEX "payout_transfers_program_id_provider_provider_transfer_id_idx" ON "payout_transfers"("program_id", "provider", "provider_transfer_id");

-- AddForeignKey
ALTER TABLE "payout_transfers" ADD CONSTRAINT "payout_transfers_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "payout_transfers" ADD CONSTRAINT "payout_transfers_payout_id_fkey" FOREIGN KEY ("payout_id") REFERENCES "payouts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
