import { contentHash } from "../conversions/content-hash.ts";
import { fail, type Result, type UserErrorCode } from "../../domain/errors.ts";
import type { HeldLock } from "../../db/database.ts";
import { isDatabaseUnavailable, isLockTimeout, isRetryableTransactionError } from "../../db/errors.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { RetryTransaction, transact } from "../transact.ts";
import { unmarkedPayableSql } from "../commissions/payable-lines.ts";
import { draftPayout } from "./draft-payout.ts";
import { BLOCKER_MESSAGES } from "../../domain/payout-eligibility.ts";

export interface PayoutRunReport {
  /** The stored run (payout_runs); absent in reports stored before runs were. */
  runId?: string;
  payoutIds: string[];
  skipped: { partnerId: string; code: UserErrorCode; message: string }[];
}

/** Idempotency keys of operators' runs; scheduled runs keep theirs apart, so no operator's key can stand in for one. */
const OPERATIONS = { operator: "runPayouts", schedule: "scheduledPayoutRun" } as const;
const TRIGGERS = { operator: "OPERATOR", schedule: "SCHEDULE" } as const;

/** A partner this run drafted for, kept with the key as the run goes. */
interface Drafted {
  partnerId: string;
  payoutId: string;
}

/**
 * Drafts a payout for every eligible partner, one transaction per partner
 * (one partner's problem never blocks another's payout), and reports each
 * partner it skipped with the reason: OPEN_PAYOUT_EXISTS, NOT_POSITIVE,
 * BELOW_MINIMUM, NO_PAYOUT_METHOD, NO_BILLING_DETAILS. Candidates are the
 * partners with a non-zero payable balance or with approved lines whose
 * hold has ended (positive ones by `payableBefore`, negative ones by now,
 * as draftPayout gathers them). Concurrent runs cannot draft twice for a
 * partner: the second finds the first's open payout.
 *
 * With an idempotency key, a replay returns the first run's report. While
 * the run goes it holds a lock named after its key that the database frees
 * with the holder's connection (Database.tryLock), so a retry after a crash
 * takes the key over at once, not after a timer; each draft records itself
 * with the key in its own transaction, so the retry drafts only the
 * partners the cut run had not reached, and reports the earlier drafts as
 * its own: every partner is drafted once per key.
 *
 * Each run is stored (payout_runs) before it drafts anything, and each
 * payout it drafts points at it (runId); the skipped partners are written on
 * it when it ends. A retry with the key resumes the same run.
 * Errors: INVALID_INPUT (a key of the wrong length, payableBefore in the
 * future), IDEMPOTENCY_CONFLICT, CONCURRENT_UPDATE (a run with the same key
 * is going right now).
 */
export async function runPayouts(
  deps: ServiceDeps,
  actor: Actor,
  input: { payableBefore?: Date | null; idempotencyKey?: string | null },
  options: { by?: keyof typeof OPERATIONS } = {},
): Promise<Result<PayoutRunReport>> {
  const OPERATION = OPERATIONS[options.by ?? "operator"];
  const trigger = TRIGGERS[options.by ?? "operator"];
  const key = input.idempotencyKey?.trim() || null;
  if (input.idempotencyKey != null && (!key || key.length > 255)) {
    return { ok: false, errors: [{ code: "INVALID_INPUT", message: "idempotencyKey must be 1 to 255 characters", field: ["input", "idempotencyKey"] }] };
  }
  // Refused before anything is stored; each draft would refuse it too, one partner at a time.
  if (input.payableBefore && input.payableBefore.getTime() > deps.clock.now().getTime()) {
    return { ok: false, errors: [{ code: "INVALID_INPUT", message: "payableBefore cannot be in the future", field: ["input", "payableBefore"] }] };
  }
  const request = contentHash({ payableBefore: input.payableBefore?.toISOString() ?? null });
  let lock: HeldLock | undefined;
  let earlier: Drafted[] = [];
  if (key) {
    // Taken before the key's row is read: whoever holds it is the run, and
    // a key whose holder died is free again.
    lock = await deps.locks.tryLock(`accrue:${OPERATION}:${actor.programId}:${key}`);
    const reserved = await transact(deps, actor, async (tx) => {
      const inserted = await tx.db.$queryRaw<{ key: string }[]>`
        INSERT INTO idempotency_keys (program_id, operation, key, request_hash, response, created_at)
        VALUES (${tx.programId}::uuid, ${OPERATION}, ${key}, ${request}, 'null'::jsonb, ${tx.now})
        ON CONFLICT DO NOTHING RETURNING key`;
      const [row] =
        inserted.length > 0
          ? [{ request_hash: request, response: null, progress: null }]
          : await tx.db.$queryRaw<{ request_hash: string; response: PayoutRunReport | null; progress: Drafted[] | null }[]>`
            SELECT request_hash, response, progress FROM idempotency_keys
             WHERE program_id = ${tx.programId}::uuid AND operation = ${OPERATION} AND key = ${key}`;
      if (!row) throw new RetryTransaction("idempotency key vanished");
      if (row.request_hash !== request) fail("IDEMPOTENCY_CONFLICT", "this idempotencyKey was used before with another request", ["input", "idempotencyKey"]);
      if (row.response) return { report: row.response };
      // Unanswered and the lock is someone else's: that run is going now.
      if (!lock) fail("CONCURRENT_UPDATE", "a payout run with this idempotencyKey is still going", ["input", "idempotencyKey"]);
      return { earlier: row.progress ?? [] };
    });
    if (!reserved.ok || reserved.value.report) {
      await lock?.release();
      return reserved.ok ? { ok: true, value: reserved.value.report! } : reserved;
    }
    earlier = reserved.value.earlier ?? [];
  }

  try {
    const now = deps.clock.now();
    const before = input.payableBefore ?? now;
    const maturedBy = before < now ? before : now;
    // The run's record: made once per key (a resumed run finds its own), before any draft points at it.
    const opened = await transact(deps, actor, async (tx) => {
      const found = key ? await tx.db.payoutRun.findFirst({ where: { trigger, idempotencyKey: key }, select: { id: true } }) : null;
      return (
        found ??
        tx.db.payoutRun.create({
          data: { programId: tx.programId, trigger, payableBefore: before, idempotencyKey: key, createdBy: tx.actor.id, createdAt: tx.now },
          select: { id: true },
        })
      );
    });
    if (!opened.ok) return opened;
    const runId = opened.value.id;
    // One statement, so one snapshot: two queries could each miss a partner
    // whose lines the hold-release job matured between them. The lines the
    // projection has not marked are found by the payable rule (payable-lines.ts),
    // as draftPayout gathers them. Each candidate comes with whether it has an
    // open payout (through the partial unique index kept for them).
    const rows = await deps.prisma.$queryRaw<{ partner_id: string; open: boolean }[]>`
      SELECT candidate.partner_id,
             EXISTS (SELECT 1 FROM payouts p
                      WHERE p.program_id = ${actor.programId}::uuid AND p.partner_id = candidate.partner_id
                        AND p.status IN ('DRAFT', 'APPROVED')) AS open
        FROM (SELECT partner_id FROM balances WHERE program_id = ${actor.programId}::uuid AND payable <> 0
              UNION
              SELECT c.partner_id FROM commissions c
               WHERE c.program_id = ${actor.programId}::uuid AND ${unmarkedPayableSql(now)}
                 AND (c.payable_at <= ${maturedBy} OR c.amount < 0)) AS candidate
       ORDER BY candidate.partner_id`;
    const done = new Set(earlier.map((drafted) => drafted.partnerId));
    const candidates = rows.filter((row) => !done.has(row.partner_id));

    const report: PayoutRunReport = { runId, payoutIds: earlier.map((drafted) => drafted.payoutId), skipped: [] };
    for (const { partner_id: partnerId, open } of candidates) {
      // A partner with an open payout is skipped without taking its lock: the
      // blocker that comes first whatever else holds (payoutBlockers), and the
      // most common skip of a scheduled run, which each partner's lock and a
      // dozen statements under it would make every sale to that partner wait
      // for. One opened after this read is still found under the lock
      // (draftPayout, and the partial unique index behind it).
      if (open) {
        report.skipped.push({ partnerId, code: "OPEN_PAYOUT_EXISTS", message: BLOCKER_MESSAGES.OPEN_PAYOUT_EXISTS });
        continue;
      }
      try {
        const drafted = await transact(deps, actor, async (tx) => {
          const payout = await draftPayout(tx, { partnerId, payableBefore: input.payableBefore, runId });
          if (key) {
            await tx.db.$executeRaw`UPDATE idempotency_keys SET progress = coalesce(progress, '[]'::jsonb) || ${JSON.stringify([{ partnerId, payoutId: payout.id }])}::jsonb
              WHERE program_id = ${tx.programId}::uuid AND operation = ${OPERATION} AND key = ${key}`;
          }
          return payout;
        });
        if (drafted.ok) report.payoutIds.push(drafted.value.id);
        else report.skipped.push({ partnerId, code: drafted.errors[0]!.code, message: drafted.errors[0]!.message });
      } catch (error) {
        // One partner's trouble (a lock held too long by a busy partner, say)
        // is reported for that partner; the run goes on for the others. A
        // database that is gone ends the run: a retry with the key takes over.
        if (isDatabaseUnavailable(error) && !isLockTimeout(error) && !isRetryableTransactionError(error)) throw error;
        if (!isLockTimeout(error)) deps.logger.error({ err: error, partnerId, programId: actor.programId }, "payout run: drafting failed for one partner");
        report.skipped.push({ partnerId, code: "CONCURRENT_UPDATE", message: "the partner's records were busy; run again to draft this one" });
      }
    }

    const stored = await transact(deps, actor, async (tx) => {
      await tx.db.payoutRun.update({ where: { id: runId }, data: { skipped: report.skipped as unknown as object[], finishedAt: tx.now } });
      await audit(tx, {
        action: "payout.run",
        entityType: "PayoutRun",
        entityId: runId,
        after: {
          payableBefore: before,
          drafted: report.payoutIds.length,
          skipped: report.skipped.length,
          idempotencyKey: key,
          resumed: earlier.length > 0 ? earlier.length : undefined,
        },
      });
      if (key) {
        await tx.db.$executeRaw`UPDATE idempotency_keys SET response = ${JSON.stringify(report)}::jsonb
          WHERE program_id = ${tx.programId}::uuid AND operation = ${OPERATION} AND key = ${key}`;
      }
    });
    if (!stored.ok) return stored;
    return { ok: true, value: report };
  } finally {
    await lock?.release();
  }
}
