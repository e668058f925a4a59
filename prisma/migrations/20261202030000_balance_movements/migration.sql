-- The movement ledger: every change to a partner's balance, one row per line
-- moved, appended by the Ledger (src/services/ledger/ledger.ts) in the
-- transaction that changes the balance. Buckets: pending, payable,
-- in_payouts, paid; NULL is outside the balance (a line appearing, or leaving
-- by cancellation or reversal). Each balance column is the sum of the
-- movements into its bucket less those out of it; lifetime_earned is the sum
-- of those into any bucket less those out of all of them.
CREATE TABLE "balance_movements" (
    "id" UUID NOT NULL,
    "program_id" UUID NOT NULL,
    "partner_id" UUID NOT NULL,
    "commission_id" UUID NOT NULL,
    "payout_id" UUID,
    "currency" CHAR(3) NOT NULL,
    "entry" TEXT NOT NULL,
    "from_bucket" TEXT,
    "to_bucket" TEXT,
    "amount" DECIMAL(19,4) NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL,
    "cause" TEXT NOT NULL,
    "reason" TEXT,
    "audit_entry_id" UUID,

    CONSTRAINT "balance_movements_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "balance_movements_from_bucket_check" CHECK ("from_bucket" IN ('pending', 'payable', 'in_payouts', 'paid')),
    CONSTRAINT "balance_movements_to_bucket_check" CHECK ("to_bucket" IN ('pending', 'payable', 'in_payouts', 'paid')),
    CONSTRAINT "balance_movements_moves_check" CHECK ("from_bucket" IS DISTINCT FROM "to_bucket"),
    -- An entry says what kind of move it is, and the buckets agree with it.
    CONSTRAINT "balance_movements_entry_check" CHECK (
        ("entry" IN ('ACCRUAL', 'REINSTATEMENT') AND "from_bucket" IS NULL AND "to_bucket" IS NOT NULL)
     OR ("entry" IN ('CANCELLATION', 'REVERSAL') AND "from_bucket" IS NOT NULL AND "to_bucket" IS NULL)
     OR ("entry" = 'TRANSFER' AND "from_bucket" IS NOT NULL AND "to_bucket" IS NOT NULL))
);

-- Statements read one partner's movements by date; balance-as-of by the time they were recorded.
CREATE INDEX "balance_movements_program_id_partner_id_occurred_at_idx" ON "balance_movements"("program_id", "partner_id", "occurred_at");
CREATE INDEX "balance_movements_program_id_partner_id_recorded_at_idx" ON "balance_movements"("program_id", "partner_id", "recorded_at");

ALTER TABLE "balance_movements" ADD CONSTRAINT "balance_movements_program_id_fkey" FOREIGN KEY ("program_id") REFERENCES "programs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "balance_movements" ADD CONSTRAINT "balance_movements_partner_id_fkey" FOREIGN KEY ("partner_id") REFERENCES "partners"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "balance_movements" ADD CONSTRAINT "balance_movements_commission_id_fkey" FOREIGN KEY ("commission_id") REFERENCES "commissions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "balance_movements" ADD CONSTRAINT "balance_movements_payout_id_fkey" FOREIGN KEY ("payout_id") REFERENCES "payouts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "balance_movements" ADD CONSTRAINT "balance_movements_audit_entry_id_fkey" FOREIGN KEY ("audit_entry_id") REFERENCES "audit_entries"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Append-only, in the database itself: a movement is never edited or removed
-- (a mistake is corrected by a later movement). Row triggers refuse UPDATE
-- and DELETE, a statement trigger TRUNCATE; all three work on PGlite too.
CREATE OR REPLACE FUNCTION "balance_movements_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'balance_movements is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER "balance_movements_no_update" BEFORE UPDATE ON "balance_movements" FOR EACH ROW EXECUTE FUNCTION "balance_movements_append_only"();
CREATE TRIGGER "balance_movements_no_delete" BEFORE DELETE ON "balance_movements" FOR EACH ROW EXECUTE FUNCTION "balance_movements_append_only"();
CREATE TRIGGER "balance_movements_no_truncate" BEFORE TRUNCATE ON "balance_movements" FOR EACH STATEMENT EXECUTE FUNCTION "balance_movements_append_only"();

-- ─── Backfill ────────────────────────────────────────────────────────────────
-- What existed before this table, rebuilt from the lines, their payouts and
-- the audit trail (the same sources the statement read until now):
-- 1. Every line that counted when it was written: an ACCRUAL into its holding
--    bucket on the line's occurred_at (recorded at its created_at). Its
--    holding bucket is the one it is in now, payable for a line now in a
--    payout, and for a line that no longer counts, the bucket of the status it
--    left (APPROVED and matured: payable, else pending).
-- 2. Every audited change of whether it counts (commission.cancel,
--    commission.reinstate, commission.reverse whose status moved in or out of
--    CANCELLED/REVERSED): a CANCELLATION, REINSTATEMENT or REVERSAL dated as
--    the statement dated it (a reversal on its refund's date, else the audit
--    time, never before the line), linked to its audit entry and with its id.
--    A change that repeats the one before it (two cancellations in a row) is
--    skipped, so each line's movements chain.
-- 3. A line whose status changed without an audit entry, so the chain ends
--    elsewhere than the line stands: one movement at its updated_at brings it
--    to where it is (cause "backfill", reason says why).
-- 4. A line in an open payout: payable → in_payouts, with the payout, when the
--    payout was made (its payout.create audit entry, else its created_at; the
--    line's created_at if later). A line in a paid payout: that, then
--    in_payouts → paid on the payout's paid date (recorded at its payout.pay
--    audit entry when there is one).
-- Not rebuilt (no record of them survives): approvals and maturity inside
-- the counted buckets before today, and payouts that were cancelled or lines
-- removed from a draft (their moves net to nothing). Balances as of a time
-- before this migration are therefore approximate within the counted
-- buckets; lifetime earned and every statement are as they were. The
-- movements of each partner sum to the sum of its lines, bucket by bucket, so
-- they equal its balance row wherever that row was right; a row that was
-- already wrong is left as it was and named in a warning (reconcile reports
-- it too).

CREATE TEMPORARY TABLE "backfill_lines" ON COMMIT DROP AS
SELECT c.id, c.program_id, c.partner_id, c.currency, c.amount, c.status::text AS status, c.matured,
       c.occurred_at, c.created_at, c.updated_at, c.paid_at,
       o.id AS open_payout_id, o.created_at AS open_payout_created_at,
       pd.id AS paid_payout_id, pd.created_at AS paid_payout_created_at, pd.paid_at AS payout_paid_at,
       CASE
         WHEN o.id IS NOT NULL THEN 'in_payouts'
         WHEN c.status IN ('PENDING', 'ON_HOLD') THEN 'pending'
         WHEN c.status = 'APPROVED' THEN CASE WHEN c.matured THEN 'payable' ELSE 'pending' END
         WHEN c.status = 'PAID' THEN 'paid'
       END AS bucket
  FROM "commissions" c
  LEFT JOIN LATERAL (
    SELECT p.id, p.created_at FROM "payout_items" i JOIN "payouts" p ON p.id = i.payout_id
     WHERE i.commission_id = c.id AND i.active AND p.status IN ('DRAFT', 'APPROVED') LIMIT 1) o ON true
  LEFT JOIN LATERAL (
    SELECT p.id, p.created_at, p.paid_at FROM "payout_items" i JOIN "payouts" p ON p.id = i.payout_id
     WHERE i.commission_id = c.id AND i.active AND p.status = 'PAID' AND c.status = 'PAID'
     ORDER BY p.paid_at DESC NULLS LAST, p.id LIMIT 1) pd ON true;

-- The audited changes of whether a line counts, as the statement read them.
CREATE TEMPORARY TABLE "backfill_flips" ON COMMIT DROP AS
SELECT f.* FROM (
  SELECT a.id, a.entity_id AS line_id, a.action, a.created_at, a.before->>'status' AS before_status,
         (a.before->>'status') NOT IN ('CANCELLED', 'REVERSED') AS counted_before,
         (a.after->>'status') NOT IN ('CANCELLED', 'REVERSED') AS counts_after,
         coalesce(a.reason, r.reason, r.kind::text) AS reason,
         greatest(CASE WHEN a.action = 'commission.reverse' AND r.occurred_at IS NOT NULL THEN r.occurred_at ELSE a.created_at END, l.occurred_at) AS at,
         lag((a.before->>'status') NOT IN ('CANCELLED', 'REVERSED')) OVER (PARTITION BY a.entity_id ORDER BY a.created_at, a.id) AS previous_counted_before,
         row_number() OVER (PARTITION BY a.entity_id ORDER BY a.created_at, a.id) AS n
    FROM "audit_entries" a
    JOIN "backfill_lines" l ON l.id = a.entity_id AND l.program_id = a.program_id
    LEFT JOIN "reversals" r ON a.after->>'reversalId' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                           AND r.id = (a.after->>'reversalId')::uuid AND r.program_id = a.program_id
   WHERE a.entity_type = 'Commission'
     AND a.action IN ('commission.cancel', 'commission.reinstate', 'commission.reverse')
     AND ((a.before->>'status') NOT IN ('CANCELLED', 'REVERSED')) <> ((a.after->>'status') NOT IN ('CANCELLED', 'REVERSED'))
) f
-- A change in the same direction as the one before it is a repeat: skipped.
WHERE f.previous_counted_before IS DISTINCT FROM f.counted_before;

-- Per line: whether it counted when written, where its chain ends, and its holding bucket.
CREATE TEMPORARY TABLE "backfill_plan" ON COMMIT DROP AS
SELECT l.*,
       coalesce(first.counted_before, l.bucket IS NOT NULL) AS counted_at_first,
       coalesce(last.counts_after, first.counted_before, l.bucket IS NOT NULL) AS counts_at_last,
       CASE
         WHEN l.bucket IN ('pending', 'payable') THEN l.bucket
         WHEN l.bucket = 'in_payouts' THEN 'payable'
         WHEN l.bucket = 'paid' THEN CASE WHEN l.paid_payout_id IS NOT NULL THEN 'payable' ELSE 'paid' END
         WHEN left_from.before_status = 'APPROVED' AND l.matured THEN 'payable'
         ELSE 'pending'
       END AS holding
  FROM "backfill_lines" l
  LEFT JOIN LATERAL (SELECT f.counted_before FROM "backfill_flips" f WHERE f.line_id = l.id ORDER BY f.created_at, f.id LIMIT 1) first ON true
  LEFT JOIN LATERAL (SELECT f.counts_after FROM "backfill_flips" f WHERE f.line_id = l.id ORDER BY f.created_at DESC, f.id DESC LIMIT 1) last ON true
  LEFT JOIN LATERAL (SELECT f.before_status FROM "backfill_flips" f WHERE f.line_id = l.id AND NOT f.counts_after ORDER BY f.created_at DESC, f.id DESC LIMIT 1) left_from ON true;

-- 1. Accruals.
INSERT INTO "balance_movements" (id, program_id, partner_id, commission_id, payout_id, currency, entry, from_bucket, to_bucket, amount, occurred_at, recorded_at, cause, reason, audit_entry_id)
SELECT gen_random_uuid(), p.program_id, p.partner_id, p.id, NULL, p.currency, 'ACCRUAL', NULL, p.holding, p.amount, p.occurred_at, p.created_at, 'backfill', NULL, NULL
  FROM "backfill_plan" p WHERE p.counted_at_first;

-- 2. Audited cancellations, reinstatements and reversals (the movement takes its audit entry's id).
INSERT INTO "balance_movements" (id, program_id, partner_id, commission_id, payout_id, currency, entry, from_bucket, to_bucket, amount, occurred_at, recorded_at, cause, reason, audit_entry_id)
SELECT f.id, p.program_id, p.partner_id, p.id, NULL, p.currency,
       CASE WHEN f.counts_after THEN 'REINSTATEMENT' WHEN f.action = 'commission.reverse' THEN 'REVERSAL' ELSE 'CANCELLATION' END,
       CASE WHEN f.counts_after THEN NULL ELSE p.holding END,
       CASE WHEN f.counts_after THEN p.holding END,
       p.amount, f.at, f.created_at, f.action, f.reason, f.id
  FROM "backfill_flips" f JOIN "backfill_plan" p ON p.id = f.line_id;

-- 3. Status changed without an audit entry: one movement to where the line stands.
INSERT INTO "balance_movements" (id, program_id, partner_id, commission_id, payout_id, currency, entry, from_bucket, to_bucket, amount, occurred_at, recorded_at, cause, reason, audit_entry_id)
SELECT gen_random_uuid(), p.program_id, p.partner_id, p.id, NULL, p.currency,
       CASE WHEN p.bucket IS NOT NULL THEN 'REINSTATEMENT' WHEN p.status = 'REVERSED' THEN 'REVERSAL' ELSE 'CANCELLATION' END,
       CASE WHEN p.bucket IS NOT NULL THEN NULL ELSE p.holding END,
       CASE WHEN p.bucket IS NOT NULL THEN p.holding END,
       p.amount, greatest(p.updated_at, p.occurred_at), greatest(p.updated_at, p.created_at), 'backfill', 'status changed without an audit entry', NULL
  FROM "backfill_plan" p WHERE p.counts_at_last <> (p.bucket IS NOT NULL);

-- 4. Into the payout that holds the line, and paid.
INSERT INTO "balance_movements" (id, program_id, partner_id, commission_id, payout_id, currency, entry, from_bucket, to_bucket, amount, occurred_at, recorded_at, cause, reason, audit_entry_id)
SELECT gen_random_uuid(), p.program_id, p.partner_id, p.id, coalesce(p.open_payout_id, p.paid_payout_id), p.currency, 'TRANSFER', 'payable', 'in_payouts', p.amount,
       greatest(coalesce(made.created_at, p.open_payout_created_at, p.paid_payout_created_at), p.created_at),
       greatest(coalesce(made.created_at, p.open_payout_created_at, p.paid_payout_created_at), p.created_at), 'payout.create', NULL, made.id
  FROM "backfill_plan" p
  LEFT JOIN LATERAL (
    SELECT a.id, a.created_at FROM "audit_entries" a
     WHERE a.program_id = p.program_id AND a.entity_id = coalesce(p.open_payout_id, p.paid_payout_id) AND a.action = 'payout.create'
     ORDER BY a.created_at, a.id LIMIT 1) made ON true
 WHERE p.bucket = 'in_payouts' OR (p.bucket = 'paid' AND p.paid_payout_id IS NOT NULL);

INSERT INTO "balance_movements" (id, program_id, partner_id, commission_id, payout_id, currency, entry, from_bucket, to_bucket, amount, occurred_at, recorded_at, cause, reason, audit_entry_id)
SELECT gen_random_uuid(), p.program_id, p.partner_id, p.id, p.paid_payout_id, p.currency, 'TRANSFER', 'in_payouts', 'paid', p.amount,
       coalesce(p.payout_paid_at, p.paid_at, p.updated_at),
       coalesce(paid.created_at, greatest(coalesce(p.payout_paid_at, p.paid_at, p.updated_at), p.paid_payout_created_at, p.created_at)),
       'payout.pay', NULL, paid.id
  FROM "backfill_plan" p
  LEFT JOIN LATERAL (
    SELECT a.id, a.created_at FROM "audit_entries" a
     WHERE a.program_id = p.program_id AND a.entity_id = p.paid_payout_id AND a.action = 'payout.pay'
     ORDER BY a.created_at DESC, a.id DESC LIMIT 1) paid ON true
 WHERE p.bucket = 'paid' AND p.paid_payout_id IS NOT NULL;

-- Warn of a balance row the lines do not add up to (it was wrong before this migration).
DO $$
DECLARE
  wrong record;
BEGIN
  SELECT b.partner_id INTO wrong
    FROM "balances" b
    LEFT JOIN (
      SELECT m.partner_id,
             sum(CASE WHEN m.to_bucket = 'pending' THEN m.amount ELSE 0 END) - sum(CASE WHEN m.from_bucket = 'pending' THEN m.amount ELSE 0 END) AS pending,
             sum(CASE WHEN m.to_bucket = 'payable' THEN m.amount ELSE 0 END) - sum(CASE WHEN m.from_bucket = 'payable' THEN m.amount ELSE 0 END) AS payable,
             sum(CASE WHEN m.to_bucket = 'in_payouts' THEN m.amount ELSE 0 END) - sum(CASE WHEN m.from_bucket = 'in_payouts' THEN m.amount ELSE 0 END) AS in_payouts,
             sum(CASE WHEN m.to_bucket = 'paid' THEN m.amount ELSE 0 END) - sum(CASE WHEN m.from_bucket = 'paid' THEN m.amount ELSE 0 END) AS paid,
             sum(CASE WHEN m.to_bucket IS NOT NULL THEN m.amount ELSE 0 END) - sum(CASE WHEN m.from_bucket IS NOT NULL THEN m.amount ELSE 0 END) AS lifetime
        FROM "balance_movements" m GROUP BY m.partner_id) s ON s.partner_id = b.partner_id
   WHERE (b.pending, b.payable, b.in_payouts, b.paid, b.lifetime_earned)
         IS DISTINCT FROM (coalesce(s.pending, 0), coalesce(s.payable, 0), coalesce(s.in_payouts, 0), coalesce(s.paid, 0), coalesce(s.lifetime, 0))
   LIMIT 1;
  IF FOUND THEN
    RAISE WARNING 'balance_movements backfill: partner %''s balance row is not the sum of its lines (see reconcileBalances)', wrong.partner_id;
  END IF;
END
$$;
