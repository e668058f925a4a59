-- Earnings analytics cut commission lines by when they occurred: program-wide
-- (series, top partners, totals filtered by date) and for one partner (its
-- portal's series).
CREATE INDEX "commissions_program_id_occurred_at_idx" ON "commissions"("program_id", "occurred_at");
CREATE INDEX "commissions_program_id_partner_id_occurred_at_idx" ON "commissions"("program_id", "partner_id", "occurred_at");
