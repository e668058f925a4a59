import { contentHash } from "../conversions/content-hash.ts";
import { fail, type Result, type UserErrorCode } from "../../domain/errors.ts";
import { isLockTimeout } from "../../db/errors.ts";
import { audit, RetryTransaction, transact, type Actor, type ServiceDeps } from "../runtime.ts";
import { draftPayout } from "./draft-payout.ts";

export interface PayoutRunReport {
  payoutIds: string[];
  skipped: { partnerId: string; code: UserErrorCode; message: string }[];
}

/** Idempotency keys of operators' runs; scheduled runs keep theirs apart, so no operator's key can stand in for one. */
const OPERATIONS = { operator: "runPayouts", schedule: "scheduledPayoutRun" } as const;

/**
 * Drafts a payout for every eligible partner, one transaction per partner
 * (one partner's problem never blocks another's payout), and reports each
 * partner it skipped with the reason: OPEN_PAYOUT_EXISTS, NOT_POSITIVE,
 * BELOW_MINIMUM, NO_PAYOUT_METHOD, NO_BILLING_DETAILS. Candidates are the
 * partners with a non-zero payable balance or with approved lines whose
 * hold has ended (positive ones by `payableBefore`, negative ones by now,
 * as draftPayout gathers them). Concurrent runs cannot draft twice for a
 * partner: the second finds the first's open payout. With an idempotency key, a replay
 * returns the first run's report.
 * Errors: INVALID_INPUT, IDEMPOTENCY_CONFLICT, CONCURRENT_UPDATE (a run
 * with the same key is still going).
 */
export async function runPayouts(
  deps: ServiceDeps,
  actor: Actor,
  input: { payableBefore?: Date | null; idempotencyKey?: string | null },
  options: { by?: keyof typeof OPERATIONS } = {},
): Promise<Result<PayoutRunReport>> {
  const OPERATION = OPERATIONS[options.by ?? "operator"];
  const key = input.idempotencyKey?.trim() || null;
  if (input.idempotencyKey != null && (!key || key.length > 255)) {
    return { ok: false, errors: [{ code: "INVALID_INPUT", message: "idempotencyKey must be 1 to 255 characters", field: ["input", "idempotencyKey"] }] };
  }
  const request = contentHash({ payableBefore: input.payableBefore?.toISOString() ?? null });
  if (key) {
    const reserved = await transact(deps, actor, async (tx) => {
      const inserted = await tx.db.$queryRaw<{ key: string }[]>`
        INSERT INTO idempotency_keys (program_id, operation, key, request_hash, response, created_at)
        VALUES (${tx.programId}::uuid, ${OPERATION}, ${key}, ${request}, 'null'::jsonb, ${tx.now})
        ON CONFLICT DO NOTHING RETURNING key`;
      if (inserted.length > 0) return null;
      const [row] = await tx.db.$queryRaw<{ request_hash: string; response: PayoutRunReport | null; created_at: Date }[]>`
        SELECT request_hash, response, created_at FROM idempotency_keys
         WHERE program_id = ${tx.programId}::uuid AND operation = ${OPERATION} AND key = ${key} FOR UPDATE`;
      if (!row) throw new RetryTransaction("idempotency key vanished");
      if (row.request_hash !== request) fail("IDEMPOTENCY_CONFLICT", "this idempotencyKey was used before with another request", ["input", "idempotencyKey"]);
      if (row.response) return row.response;
      // Unanswered: another run with this key is going, or crashed. After ten
      // minutes a retry may take the key over.
      if (new Date(row.created_at).getTime() > tx.now.getTime() - 10 * 60_000) {
        fail("CONCURRENT_UPDATE", "a payout run with this idempotencyKey is still going", ["input", "idempotencyKey"]);
      }
      await tx.db.$executeRaw`UPDATE idempotency_keys SET created_at = ${tx.now}
        WHERE program_id = ${tx.programId}::uuid AND operation = ${OPERATION} AND key = ${key}`;
      return null;
    });
    if (!reserved.ok) return reserved;
    if (reserved.value) return { ok: true, value: reserved.value };
  }

  const now = deps.clock.now();
  const before = input.payableBefore ?? now;
  const maturedBy = before < now ? before : now;
  // One statement, so one snapshot: two queries could each miss a partner
  // whose lines the hold-release job matured between them.
  const rows = await deps.prisma.$queryRaw<{ partner_id: string }[]>`
    SELECT partner_id FROM balances WHERE program_id = ${actor.programId}::uuid AND payable <> 0
    UNION
    SELECT partner_id FROM commissions
     WHERE program_id = ${actor.programId}::uuid AND status = 'APPROVED' AND NOT matured
       AND (payable_at <= ${maturedBy} OR (amount < 0 AND payable_at <= ${now}))
    ORDER BY partner_id`;
  const candidates = rows.map((row) => row.partner_id);

  const report: PayoutRunReport = { payoutIds: [], skipped: [] };
  try {
    for (const partnerId of candidates) {
      try {
        const drafted = await transact(deps, actor, (tx) => draftPayout(tx, { partnerId, payableBefore: input.payableBefore }));
        if (drafted.ok) report.payoutIds.push(drafted.value.id);
        else report.skipped.push({ partnerId, code: drafted.errors[0]!.code, message: drafted.errors[0]!.message });
      } catch (error) {
        // One partner's trouble (a lock held too long by a busy partner, say)
        // is reported for that partner; the run goes on for the others.
        if (!isLockTimeout(error)) deps.logger.error({ err: error, partnerId, programId: actor.programId }, "payout run: drafting failed for one partner");
        report.skipped.push({ partnerId, code: "CONCURRENT_UPDATE", message: "the partner's records were busy; run again to draft this one" });
      }
    }
  } catch (error) {
    // Nothing drafted is lost (each draft committed on its own), but the key
    // must not stay reserved with no answer: a retry would be told the run is
    // still going.
    if (key) await deps.prisma.$executeRaw`DELETE FROM idempotency_keys WHERE program_id = ${actor.programId}::uuid AND operation = ${OPERATION} AND key = ${key} AND response = 'null'::jsonb`;
    throw error;
  }

  const stored = await transact(deps, actor, async (tx) => {
    await audit(tx, {
      action: "payout.run",
      entityType: "Program",
      entityId: tx.programId,
      after: { payableBefore: before, drafted: report.payoutIds.length, skipped: report.skipped.length, idempotencyKey: key },
    });
    if (key) {
      await tx.db.$executeRaw`UPDATE idempotency_keys SET response = ${JSON.stringify(report)}::jsonb
        WHERE program_id = ${tx.programId}::uuid AND operation = ${OPERATION} AND key = ${key}`;
    }
  });
  if (!stored.ok) return stored;
  return { ok: true, value: report };
}
