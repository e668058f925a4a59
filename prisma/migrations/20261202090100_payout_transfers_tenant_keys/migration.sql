-- A send attempt may point only at a payout of its own program, like every
-- other child row since 20261202020000_tenant_foreign_keys.
ALTER TABLE "payout_transfers" DROP CONSTRAINT "payout_transfers_payout_id_fkey";
ALTER TABLE "payout_transfers" ADD CONSTRAINT "payout_transfers_program_id_payout_id_fkey" FOREIGN KEY ("program_id", "payout_id") REFERENCES "payouts"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;
