-- Why a line was last held, cancelled or reinstated (shown to operators and partners).
ALTER TABLE "commissions" ADD COLUMN "status_reason" TEXT;
