-- A paid payout whose money came back (paid stays final; a CREDIT line rebooks it).
ALTER TABLE "payouts" ADD COLUMN "bounced_at" TIMESTAMPTZ(3), ADD COLUMN "bounce_reason" TEXT;
