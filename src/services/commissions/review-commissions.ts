import { transitionCommission, type CommissionAction } from "../../domain/commission-status.ts";
import { userError, UserErrorsThrown, type Result, type UserError, type UserErrorCode } from "../../domain/errors.ts";
import { Ledger, loadLines, writeStatusChanges, type LineRow, type StatusChange } from "../ledger/ledger.ts";
import { audit, transact, type Actor, type AuditInput, type ServiceDeps } from "../runtime.ts";

export type ReviewAction = Extract<CommissionAction, "approve" | "hold" | "release" | "cancel" | "reinstate">;

export interface SkippedItem {
  id: string;
  code: UserErrorCode;
  message: string;
}

export interface BulkResult {
  /** Ids changed, in the order asked. */
  changed: string[];
  /** Ids left alone, with why. */
  skipped: SkippedItem[];
}

export const MAX_BULK = 500;

/** Lines that correct another line and share its fate while unpaid (an adjustment, a partial reversal). */
const DEPENDENT_KINDS = ["ADJUSTMENT", "REVERSAL"];

/**
 * Approves, holds, releases, cancels or reinstates commission lines, one or
 * many. Each asked line moves by the transition table or is skipped with the
 * reason (bulk operations report what they skipped rather than failing).
 * Unpaid corrections of a line (its adjustments and partial reversals in the
 * same status) move with it. Hold and cancel need a reason.
 * Errors: INVALID_INPUT (no ids, too many, missing reason). Skips:
 * NOT_FOUND, INVALID_TRANSITION, IN_OPEN_PAYOUT.
 */
export function reviewCommissions(
  deps: ServiceDeps,
  actor: Actor,
  action: ReviewAction,
  ids: string[],
  reason?: string | null,
): Promise<Result<BulkResult>> {
  const problems: UserError[] = [];
  const unique = [...new Set(ids)];
  if (unique.length === 0 || unique.length > MAX_BULK) problems.push(userError("INVALID_INPUT", `name 1 to ${MAX_BULK} commissions`, ["input", "ids"]));
  const trimmed = reason?.trim() || null;
  if ((action === "hold" || action === "cancel") && !trimmed) problems.push(userError("INVALID_INPUT", `a reason is required to ${action}`, ["input", "reason"]));
  if (trimmed && trimmed.length > 1000) problems.push(userError("INVALID_INPUT", "reason must be at most 1000 characters", ["input", "reason"]));
  if (problems.length > 0) return Promise.resolve({ ok: false, errors: problems });

  return transact(deps, actor, async (tx) => {
    const ledger = new Ledger(tx);
    const first = await loadLines(tx, { id: { in: unique } });
    await ledger.lockPartners(first.map((line) => line.partnerId));
    // Read again under the partners' locks: this is the state we decide on.
    const lines = new Map((await loadLines(tx, { id: { in: unique } })).map((line) => [line.id, line]));
    const dependents = await loadLines(tx, { relatedId: { in: [...lines.keys()] }, kind: { in: DEPENDENT_KINDS as never } });

    const result: BulkResult = { changed: [], skipped: [] };
    const changes: StatusChange[] = [];
    const audits: AuditInput[] = [];
    const apply = (line: LineRow, via?: string) => {
      const outcome = transitionCommission(line, action);
      if (!outcome.ok) return outcome;
      const after: LineRow = { ...line, status: outcome.status, heldFromStatus: outcome.heldFromStatus };
      changes.push({ id: line.id, status: after.status, heldFromStatus: after.heldFromStatus, ...(trimmed || action === "release" ? { statusReason: trimmed } : {}) });
      ledger.changed(line, after);
      audits.push({
        action: `commission.${action}`,
        entityType: "Commission",
        entityId: line.id,
        before: { status: line.status },
        after: { status: after.status, ...(via ? { followed: via } : {}) },
        reason: trimmed,
      });
      return outcome;
    };

    for (const id of unique) {
      const line = lines.get(id);
      if (!line) {
        result.skipped.push({ id, code: "NOT_FOUND", message: "no such commission" });
        continue;
      }
      const before = line.status;
      const outcome = apply(line);
      if (!outcome.ok) {
        result.skipped.push({ id, code: outcome.code, message: outcome.message });
        continue;
      }
      result.changed.push(id);
      for (const dependent of dependents) {
        if (dependent.relatedId === id && dependent.status === before && !dependent.inOpenPayout && !lines.has(dependent.id)) apply(dependent, id);
      }
    }
    if (result.changed.length === 0 && result.skipped.length === 0) throw new UserErrorsThrown([userError("INVALID_INPUT", "nothing to do")]);
    await writeStatusChanges(tx, changes);
    await audit(tx, ...audits);
    await ledger.flush();
    return result;
  });
}
