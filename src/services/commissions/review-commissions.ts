import { transitionCommission, type CommissionAction, type CommissionStatus } from "../../domain/commission-status.ts";
import { userError, UserErrorsThrown, type Result, type UserError, type UserErrorCode } from "../../domain/errors.ts";
import { Ledger, loadLines, writeStatusChanges, type LineRow, type StatusChange } from "../ledger/ledger.ts";
import { audit, type AuditInput } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";

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

/** A line's refund shares: its partial reversals and its clawbacks. */
const SHARE_KINDS: ReadonlySet<string> = new Set(["REVERSAL", "CLAWBACK"]);
/** Lines that correct another line: an operator's adjustment, or a refund share. */
const DEPENDENT_KINDS = ["ADJUSTMENT", ...SHARE_KINDS];

const shareName = (line: LineRow) => (line.kind === "CLAWBACK" ? "clawback" : "reversal share");

type DependentMove = { move: "stay" } | { move: "follow"; status?: CommissionStatus } | { move: "block"; code: UserErrorCode; message: string };

/**
 * What one of a line's dependents does when the line moves by `action`; the
 * one place this is decided.
 *
 * Why: a sale must net, for its partner, to the commission on its un-refunded
 * part while its line counts, and to nothing once the line is cancelled, and
 * balances are the sum of the lines that count. A line's refund shares (its
 * REVERSAL lines, and its CLAWBACK lines, which stay when the approved payout
 * that caused them is cancelled) are those refunds: they mean something only
 * next to their line, so whether they count follows whether it counts.
 * - cancel: every share still counting goes, whatever its status (a clawback
 *   is APPROVED while its line may be pending or held). A share already paid
 *   or in an open payout must not be touched, and cancelling the line without
 *   it would take that refund from the partner twice, so the line is refused:
 *   remove the share from its payout first, or adjust the line instead.
 * - reinstate: the shares cancelled with it come back, a reversal share with
 *   the line (PENDING), a clawback as the system booked it (APPROVED, no hold).
 * - approve, hold, release change when money moves, not what counts: a
 *   reversal share in the line's status moves with it; a clawback stays
 *   APPROVED (the system approves it, without hold) and keeps netting against
 *   payouts, so a refund is recovered without waiting for a review.
 * An adjustment (an operator's correction) moves with its line while it shares
 * the line's status and is in no payout, whatever the action.
 */
function dependentMove(action: ReviewAction, lineBefore: CommissionStatus, dependent: LineRow): DependentMove {
  if (SHARE_KINDS.has(dependent.kind) && (action === "cancel" || action === "reinstate")) {
    if (action === "reinstate") return dependent.status === "CANCELLED" ? { move: "follow", ...(dependent.kind === "CLAWBACK" ? { status: "APPROVED" } : {}) } : { move: "stay" };
    if (dependent.status === "CANCELLED" || dependent.status === "REVERSED") return { move: "stay" };
    const what = `its ${shareName(dependent)}`;
    if (dependent.status === "PAID") {
      return {
        move: "block",
        code: "INVALID_TRANSITION",
        message: `cannot cancel a commission when ${what} is already paid: the partner would lose that refund twice; adjust the commission instead`,
      };
    }
    if (dependent.inOpenPayout)
      return { move: "block", code: "IN_OPEN_PAYOUT", message: `cannot cancel a commission while ${what} is in an open payout; remove it from the payout first` };
    return { move: "follow" };
  }
  if (dependent.kind === "CLAWBACK") return { move: "stay" };
  return dependent.status === lineBefore && !dependent.inOpenPayout ? { move: "follow" } : { move: "stay" };
}

/**
 * Approves, holds, releases, cancels or reinstates commission lines, one or
 * many. Each asked line moves by the transition table or is skipped with the
 * reason (bulk operations report what they skipped rather than failing).
 * Its unpaid corrections move with it as `dependentMove` says: a cancelled
 * line takes its refund shares (reversal shares, clawbacks) along and a
 * reinstated one brings them back; a share is never cancelled or reinstated
 * on its own. Hold and cancel need a reason.
 * Errors: INVALID_INPUT (no ids, too many, missing reason). Skips:
 * NOT_FOUND, INVALID_TRANSITION (also: a share asked on its own, a share
 * already paid), IN_OPEN_PAYOUT (also: a share in an open payout).
 */
export function reviewCommissions(deps: ServiceDeps, actor: Actor, action: ReviewAction, ids: string[], reason?: string | null): Promise<Result<BulkResult>> {
  const problems: UserError[] = [];
  const unique = [...new Set(ids)];
  if (unique.length === 0 || unique.length > MAX_BULK) problems.push(userError("INVALID_INPUT", `name 1 to ${MAX_BULK} commissions`, ["input", "ids"]));
  const trimmed = reason?.trim() || null;
  if ((action === "hold" || action === "cancel") && !trimmed) problems.push(userError("INVALID_INPUT", `a reason is required to ${action}`, ["input", "reason"]));
  if (trimmed && trimmed.length > 1000) problems.push(userError("INVALID_INPUT", "reason must be at most 1000 characters", ["input", "reason"]));
  if (problems.length > 0) return Promise.resolve({ ok: false, errors: problems });

  return transact(deps, actor, async (tx) => {
    const ledger = new Ledger(tx, `commission.${action}`);
    const first = await loadLines(tx, { id: { in: unique } });
    await ledger.lockPartners(first.map((line) => line.partnerId));
    // Read again under the partners' locks: this is the state we decide on.
    const lines = new Map((await loadLines(tx, { id: { in: unique } })).map((line) => [line.id, line]));
    const dependents = await loadLines(tx, { relatedId: { in: [...lines.keys()] }, kind: { in: DEPENDENT_KINDS as never } });
    // A refund share goes with its line on cancel and reinstate, never alone.
    const sharesFollowOnly = action === "cancel" || action === "reinstate";

    const moved = new Set<string>();
    const skipped = new Map<string, SkippedItem>();
    const changes: StatusChange[] = [];
    const audits: AuditInput[] = [];
    const apply = (line: LineRow, to: { status: CommissionStatus; heldFromStatus: CommissionStatus | null }, via?: string) => {
      const after: LineRow = { ...line, status: to.status, heldFromStatus: to.heldFromStatus };
      changes.push({ id: line.id, status: after.status, heldFromStatus: after.heldFromStatus, ...(trimmed || action === "release" ? { statusReason: trimmed } : {}) });
      ledger.changed(line, after, { reason: trimmed });
      moved.add(line.id);
      audits.push({
        action: `commission.${action}`,
        entityType: "Commission",
        entityId: line.id,
        before: { status: line.status },
        after: { status: after.status, ...(via ? { followed: via } : {}) },
        reason: trimmed,
      });
    };
    const skip = (id: string, code: UserErrorCode, message: string) => skipped.set(id, { id, code, message });

    for (const id of unique) {
      const line = lines.get(id);
      if (!line) {
        skip(id, "NOT_FOUND", "no such commission");
        continue;
      }
      if (sharesFollowOnly && SHARE_KINDS.has(line.kind)) {
        // Asked together with its line: it moves (or not) with the line, below.
        if (line.relatedId && lines.has(line.relatedId)) continue;
        skip(id, "INVALID_TRANSITION", `a ${shareName(line)} is ${action === "cancel" ? "cancelled" : "reinstated"} with its commission, not on its own`);
        continue;
      }
      const outcome = transitionCommission(line, action);
      if (!outcome.ok) {
        skip(id, outcome.code, outcome.message);
        continue;
      }
      const mine = dependents
        .filter((d) => d.relatedId === id && ((sharesFollowOnly && SHARE_KINDS.has(d.kind)) || !lines.has(d.id)))
        .map((d) => ({ dependent: d, rule: dependentMove(action, line.status, d) }));
      const blocked = mine.find((m) => m.rule.move === "block")?.rule;
      if (blocked?.move === "block") {
        skip(id, blocked.code, blocked.message);
        continue;
      }
      apply(line, outcome);
      for (const { dependent, rule } of mine) {
        if (rule.move !== "follow") continue;
        const followed = transitionCommission(dependent, action);
        if (followed.ok) apply(dependent, rule.status ? { status: rule.status, heldFromStatus: null } : followed, id);
      }
    }
    // Shares asked together with their line that the line did not take along.
    for (const id of unique) {
      const line = lines.get(id);
      if (line && !moved.has(id) && !skipped.has(id)) {
        skip(id, "INVALID_TRANSITION", `a ${line.status} ${shareName(line)} moves only with its commission, which did not take it along`);
      }
    }
    const result: BulkResult = { changed: unique.filter((id) => moved.has(id)), skipped: unique.flatMap((id) => skipped.get(id) ?? []) };
    if (result.changed.length === 0 && result.skipped.length === 0) throw new UserErrorsThrown([userError("INVALID_INPUT", "nothing to do")]);
    await writeStatusChanges(tx, changes);
    await audit(tx, ...audits);
    await ledger.flush();
    return result;
  });
}
