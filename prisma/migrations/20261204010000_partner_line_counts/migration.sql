-- How many lines each partner has, kept on its balance row, so a partner's
-- unfiltered `commissions { totalCount }` (every partner's read in the
-- portal, and the operators' nested lists) reads one row instead of
-- counting every line the partner ever had: 7 ms a read at 25,000 lines,
-- growing with the partner's history.
--
-- Kept by triggers, not by the services, so every writer of lines counts
-- alike (recordConversions' statement, the ledger, the seeds): after each
-- statement that inserts or deletes lines, the partners' counts move by what
-- it inserted or deleted. A line never moves to another partner or program
-- (refused below), so updates leave the counts as they are. The rows are
-- those the ledger locks for the same partners in the same transaction.
ALTER TABLE "balances" ADD COLUMN "line_count" BIGINT NOT NULL DEFAULT 0;

UPDATE "balances" b SET "line_count" = c."lines"
  FROM (SELECT "program_id", "partner_id", count(*) AS "lines" FROM "commissions" GROUP BY 1, 2) c
 WHERE b."program_id" = c."program_id" AND b."partner_id" = c."partner_id";

CREATE OR REPLACE FUNCTION "commissions_count_lines"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE "balances" b SET "line_count" = b."line_count" + n."lines"
      FROM (SELECT "program_id", "partner_id", count(*) AS "lines" FROM "new_lines" GROUP BY 1, 2) n
     WHERE b."program_id" = n."program_id" AND b."partner_id" = n."partner_id";
  ELSE
    UPDATE "balances" b SET "line_count" = b."line_count" - o."lines"
      FROM (SELECT "program_id", "partner_id", count(*) AS "lines" FROM "old_lines" GROUP BY 1, 2) o
     WHERE b."program_id" = o."program_id" AND b."partner_id" = o."partner_id";
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "commissions_count_inserted" AFTER INSERT ON "commissions"
  REFERENCING NEW TABLE AS "new_lines" FOR EACH STATEMENT EXECUTE FUNCTION "commissions_count_lines"();
CREATE TRIGGER "commissions_count_deleted" AFTER DELETE ON "commissions"
  REFERENCING OLD TABLE AS "old_lines" FOR EACH STATEMENT EXECUTE FUNCTION "commissions_count_lines"();

CREATE OR REPLACE FUNCTION "commissions_keep_owner"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a commission line never moves to another partner or program' USING ERRCODE = 'restrict_violation';
END $$;

-- Fires only for an UPDATE that sets either column, and refuses it only when one changes.
CREATE TRIGGER "commissions_keep_owner" BEFORE UPDATE OF "program_id", "partner_id" ON "commissions" FOR EACH ROW
  WHEN (OLD."program_id" IS DISTINCT FROM NEW."program_id" OR OLD."partner_id" IS DISTINCT FROM NEW."partner_id")
  EXECUTE FUNCTION "commissions_keep_owner"();
