
-- CreateEnum
CREATE TYPE "ApprovalMode" AS ENUM ('MANUAL', 'AUTOMATIC');

-- CreateEnum
CREATE TYPE "PayoutFrequency" AS ENUM ('ON_DEMAND', 'WEEKLY', 'BIWEEKLY', 'MONTHLY');

-- CreateEnum
CREATE TYPE "PartnerStatus" AS ENUM ('ACTIVE', 'SUSPENDED', 'ARCHIVED');

-- CreateEnum
CREATE TYPE "PayoutMethodType" AS ENUM ('PAYPAL', 'WISE', 'BANK_TRANSFER', 'ACH', 'WIRE', 'CHECK', 'VENMO', 'ZELLE', 'STORE_CREDIT', 'OTHER');

-- CreateEnum
CREATE TYPE "BillingEntityType" AS ENUM ('INDIVIDUAL', 'COMPANY');

-- CreateEnum
CREATE TYPE "TaxForm" AS ENUM ('W9', 'W8BEN', 'W8BEN_E');

-- CreateEnum
CREATE TYPE "ReversalKind" AS ENUM ('REFUND', 'CHARGEBACK');

-- CreateEnum
CREATE TYPE "CommissionKind" AS ENUM ('CONVERSION', 'ADJUSTMENT', 'CREDIT', 'REVERSAL', 'CLAWBACK', 'WRITE_OFF');

-- CreateEnum
CREATE TYPE "CommissionStatus" AS ENUM ('PENDING', 'APPROVED', 'ON_HOLD', 'CANCELLED', 'PAID', 'REVERSED');

-- CreateEnum
CREATE TYPE "PayoutStatus" AS ENUM ('DRAFT', 'APPROVED', 'PAID', 'CANCELLED');

-- CreateTable
CREATE TABLE "programs" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "time_zone" TEXT NOT NULL DEFAULT 'UTC',
    "commission_rule" JSONB NOT NULL,
    "hold_period_days" INTEGER NOT NULL DEFAULT 30,
    "minimum_payout" DECIMAL(19,4) NOT NULL DEFAULT 0,
    "payout_frequency" "PayoutFrequency" NOT NULL DEFAULT 'ON_DEMAND',
    "payout_weekday" INTEGER,
    "payout_anchor_date" DATE,
    "payout_day_of_month" INTEGER,
    "approval_mode" "ApprovalMode" NOT NULL DEFAULT 'MANUAL',
    "allow_payout_requests" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "programs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "partners" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "external_id" TEXT,
    "email" TEXT,
    "name" TEXT NOT NULL,
    "status" "PartnerStatus" NOT NULL DEFAULT 'ACTIVE',
    "country" CHAR(2),
    "commission_rule_override" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "partners_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "payout_methods" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "partner_id" UUID NOT NULL,
    "type" "PayoutMethodType" NOT NULL,
    "details" JSONB NOT NULL,
    "secret" TEXT,
    "secret_last4" TEXT,
    "currency" CHAR(3),
    "is_default" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "payout_methods_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "billing_profiles" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "partner_id" UUID NOT NULL,
    "entity_type" "BillingEntityType" NOT NULL,
    "legal_name" TEXT NOT NULL,
    "tax_id" TEXT,
    "tax_id_last4" TEXT,
    "vat_id" TEXT,
    "address_line1" TEXT,
    "address_line2" TEXT,
    "city" TEXT,
    "region" TEXT,
    "postal_code" TEXT,
    "country" CHAR(2) NOT NULL,
    "tax_form" "TaxForm",
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "billing_profiles_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "conversions" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "external_id" TEXT NOT NULL,
    "amount" DECIMAL(19,4) NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "exchange_rate" DECIMAL(24,10),
    "program_amount" DECIMAL(19,4) NOT NULL,
    "reversed_amount" DECIMAL(19,4) NOT NULL DEFAULT 0,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "metadata" JSONB,
    "content_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "conversions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "reversals" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "conversion_id" UUID NOT NULL,
    "external_id" TEXT NOT NULL,
    "kind" "ReversalKind" NOT NULL,
    "amount" DECIMAL(19,4) NOT NULL,
    "reason" TEXT,
    "content_hash" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reversals_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "commissions" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "partner_id" UUID NOT NULL,
    "conversion_id" UUID,
    "reversal_id" UUID,
    "related_id" UUID,
    "kind" "CommissionKind" NOT NULL,
    "status" "CommissionStatus" NOT NULL,
    "amount" DECIMAL(19,4) NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "rule" JSONB,
    "tier_sequence" INTEGER,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "payable_at" TIMESTAMPTZ(3) NOT NULL,
    "matured" BOOLEAN NOT NULL DEFAULT false,
    "held_from_status" "CommissionStatus",
    "reason_code" TEXT,
    "note" TEXT,
    "created_by" TEXT NOT NULL,
    "paid_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "commissions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "balances" (
    "partner_id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "pending" DECIMAL(19,4) NOT NULL DEFAULT 0,
    "payable" DECIMAL(19,4) NOT NULL DEFAULT 0,
    "in_payouts" DECIMAL(19,4) NOT NULL DEFAULT 0,
    "paid" DECIMAL(19,4) NOT NULL DEFAULT 0,
    "lifetime_earned" DECIMAL(19,4) NOT NULL DEFAULT 0,
    "event_sequence" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "balances_pkey" PRIMARY KEY ("partner_id")
);

-- CreateTable
CREATE TABLE "payouts" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "partner_id" UUID NOT NULL,
    "status" "PayoutStatus" NOT NULL DEFAULT 'DRAFT',
    "amount" DECIMAL(19,4) NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "payable_before" TIMESTAMPTZ(3) NOT NULL,
    "minimum_override_reason" TEXT,
    "method" "PayoutMethodType",
    "reference" TEXT,
    "notes" TEXT,
    "sent_amount" DECIMAL(19,4),
    "sent_currency" CHAR(3),
    "fee" DECIMAL(19,4),
    "cancel_reason" TEXT,
    "created_by" TEXT NOT NULL,
    "approved_at" TIMESTAMPTZ(3),
    "paid_at" TIMESTAMPTZ(3),
    "cancelled_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "payouts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "payout_items" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "payout_id" UUID NOT NULL,
    "commission_id" UUID NOT NULL,
    "amount" DECIMAL(19,4) NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "payout_items_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "events" (
    "id" BIGSERIAL NOT NULL,
    "program_id" UUID NOT NULL,
    "partner_id" UUID,
    "partner_sequence" BIGINT,
    "type" TEXT NOT NULL,
    "entity_id" UUID NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_entries" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "actor_role" TEXT NOT NULL,
    "actor_id" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "entity_type" TEXT NOT NULL,
    "entity_id" UUID NOT NULL,
    "before" JSONB,
    "after" JSONB,
    "reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_entries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "idempotency_keys" (
    "program_id" UUID NOT NULL,
    "operation" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "response" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("program_id","operation","key")
);

-- CreateTable
CREATE TABLE "integration_tokens" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "scopes" TEXT[],
    "created_by" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "integration_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "programs_created_at_id_idx" ON "programs"("created_at", "id");

-- CreateIndex
CREATE INDEX "partners_program_id_created_at_id_idx" ON "partners"("program_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "partners_program_id_status_created_at_idx" ON "partners"("program_id", "status", "created_at");

-- CreateIndex
CREATE INDEX "partners_program_id_name_idx" ON "partners"("program_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "partners_program_id_external_id_key" ON "partners"("program_id", "external_id");

-- CreateIndex
CREATE UNIQUE INDEX "partners_program_id_email_key" ON "partners"("program_id", "email");

-- CreateIndex
CREATE INDEX "payout_methods_program_id_partner_id_idx" ON "payout_methods"("program_id", "partner_id");

-- CreateIndex
CREATE UNIQUE INDEX "billing_profiles_partner_id_key" ON "billing_profiles"("partner_id");

-- CreateIndex
CREATE INDEX "billing_profiles_program_id_idx" ON "billing_profiles"("program_id");

-- CreateIndex
CREATE INDEX "conversions_program_id_occurred_at_id_idx" ON "conversions"("program_id", "occurred_at", "id");

-- CreateIndex
CREATE INDEX "conversions_program_id_created_at_id_idx" ON "conversions"("program_id", "created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "conversions_program_id_external_id_key" ON "conversions"("program_id", "external_id");

-- CreateIndex
CREATE INDEX "reversals_program_id_conversion_id_idx" ON "reversals"("program_id", "conversion_id");

-- CreateIndex
CREATE UNIQUE INDEX "reversals_program_id_external_id_key" ON "reversals"("program_id", "external_id");

-- CreateIndex
CREATE INDEX "commissions_program_id_partner_id_created_at_id_idx" ON "commissions"("program_id", "partner_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "commissions_program_id_status_created_at_id_idx" ON "commissions"("program_id", "status", "created_at", "id");

-- CreateIndex
CREATE INDEX "commissions_program_id_created_at_id_idx" ON "commissions"("program_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "commissions_program_id_conversion_id_idx" ON "commissions"("program_id", "conversion_id");

-- CreateIndex
CREATE INDEX "commissions_program_id_partner_id_status_payable_at_idx" ON "commissions"("program_id", "partner_id", "status", "payable_at");

-- CreateIndex
CREATE INDEX "commissions_program_id_related_id_idx" ON "commissions"("program_id", "related_id");

-- CreateIndex
CREATE INDEX "balances_program_id_payable_idx" ON "balances"("program_id", "payable");

-- CreateIndex
CREATE INDEX "payouts_program_id_status_created_at_id_idx" ON "payouts"("program_id", "status", "created_at", "id");

-- CreateIndex
CREATE INDEX "payouts_program_id_partner_id_created_at_id_idx" ON "payouts"("program_id", "partner_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "payouts_program_id_created_at_id_idx" ON "payouts"("program_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "payouts_program_id_paid_at_idx" ON "payouts"("program_id", "paid_at");

-- CreateIndex
CREATE INDEX "payout_items_program_id_payout_id_idx" ON "payout_items"("program_id", "payout_id");

-- CreateIndex
CREATE INDEX "payout_items_commission_id_idx" ON "payout_items"("commission_id");

-- CreateIndex
CREATE INDEX "events_program_id_id_idx" ON "events"("program_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "events_partner_id_partner_sequence_key" ON "events"("partner_id", "partner_sequence");

-- CreateIndex
CREATE INDEX "audit_entries_program_id_entity_id_created_at_idx" ON "audit_entries"("program_id", "entity_id", "created_at");

-- CreateIndex
CREATE INDEX "audit_entries_program_id_created_at_id_idx" ON "audit_entries"("program_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "integration_tokens_program_id_created_at_idx" ON "integration_tokens"("program_id", "created_at");

-- AddForeignKey
ALTER TABLE "partners" ADD CONSTRAINT "partners_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "payout_methods" ADD CONSTRAINT "payout_methods_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "payout_methods" ADD CONSTRAINT "payout_methods_partner_id_fkey" FOREIGN KEY ("partner_id") REFERENCES "partners"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "billing_profiles" ADD CONSTRAINT "billing_profiles_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "billing_profiles" ADD CONSTRAINT "billing_profiles_partner_id_fkey" FOREIGN KEY ("partner_id") REFERENCES "partners"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "conversions" ADD CONSTRAINT "conversions_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reversals" ADD CONSTRAINT "reversals_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reversals" ADD CONSTRAINT "reversals_conversion_id_fkey" FOREIGN KEY ("conversion_id") REFERENCES "conversions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "commissions" ADD CONSTRAINT "commissions_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "commissions" ADD CONSTRAINT "commissions_partner_id_fkey" FOREIGN KEY ("partner_id") REFERENCES "partners"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "commissions" ADD CONSTRAINT "commissions_conversion_id_fkey" FOREIGN KEY ("conversion_id") REFERENCES "conversions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "commissions" ADD CONSTRAINT "commissions_reversal_id_fkey" FOREIGN KEY ("reversal_id") REFERENCES "reversals"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "commissions" ADD CONSTRAINT "commissions_related_id_fkey" FOREIGN KEY ("related_id") REFERENCES "commissions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "balances" ADD CONSTRAINT "balances_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "balances" ADD CONSTRAINT "balances_partner_id_fkey" FOREIGN KEY ("partner_id") REFERENCES "partners"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "payouts" ADD CONSTRAINT "payouts_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "payouts" ADD CONSTRAINT "payouts_partner_id_fkey" FOREIGN KEY ("partner_id") REFERENCES "partners"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "payout_items" ADD CONSTRAINT "payout_items_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "payout_items" ADD CONSTRAINT "payout_items_payout_id_fkey" FOREIGN KEY ("payout_id") REFERENCES "payouts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "payout_items" ADD CONSTRAINT "payout_items_commission_id_fkey" FOREIGN KEY ("commission_id") REFERENCES "commissions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "events" ADD CONSTRAINT "events_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audit_entries" ADD CONSTRAINT "audit_entries_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "integration_tokens" ADD CONSTRAINT "integration_tokens_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- Below: what the Prisma schema cannot express (test/db/drift.test.ts knows these).

-- A commission line is in at most one payout that is not cancelled: the
-- database, not the application, keeps a line from being paid twice.
CREATE UNIQUE INDEX "payout_items_commission_id_active_key" ON "payout_items"("commission_id") WHERE "active";

-- A partner has at most one open payout, so concurrent payout runs cannot
-- both draft one.
CREATE UNIQUE INDEX "payouts_partner_id_open_key" ON "payouts"("partner_id") WHERE "status" IN ('DRAFT', 'APPROVED');

-- One default payout method per partner.
CREATE UNIQUE INDEX "payout_methods_partner_id_default_key" ON "payout_methods"("partner_id") WHERE "is_default";

-- One conversion line per conversion and partner.
CREATE UNIQUE INDEX "commissions_conversion_id_partner_id_key" ON "commissions"("conversion_id", "partner_id") WHERE "kind" = 'CONVERSION';

-- The writing transaction's id, for program-wide replay: only events whose
-- transaction is older than every running one (pg_snapshot_xmin) are final.
ALTER TABLE "events" ADD COLUMN "xid" xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX "events_program_id_xid_id_idx" ON "events"("program_id", "xid", "id");
