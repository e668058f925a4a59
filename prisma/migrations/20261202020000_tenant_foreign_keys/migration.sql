-- Tenancy as a property of the data: every reference from a row that carries
-- program_id to another program-owned row includes program_id, so the
-- database refuses a commission (payout, item, event...) that points into
-- another program. Parents gain a UNIQUE (program_id, id) for the composite
-- foreign keys to reference; the single-column foreign keys are replaced.
--
-- Existing rows cannot violate these while tenancy held (every write sets the
-- child's program_id from the same scoped transaction that found the parent);
-- if one ever did, ADD CONSTRAINT validates and fails, this transaction rolls
-- back, and the offending row is the one the error names.

-- Parents.
CREATE UNIQUE INDEX "partners_program_id_id_key" ON "partners"("program_id", "id");
CREATE UNIQUE INDEX "conversions_program_id_id_key" ON "conversions"("program_id", "id");
CREATE UNIQUE INDEX "reversals_program_id_id_key" ON "reversals"("program_id", "id");
CREATE UNIQUE INDEX "commissions_program_id_id_key" ON "commissions"("program_id", "id");
CREATE UNIQUE INDEX "payouts_program_id_id_key" ON "payouts"("program_id", "id");
CREATE UNIQUE INDEX "payment_provider_connections_program_id_id_key" ON "payment_provider_connections"("program_id", "id");

-- One-to-one children: Prisma needs the pair unique on the defining side.
DROP INDEX "billing_profiles_program_id_idx";
CREATE UNIQUE INDEX "billing_profiles_program_id_partner_id_key" ON "billing_profiles"("program_id", "partner_id");
CREATE UNIQUE INDEX "balances_program_id_partner_id_key" ON "balances"("program_id", "partner_id");

-- Children: single-column references out, composite ones in.
ALTER TABLE "payout_methods" DROP CONSTRAINT "payout_methods_partner_id_fkey";
ALTER TABLE "payout_methods" ADD CONSTRAINT "payout_methods_program_id_partner_id_fkey" FOREIGN KEY ("program_id", "partner_id") REFERENCES "partners"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;

ALTER TABLE "billing_profiles" DROP CONSTRAINT "billing_profiles_partner_id_fkey";
ALTER TABLE "billing_profiles" ADD CONSTRAINT "billing_profiles_program_id_partner_id_fkey" FOREIGN KEY ("program_id", "partner_id") REFERENCES "partners"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;

ALTER TABLE "reversals" DROP CONSTRAINT "reversals_conversion_id_fkey";
ALTER TABLE "reversals" ADD CONSTRAINT "reversals_program_id_conversion_id_fkey" FOREIGN KEY ("program_id", "conversion_id") REFERENCES "conversions"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;

ALTER TABLE "commissions" DROP CONSTRAINT "commissions_partner_id_fkey";
ALTER TABLE "commissions" DROP CONSTRAINT "commissions_conversion_id_fkey";
ALTER TABLE "commissions" DROP CONSTRAINT "commissions_reversal_id_fkey";
ALTER TABLE "commissions" DROP CONSTRAINT "commissions_related_id_fkey";
ALTER TABLE "commissions" ADD CONSTRAINT "commissions_program_id_partner_id_fkey" FOREIGN KEY ("program_id", "partner_id") REFERENCES "partners"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "commissions" ADD CONSTRAINT "commissions_program_id_conversion_id_fkey" FOREIGN KEY ("program_id", "conversion_id") REFERENCES "conversions"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "commissions" ADD CONSTRAINT "commissions_program_id_reversal_id_fkey" FOREIGN KEY ("program_id", "reversal_id") REFERENCES "reversals"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "commissions" ADD CONSTRAINT "commissions_program_id_related_id_fkey" FOREIGN KEY ("program_id", "related_id") REFERENCES "commissions"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;

ALTER TABLE "balances" DROP CONSTRAINT "balances_partner_id_fkey";
ALTER TABLE "balances" ADD CONSTRAINT "balances_program_id_partner_id_fkey" FOREIGN KEY ("program_id", "partner_id") REFERENCES "partners"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;

ALTER TABLE "payouts" DROP CONSTRAINT "payouts_partner_id_fkey";
ALTER TABLE "payouts" ADD CONSTRAINT "payouts_program_id_partner_id_fkey" FOREIGN KEY ("program_id", "partner_id") REFERENCES "partners"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;

ALTER TABLE "payout_items" DROP CONSTRAINT "payout_items_payout_id_fkey";
ALTER TABLE "payout_items" DROP CONSTRAINT "payout_items_commission_id_fkey";
ALTER TABLE "payout_items" ADD CONSTRAINT "payout_items_program_id_payout_id_fkey" FOREIGN KEY ("program_id", "payout_id") REFERENCES "payouts"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "payout_items" ADD CONSTRAINT "payout_items_program_id_commission_id_fkey" FOREIGN KEY ("program_id", "commission_id") REFERENCES "commissions"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- events.partner_id had no foreign key at all; a null partner (program-level event) is not checked.
ALTER TABLE "events" ADD CONSTRAINT "events_program_id_partner_id_fkey" FOREIGN KEY ("program_id", "partner_id") REFERENCES "partners"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;

ALTER TABLE "provider_events" DROP CONSTRAINT "provider_events_connection_id_fkey";
ALTER TABLE "provider_events" ADD CONSTRAINT "provider_events_program_id_connection_id_fkey" FOREIGN KEY ("program_id", "connection_id") REFERENCES "payment_provider_connections"("program_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;
