-- The movement ledger joins the composite keys: a movement may point only at
-- a partner, line, payout and audit entry of its own program, as every other
-- child table does since 20261202020000_tenant_foreign_keys.
CREATE UNIQUE INDEX "audit_entries_program_id_id_key" ON "audit_entries"("program_id", "id");

ALTER TABLE "balance_movements" DROP CONSTRAINT "balance_movements_partner_id_fkey";
ALTER TABLE "balance_movements" DROP CONSTRAINT "balance_movements_commission_id_fkey";
ALTER TABLE "balance_movements" DROP CONSTRAINT "balance_movements_payout_id_fkey";
ALTER TABLE "balance_movements" DROP CONSTRAINT "balance_movements_audit_entry_id_fkey";

ALTER TABLE "balance_movements" ADD CONSTRAINT "balance_movements_program_id_partner_id_fkey" FOREIGN KEY ("program_id", "partner_id") REFERENCES "partners"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "balance_movements" ADD CONSTRAINT "balance_movements_program_id_commission_id_fkey" FOREIGN KEY ("program_id", "commission_id") REFERENCES "commissions"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "balance_movements" ADD CONSTRAINT "balance_movements_program_id_payout_id_fkey" FOREIGN KEY ("program_id", "payout_id") REFERENCES "payouts"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "balance_movements" ADD CONSTRAINT "balance_movements_program_id_audit_entry_id_fkey" FOREIGN KEY ("program_id", "audit_entry_id") REFERENCES "audit_entries"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;
