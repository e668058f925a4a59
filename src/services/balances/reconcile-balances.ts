import { dec } from "../../domain/money.ts";
import type { ScopedPrisma } from "../../db/tenant-scope.ts";

export interface BalanceMismatch {
  partnerId: string;
  bucket: "pending" | "payable" | "inPayouts" | "paid" | "lifetimeEarned";
  projected: string;
  computed: string;
}

export interface ReconcileReport {
  checkedPartners: number;
  mismatches: BalanceMismatch[];
}

/**
 * Proves the balance projection: sums every partner's lines by bucket, from
 * the lines themselves, and compares with the balance rows. The bucket rules
 * here are src/domain/balance.ts's `bucketOf` in SQL; the property tests hold
 * the two to each other. One statement, read-only.
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
    }[]
  >`
    WITH lines AS (
      SELECT c.partner_id, c.amount, c.status, c.matured,
             EXISTS (SELECT 1 FROM payout_items i JOIN payouts p ON p.id = i.payout_id
                      WHERE i.commission_id = c.id AND i.active AND p.status IN ('DRAFT', 'APPROVED', 'PROCESSING')) AS in_open
        FROM commissions c
       WHERE c.program_id = ${programId}::uuid
    ), sums AS (
      SELECT partner_id,
             coalesce(sum(amount) FILTER (WHERE NOT in_open AND (status IN ('PENDING', 'ON_HOLD') OR (status = 'APPROVED' AND NOT matured))), 0) AS pending,
             coalesce(sum(amount) FILTER (WHERE NOT in_open AND status = 'APPROVED' AND matured), 0) AS payable,
             coalesce(sum(amount) FILTER (WHERE in_open), 0) AS in_payouts,
             coalesce(sum(amount) FILTER (WHERE NOT in_open AND status = 'PAID'), 0) AS paid,
             coalesce(sum(amount) FILTER (WHERE in_open OR status NOT IN ('CANCELLED', 'REVERSED')), 0) AS lifetime
        FROM lines GROUP BY partner_id
    )
    SELECT b.partner_id::text, b.pending::text, b.payable::text, b.in_payouts::text, b.paid::text, b.lifetime_earned::text,
           coalesce(s.pending, 0)::text AS s_pending, coalesce(s.payable, 0)::text AS s_payable,
           coalesce(s.in_payouts, 0)::text AS s_in_payouts, coalesce(s.paid, 0)::text AS s_paid, coalesce(s.lifetime, 0)::text AS s_lifetime
      FROM balances b LEFT JOIN sums s ON s.partner_id = b.partner_id
     WHERE b.program_id = ${programId}::uuid
     ORDER BY b.partner_id`;
  const mismatches: BalanceMismatch[] = [];
  for (const row of rows) {
    const pairs: [BalanceMismatch["bucket"], string, string][] = [
      ["pending", row.pending, row.s_pending],
      ["payable", row.payable, row.s_payable],
      ["inPayouts", row.in_payouts, row.s_in_payouts],
      ["paid", row.paid, row.s_paid],
      ["lifetimeEarned", row.lifetime_earned, row.s_lifetime],
    ];
    for (const [bucket, projected, computed] of pairs) {
      if (!dec(projected).equals(dec(computed))) {
        mismatches.push({ partnerId: row.partner_id, bucket, projected: dec(projected).toFixed(), computed: dec(computed).toFixed() });
      }
    }
  }
  return { checkedPartners: rows.length, mismatches };
}
