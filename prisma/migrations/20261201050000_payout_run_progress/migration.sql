-- What a keyed payout run has drafted so far ([{"partnerId","payoutId"}]), written in each
-- draft's own transaction: a run cut short and retried with its key drafts only the rest.
ALTER TABLE "idempotency_keys" ADD COLUMN "progress" JSONB;
