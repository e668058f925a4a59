-- How many conversions each program holds, so an operator's unfiltered
-- `conversions { totalCount }` is a sum of a few rows instead of a count of
-- every conversion (a scan that grows with the program: 300 ms at 200,000
-- conversions, on every operator list). recordConversions adds what it
-- inserts to one of 16 slots picked at random, in the statement that inserts
-- them, so concurrent batches seldom wait on the same row; conversions are
-- never deleted.
CREATE TABLE "conversion_counts" (
    "program_id" UUID NOT NULL,
    "slot" INTEGER NOT NULL,
    "conversions" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "conversion_counts_pkey" PRIMARY KEY ("program_id", "slot"),
    CONSTRAINT "conversion_counts_slot_check" CHECK ("slot" >= 0 AND "slot" < 16)
);

ALTER TABLE "conversion_counts" ADD CONSTRAINT "conversion_counts_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

INSERT INTO "conversion_counts" ("program_id", "slot", "conversions")
SELECT "program_id", 0, count(*) FROM "conversions" GROUP BY "program_id";

-- The hold-release task looks, every tick, for lines past their hold that
-- are not yet marked matured: few at any time, among every line ever
-- written. Without this it scanned the whole table each tick. The readers
-- of a balance find the same lines of one partner to add them back by the
-- payable rule (src/domain/payable.ts, services/commissions/payable-lines.ts):
-- past their hold, the range is small whatever the program.
CREATE INDEX "commissions_maturing_idx" ON "commissions"("payable_at") WHERE NOT "matured" AND "status" IN ('PENDING', 'APPROVED', 'ON_HOLD');
