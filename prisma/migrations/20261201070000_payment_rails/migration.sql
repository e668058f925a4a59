-- Payment rails, phase 1 (issue 15): per-program provider connections, the
-- provider events their webhooks deliver, Stripe Connect as a payout method,
-- and payout methods verified with a provider.

-- AlterEnum (not used in this migration, so it may run inside its transaction)
ALTER TYPE "PayoutMethodType" ADD VALUE 'STRIPE';

-- CreateEnum
CREATE TYPE "PayoutMethodVerification" AS ENUM ('UNVERIFIED', 'VERIFIED');

-- CreateEnum
CREATE TYPE "PaymentProvider" AS ENUM ('PAYPAL', 'WISE', 'STRIPE');

-- CreateEnum
CREATE TYPE "PaymentProviderEnvironment" AS ENUM ('SANDBOX', 'LIVE');

-- CreateEnum
CREATE TYPE "PaymentProviderStatus" AS ENUM ('CONNECTED', 'DISCONNECTED');

-- CreateEnum
CREATE TYPE "ProviderEventKind" AS ENUM ('PAID', 'FAILED', 'RETURNED', 'UNCLAIMED');

-- AlterTable
ALTER TABLE "payout_methods" ADD COLUMN "verification_status" "PayoutMethodVerification" NOT NULL DEFAULT 'UNVERIFIED',
ADD COLUMN "verified_with" "PaymentProvider",
ADD COLUMN "verified_at" TIMESTAMPTZ(3),
ADD COLUMN "provider_recipient_id" TEXT;

-- CreateTable
CREATE TABLE "payment_provider_connections" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "provider" "PaymentProvider" NOT NULL,
    "environment" "PaymentProviderEnvironment" NOT NULL,
    "status" "PaymentProviderStatus" NOT NULL DEFAULT 'CONNECTED',
    "credentials" TEXT NOT NULL,
    "account_label" TEXT NOT NULL,
    "connected_by" TEXT NOT NULL,
    "connected_at" TIMESTAMPTZ(3) NOT NULL,
    "disconnected_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "payment_provider_connections_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "provider_events" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "connection_id" UUID NOT NULL,
    "provider" "PaymentProvider" NOT NULL,
    "event_id" TEXT NOT NULL,
    "kind" "ProviderEventKind" NOT NULL,
    "subject" TEXT NOT NULL,
    "transfer_id" TEXT NOT NULL,
    "reference" TEXT,
    "batch_id" TEXT,
    "account" TEXT,
    "reason" TEXT,
    "amount" DECIMAL(19,4),
    "currency" CHAR(3),
    "provider_type" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processed_at" TIMESTAMPTZ(3),
    "processing_error" TEXT,

    CONSTRAINT "provider_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "payment_provider_connections_program_id_provider_key" ON "payment_provider_connections"("program_id", "provider");

-- CreateIndex
CREATE UNIQUE INDEX "provider_events_program_id_provider_event_id_key" ON "provider_events"("program_id", "provider", "event_id");

-- CreateIndex
CREATE INDEX "provider_events_program_id_processed_at_occurred_at_idx" ON "provider_events"("program_id", "processed_at", "occurred_at");

-- CreateIndex
CREATE INDEX "provider_events_program_id_transfer_id_idx" ON "provider_events"("program_id", "transfer_id");

-- CreateIndex
CREATE INDEX "provider_events_connection_id_idx" ON "provider_events"("connection_id");

-- AddForeignKey
ALTER TABLE "payment_provider_connections" ADD CONSTRAINT "payment_provider_connections_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "provider_events" ADD CONSTRAINT "provider_events_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "provider_events" ADD CONSTRAINT "provider_events_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "payment_provider_connections"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
