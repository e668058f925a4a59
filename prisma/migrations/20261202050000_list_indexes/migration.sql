-- Indexes for the lists the schema offers, found by test/db/query-plans.test.ts
-- (EXPLAIN of every list, filter, sort and nested list on a seeded database).

-- A partner's lines newest first: Partner.commissions pages (a LATERAL per
-- partner) and a partner token's `commissions`; before, each partner's lines
-- were all read and sorted to take a page.
CREATE INDEX "commissions_program_id_partner_id_id_idx" ON "commissions"("program_id", "partner_id", "id");

-- The program's lines newest first (the default order of `commissions`).
CREATE INDEX "commissions_program_id_id_idx" ON "commissions"("program_id", "id");

-- `commissions(sort: PAYABLE_AT | AMOUNT)`: a page without sorting the program's lines.
CREATE INDEX "commissions_program_id_payable_at_id_idx" ON "commissions"("program_id", "payable_at", "id");
CREATE INDEX "commissions_program_id_amount_id_idx" ON "commissions"("program_id", "amount", "id");

-- Conversions attributed to a partner (a partner token's `conversions`, the
-- partnerId filter): an EXISTS on the partner's lines, which names no program.
CREATE INDEX "commissions_partner_id_conversion_id_idx" ON "commissions"("partner_id", "conversion_id");

-- The program's conversions newest first, and sorted by amount.
CREATE INDEX "conversions_program_id_id_idx" ON "conversions"("program_id", "id");
CREATE INDEX "conversions_program_id_program_amount_id_idx" ON "conversions"("program_id", "program_amount", "id");

-- `conversions(filter: { reversed: true })`: the few refunded sales, newest first.
CREATE INDEX "conversions_program_id_id_reversed_idx" ON "conversions"("program_id", "id") WHERE "reversed_amount" > 0;

-- `commissions(filter: { kind: [...] })`: the rare kinds (adjustments, credits, clawbacks, write-offs) newest first.
CREATE INDEX "commissions_program_id_kind_id_idx" ON "commissions"("program_id", "kind", "id");
