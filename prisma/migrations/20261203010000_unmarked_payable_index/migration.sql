-- Lines whose hold has ended but that the balance projection has not marked
-- (matured) yet: the few the readers of a balance add back by the payable rule
-- (src/domain/payable.ts, services/commissions/payable-lines.ts), and the ones
-- the hold-release job marks. Only lines still in review or approved, and
-- not yet marked, are in it: the job keeps it small, and a cancelled or paid
-- line never stays in it.
CREATE INDEX "commissions_program_id_payable_at_unmarked_idx" ON "commissions"("program_id", "payable_at")
  WHERE NOT "matured" AND "status" IN ('PENDING', 'APPROVED', 'ON_HOLD');
