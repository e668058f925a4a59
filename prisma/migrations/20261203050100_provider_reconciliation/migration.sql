-- Provider reconciliation (issue 15): what a provider says of a PAID payout,
-- when it differs from what accrue booked, is kept on the payout; each paid
-- attempt remembers when it was last compared.

-- AlterTable
ALTER TABLE "payouts" ADD COLUMN "provider_discrepancy" JSONB;

-- AlterTable
ALTER TABLE "payout_transfers" ADD COLUMN "reconciled_at" TIMESTAMPTZ(3);
