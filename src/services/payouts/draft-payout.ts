import { BLOCKER_MESSAGES, payoutBlockers } from "../../domain/payout-eligibility.ts";
import { dec } from "../../domain/money.ts";
import { fail } from "../../domain/errors.ts";
import { uniqueViolation } from "../../db/errors.ts";
import type { Payout } from "../../generated/prisma/client.ts";
import { Ledger } from "../ledger/ledger.ts";
import { audit } from "../audit.ts";
import type { Tx } from "../transact.ts";
import { emitPayout, matureDueLines, payableLines } from "./payout-lines.ts";

export interface DraftPayoutOptions {
  partnerId: string;
  /** Positive lines payable at or before this instant are gathered; negative ones payable now always are. Default now. */
  payableBefore?: Date | null;
  /** An admin's reason to pay below the minimum (a partner who leaves). */
  overrideMinimumReason?: string | null;
  /** Where a problem with the partner points (for field paths). */
  partnerField?: string[];
  /** The payout run drafting it, if any. */
  runId?: string | null;
}

/**
 * Drafts a payout of all the partner's payable lines, negatives included,
 * inside the caller's transaction (an earlier `payableBefore` limits the
 * positive lines only; a clawback always nets against the next payout):
 * under the partner's balance lock, lines whose hold has ended are matured
 * first, then gathered; the net must be
 * positive and reach the program's minimum (unless overridden), and the
 * partner needs a payout method and billing details. The lines move from
 * payable to in-payouts.
 * Errors: NOT_FOUND, OPEN_PAYOUT_EXISTS, NOT_POSITIVE, BELOW_MINIMUM,
 * NO_PAYOUT_METHOD, NO_BILLING_DETAILS, INVALID_INPUT.
 */
export async function draftPayout(tx: Tx, options: DraftPayoutOptions): Promise<Payout> {
  const field = options.partnerField ?? ["input", "partnerId"];
  const payableBefore = options.payableBefore ?? tx.now;
  if (payableBefore.getTime() > tx.now.getTime()) fail("INVALID_INPUT", "payableBefore cannot be in the future", ["input", "payableBefore"]);
  const reason = options.overrideMinimumReason?.trim() || null;
  if (options.overrideMinimumReason != null && !reason) fail("INVALID_INPUT", "an override needs a reason", ["input", "overrideMinimumReason"]);
  if (reason && tx.actor.role !== "admin") fail("INVALID_INPUT", "only an admin may pay below the minimum", ["input", "overrideMinimumReason"]);

  const ledger = new Ledger(tx, "payout.create");
  const balance = (await ledger.lockPartners([options.partnerId])).get(options.partnerId);
  if (!balance) fail("NOT_FOUND", "no such partner", field);
  await matureDueLines(tx, ledger, [options.partnerId]);
  const [program, openPayout, methods, billing] = await Promise.all([
    tx.db.program.findUniqueOrThrow({ where: { id: tx.programId }, select: { minimumPayout: true, currency: true } }),
    tx.db.payout.findFirst({ where: { partnerId: options.partnerId, status: { in: ["DRAFT", "APPROVED"] } }, select: { id: true } }),
    tx.db.payoutMethod.count({ where: { partnerId: options.partnerId } }),
    tx.db.billingProfile.count({ where: { partnerId: options.partnerId } }),
  ]);
  const { lines, net } = await payableLines(tx, options.partnerId, payableBefore);
  const blockers = payoutBlockers({
    payable: net,
    minimum: dec(program.minimumPayout),
    hasPayoutMethod: methods > 0,
    hasBillingDetails: billing > 0,
    hasOpenPayout: openPayout !== null,
    overrideMinimum: reason !== null,
  });
  const blocker = blockers[0];
  if (blocker) fail(blocker, BLOCKER_MESSAGES[blocker], field);

  let payout: Payout;
  try {
    payout = await tx.db.payout.create({
      data: {
        programId: tx.programId,
        partnerId: options.partnerId,
        status: "DRAFT",
        amount: net.toFixed(),
        currency: program.currency,
        payableBefore,
        minimumOverrideReason: reason,
        createdBy: tx.actor.id,
        runId: options.runId ?? null,
      },
    });
  } catch (error) {
    // The partial unique index on open payouts: a concurrent run got there first.
    if (uniqueViolation(error) !== undefined) fail("OPEN_PAYOUT_EXISTS", BLOCKER_MESSAGES.OPEN_PAYOUT_EXISTS, field);
    throw error;
  }
  await tx.db.payoutItem.createMany({
    data: lines.map((line) => ({ programId: tx.programId, payoutId: payout.id, commissionId: line.id, amount: line.amount.toFixed() })),
  });
  for (const line of lines) ledger.move(line, line, { ...line, inOpenPayout: true, openPayout: payout });
  emitPayout(ledger, payout);
  await audit(tx, {
    action: "payout.create",
    entityType: "Payout",
    entityId: payout.id,
    after: { status: "DRAFT", amount: payout.amount.toFixed(), lines: lines.length, payableBefore },
    reason,
  });
  await ledger.flush();
  return payout;
}
