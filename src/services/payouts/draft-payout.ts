import { BLOCKER_MESSAGES, payoutBlockers } from "../../domain/payout-eligibility.ts";
import type { CurrencyCode } from "../../domain/currency.ts";
import type { Decimal } from "decimal.js";
import { dec, formatAmount, parseAmount, sum } from "../../domain/money.ts";
import { settleUpTo } from "../../domain/settle-up-to.ts";
import { fail } from "../../domain/errors.ts";
import { uniqueViolation } from "../../db/errors.ts";
import type { Payout } from "../../generated/prisma/client.ts";
import { Ledger, type LineRow } from "../ledger/ledger.ts";
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
  /** Settle at most this amount (whole lines, oldest first: see settleUpTo); default everything payable. */
  upTo?: string | null;
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
 * With `upTo`, only the whole lines that fit within it are taken (every
 * negative line, then positive ones oldest first until the next would go
 * above it: settleUpTo); the rest stay payable.
 * Errors: NOT_FOUND, OPEN_PAYOUT_EXISTS, NOT_POSITIVE, BELOW_MINIMUM,
 * NO_PAYOUT_METHOD, NO_BILLING_DETAILS, INVALID_INPUT, INVALID_AMOUNT (upTo
 * is not a positive amount in the program's currency, or no line fits in it).
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
  const payable = await payableLines(tx, options.partnerId, payableBefore);
  const { lines, net } = options.upTo == null ? payable : chooseUpTo(payable.lines, options.upTo, program.currency as CurrencyCode);
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
    after: { status: "DRAFT", amount: payout.amount.toFixed(), lines: lines.length, payableBefore, ...(options.upTo != null ? { upTo: options.upTo } : {}) },
    reason,
  });
  await ledger.flush();
  return payout;
}

/** The lines a payout of at most `upTo` takes (settleUpTo); refused when `upTo` is not an amount or no positive line fits. */
function chooseUpTo(lines: LineRow[], upTo: string, currency: CurrencyCode): { lines: LineRow[]; net: Decimal } {
  const parsed = parseAmount(upTo, currency);
  if (!parsed.ok) fail("INVALID_AMOUNT", `upTo ${parsed.message}`, ["input", "upTo"]);
  const chosen = settleUpTo(lines, parsed.value);
  const positives = lines.filter((line) => !line.amount.isNegative());
  if (positives.length > 0 && chosen.lines.length === lines.length - positives.length) {
    const oldest = settleUpTo(positives, sum(positives.map((line) => line.amount))).lines[0]!;
    fail(
      "INVALID_AMOUNT",
      `no whole line fits in ${formatAmount(parsed.value, currency)} ${currency}: the oldest payable line is ${formatAmount(oldest.amount, currency)} (lines are never split)`,
      ["input", "upTo"],
    );
  }
  return chosen;
}
