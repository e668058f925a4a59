import { dec } from "../../domain/money.ts";
import type { ScopedPrisma } from "../../db/tenant-scope.ts";

export interface BalanceMismatch {
  partnerId: string;
  bucket: "pending" | "payable" | "inPayouts" | "paid" | "lifetimeEarned";
  /** What the balance row was checked against: the sum of the partner's lines, or of its movements. */
  source: "lines" | "movements";
  projected: string;
  computed: string;
}

export interface ReconcileReport {
  checkedPartners: number;
  mismatches: BalanceMismatch[];
}

/**
 * Proves the balance projection twice over: every balance row must equal,
 * bucket by bucket, the sum of the partner's movements (balance_movements,
 * read by its program and partner index) and the sum of its lines bucketed
 * as they stand. The bucket rules for lines here are src/domain/balance.ts's
 * `bucketOf` in SQL; the property tests hold the two to each other. One
 * statement, read-only. A line's place in an open payout is found by one
 * join with the program's open payouts' items (few), not a lookup per line:
 * a million lines are read once.
 */
export async function reconcileBalances(db: ScopedPrisma, programId: string): Promise<ReconcileReport> {
  const rows = await db.$queryRaw<
    {
      partner_id: string;
      pending: string;
      payable: string;
      in_payouts: string;
      paid: string;
      lifetime_earned: string;
      s_pending: string;
      s_payable: string;
      s_in_payouts: string;
      s_paid: string;
      s_lifetime: string;
      m_pending: string;
      m_payable: string;
      m_in_payouts: string;
      m_paid: string;
      m_lifetime: string;
    }[]
  >`
    WITH in_open AS (
      SELECT DISTINCT i.commission_id
        FROM payouts p JOIN payout_items i ON i.program_id = p.program_id AND i.payout_id = p.id
       WHERE p.program_id = ${programId}::uuid AND p.status IN ('DRAFT', 'APPROVED', 'PROCESSING') AND i.active
    ), lines AS (
      SELECT c.partner_id, c.amount, c.status, c.matured, o.commission_id IS NOT NULL AS in_open
        FROM commissions c LEFT JOIN in_open o ON o.commission_id = c.id
       WHERE c.program_id = ${programId}::uuid
    ), sums AS (
      SELECT partner_id,
             coalesce(sum(amount) FILTER (WHERE NOT in_open AND (status IN ('PENDING', 'ON_HOLD') OR (status = 'APPROVED' AND NOT matured))), 0) AS pending,
             coalesce(sum(amount) FILTER (WHERE NOT in_open AND status = 'APPROVED' AND matured), 0) AS payable,
             coalesce(sum(amount) FILTER (WHERE in_open), 0) AS in_payouts,
             coalesce(sum(amount) FILTER (WHERE NOT in_open AND status = 'PAID'), 0) AS paid,
             coalesce(sum(amount) FILTER (WHERE in_open OR status NOT IN ('CANCELLED', 'REVERSED')), 0) AS lifetime
        FROM lines GROUP BY partner_id
    ), moved AS (
      SELECT m.partner_id,
             coalesce(sum(m.amount) FILTER (WHERE m.to_bucket = 'pending'), 0) - coalesce(sum(m.amount) FILTER (WHERE m.from_bucket = 'pending'), 0) AS pending,
             coalesce(sum(m.amount) FILTER (WHERE m.to_bucket = 'payable'), 0) - coalesce(sum(m.amount) FILTER (WHERE m.from_bucket = 'payable'), 0) AS payable,
             coalesce(sum(m.amount) FILTER (WHERE m.to_bucket = 'in_payouts'), 0) - coalesce(sum(m.amount) FILTER (WHERE m.from_bucket = 'in_payouts'), 0) AS in_payouts,
             coalesce(sum(m.amount) FILTER (WHERE m.to_bucket = 'paid'), 0) - coalesce(sum(m.amount) FILTER (WHERE m.from_bucket = 'paid'), 0) AS paid,
             coalesce(sum(m.amount) FILTER (WHERE m.to_bucket IS NOT NULL), 0) - coalesce(sum(m.amount) FILTER (WHERE m.from_bucket IS NOT NULL), 0) AS lifetime
        FROM balance_movements m
       WHERE m.program_id = ${programId}::uuid
       GROUP BY m.partner_id
    )
    SELECT b.partner_id::text, b.pending::text, b.payable::text, b.in_payouts::text, b.paid::text, b.lifetime_earned::text,
           coalesce(s.pending, 0)::text AS s_pending, coalesce(s.payable, 0)::text AS s_payable,
           coalesce(s.in_payouts, 0)::text AS s_in_payouts, coalesce(s.paid, 0)::text AS s_paid, coalesce(s.lifetime, 0)::text AS s_lifetime,
           coalesce(m.pending, 0)::text AS m_pending, coalesce(m.payable, 0)::text AS m_payable,
           coalesce(m.in_payouts, 0)::text AS m_in_payouts, coalesce(m.paid, 0)::text AS m_paid, coalesce(m.lifetime, 0)::text AS m_lifetime
      FROM balances b
      LEFT JOIN sums s ON s.partner_id = b.partner_id
      LEFT JOIN moved m ON m.partner_id = b.partner_id
     WHERE b.program_id = ${programId}::uuid
     ORDER BY b.partner_id`;
  const mismatches: BalanceMismatch[] = [];
  for (const row of rows) {
    const checks: [BalanceMismatch["source"], BalanceMismatch["bucket"], string, string][] = [
      ["lines", "pending", row.pending, row.s_pending],
      ["lines", "payable", row.payable, row.s_payable],
      ["lines", "inPayouts", row.in_payouts, row.s_in_payouts],
      ["lines", "paid", row.paid, row.s_paid],
      ["lines", "lifetimeEarned", row.lifetime_earned, row.s_lifetime],
      ["movements", "pending", row.pending, row.m_pending],
      ["movements", "payable", row.payable, row.m_payable],
      ["movements", "inPayouts", row.in_payouts, row.m_in_payouts],
      ["movements", "paid", row.paid, row.m_paid],
      ["movements", "lifetimeEarned", row.lifetime_earned, row.m_lifetime],
    ];
    for (const [source, bucket, projected, computed] of checks) {
      if (!dec(projected).equals(dec(computed))) {
        mismatches.push({ partnerId: row.partner_id, bucket, source, projected: dec(projected).toFixed(), computed: dec(computed).toFixed() });
      }
    }
  }
  return { checkedPartners: rows.length, mismatches };
}
