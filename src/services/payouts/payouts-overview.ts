import type { ScopedPrisma } from "../../db/tenant-scope.ts";
import { monthOf } from "../../domain/program-time.ts";
import { unmarkedPayableSql } from "../commissions/payable-lines.ts";

export interface PayoutsOverview {
  currency: string;
  /** Positive payable balances: what the program owes now. */
  owedToPartners: string;
  /** Negative payable balances, as a positive figure: clawbacks to recover from future earnings. */
  recoverable: string;
  /**
   * What a payout run would draft now: the payable balances, positive and at
   * or above the minimum, of partners the run would not skip (a payout
   * method and billing details on file, no open payout).
   */
  payableNow: string;
  payableNowPartners: number;
  pending: string;
  draftCount: number;
  draftAmount: string;
  approvedCount: number;
  approvedAmount: string;
  paidThisMonthCount: number;
  paidThisMonthAmount: string;
}

/**
 * The payouts dashboard's numbers, in two read-only statements; payable and
 * pending follow the payable rule at `now`, whether the hold-release job has
 * run or not. "This month" is the calendar month in the program's time zone.
 */
export async function payoutsOverview(db: ScopedPrisma, programId: string, now: Date): Promise<PayoutsOverview> {
  const program = await db.program.findUniqueOrThrow({ where: { id: programId }, select: { currency: true, timeZone: true, minimumPayout: true } });
  const month = monthOf(now, program.timeZone);
  const [row] = await db.$queryRaw<
    {
      owed: string;
      recoverable: string;
      payable_now: string;
      payable_now_partners: number;
      pending: string;
      draft_count: number;
      draft_amount: string;
      approved_count: number;
      approved_amount: string;
      paid_count: number;
      paid_amount: string;
    }[]
  >`
    WITH b AS (
      SELECT coalesce(sum(payable) FILTER (WHERE payable > 0), 0) AS owed,
             coalesce(-sum(payable) FILTER (WHERE payable < 0), 0) AS recoverable,
             coalesce(sum(payable) FILTER (WHERE drafts), 0) AS payable_now,
             count(*) FILTER (WHERE drafts)::int AS payable_now_partners,
             coalesce(sum(pending), 0) AS pending
        FROM (
          SELECT bal.payable, bal.pending,
                 -- What runPayouts checks: the amount, then a payout method, billing details and no open payout.
                 (bal.payable > 0 AND bal.payable >= ${program.minimumPayout.toFixed()}::numeric
                  AND EXISTS (SELECT 1 FROM payout_methods m WHERE m.program_id = bal.program_id AND m.partner_id = bal.partner_id)
                  AND EXISTS (SELECT 1 FROM billing_profiles bp WHERE bp.program_id = bal.program_id AND bp.partner_id = bal.partner_id)
                  AND NOT EXISTS (SELECT 1 FROM payouts o WHERE o.program_id = bal.program_id AND o.partner_id = bal.partner_id AND o.status IN ('DRAFT', 'APPROVED'))) AS drafts
            FROM (
              -- The stored balances read by the payable rule (domain/payable.ts, withHoldsEnded):
              -- lines whose hold ended since the projection last marked them are payable, not pending.
              SELECT s.program_id, s.partner_id, s.payable + coalesce(u.amount, 0) AS payable, s.pending - coalesce(u.amount, 0) AS pending
                FROM balances s
                LEFT JOIN (SELECT c.partner_id, sum(c.amount) AS amount FROM commissions c
                            WHERE c.program_id = ${programId}::uuid AND ${unmarkedPayableSql(now)} GROUP BY c.partner_id) u ON u.partner_id = s.partner_id
               WHERE s.program_id = ${programId}::uuid
            ) bal
        ) bb
    ), p AS (
      SELECT count(*) FILTER (WHERE status = 'DRAFT')::int AS draft_count,
             coalesce(sum(amount) FILTER (WHERE status = 'DRAFT'), 0) AS draft_amount,
             count(*) FILTER (WHERE status = 'APPROVED')::int AS approved_count,
             coalesce(sum(amount) FILTER (WHERE status = 'APPROVED'), 0) AS approved_amount,
             count(*) FILTER (WHERE status = 'PAID' AND paid_at >= ${month.start} AND paid_at < ${month.end})::int AS paid_count,
             coalesce(sum(amount) FILTER (WHERE status = 'PAID' AND paid_at >= ${month.start} AND paid_at < ${month.end}), 0) AS paid_amount
        FROM payouts WHERE program_id = ${programId}::uuid AND (status IN ('DRAFT', 'APPROVED') OR paid_at >= ${month.start})
    )
    SELECT b.owed::text, b.recoverable::text, b.payable_now::text, b.payable_now_partners, b.pending::text,
           p.draft_count, p.draft_amount::text, p.approved_count, p.approved_amount::text, p.paid_count, p.paid_amount::text
      FROM b, p`;
  return {
    currency: program.currency,
    owedToPartners: row!.owed,
    recoverable: row!.recoverable,
    payableNow: row!.payable_now,
    payableNowPartners: row!.payable_now_partners,
    pending: row!.pending,
    draftCount: row!.draft_count,
    draftAmount: row!.draft_amount,
    approvedCount: row!.approved_count,
    approvedAmount: row!.approved_amount,
    paidThisMonthCount: row!.paid_count,
    paidThisMonthAmount: row!.paid_amount,
  };
}
