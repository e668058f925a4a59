import { dec } from "../../domain/money.ts";
import type { ScopedPrisma } from "../../db/tenant-scope.ts";
import type { Decimal } from "decimal.js";

export interface BalanceAsOf {
  partnerId: string;
  currency: string;
  at: Date;
  pending: Decimal;
  payable: Decimal;
  inPayouts: Decimal;
  paid: Decimal;
  lifetimeEarned: Decimal;
}

/**
 * Partners' balances as the books stood at `at`: the sum of each one's
 * movements recorded at or before it, bucket by bucket (balance_movements,
 * by its program, partner and recorded_at index). For a time after the
 * movement ledger began this is exactly what the balance row held then;
 * before it, the backfill's reconstruction (see its migration). A partner
 * without a balance row (not in this program) is left out. The caller has
 * decided that the viewer may read these partners' balances; the program is
 * named in the SQL, as raw SQL skips the scoped client.
 */
export async function balancesAsOf(db: ScopedPrisma, programId: string, partnerIds: readonly string[], at: Date): Promise<Map<string, BalanceAsOf>> {
  const rows = await db.$queryRaw<{ partner_id: string; currency: string; pending: string; payable: string; in_payouts: string; paid: string; lifetime: string }[]>`
    SELECT b.partner_id::text, b.currency,
           coalesce(s.pending, 0)::text AS pending, coalesce(s.payable, 0)::text AS payable, coalesce(s.in_payouts, 0)::text AS in_payouts,
           coalesce(s.paid, 0)::text AS paid, coalesce(s.lifetime, 0)::text AS lifetime
      FROM balances b
      LEFT JOIN LATERAL (
        SELECT coalesce(sum(m.amount) FILTER (WHERE m.to_bucket = 'pending'), 0) - coalesce(sum(m.amount) FILTER (WHERE m.from_bucket = 'pending'), 0) AS pending,
               coalesce(sum(m.amount) FILTER (WHERE m.to_bucket = 'payable'), 0) - coalesce(sum(m.amount) FILTER (WHERE m.from_bucket = 'payable'), 0) AS payable,
               coalesce(sum(m.amount) FILTER (WHERE m.to_bucket = 'in_payouts'), 0) - coalesce(sum(m.amount) FILTER (WHERE m.from_bucket = 'in_payouts'), 0) AS in_payouts,
               coalesce(sum(m.amount) FILTER (WHERE m.to_bucket = 'paid'), 0) - coalesce(sum(m.amount) FILTER (WHERE m.from_bucket = 'paid'), 0) AS paid,
               coalesce(sum(m.amount) FILTER (WHERE m.to_bucket IS NOT NULL), 0) - coalesce(sum(m.amount) FILTER (WHERE m.from_bucket IS NOT NULL), 0) AS lifetime
          FROM balance_movements m
         WHERE m.program_id = b.program_id AND m.partner_id = b.partner_id AND m.recorded_at <= ${at}::timestamptz
      ) s ON true
     WHERE b.program_id = ${programId}::uuid AND b.partner_id = ANY(${[...partnerIds]}::uuid[])`;
  return new Map(
    rows.map((row) => [
      row.partner_id,
      {
        partnerId: row.partner_id,
        currency: row.currency,
        at,
        pending: dec(row.pending),
        payable: dec(row.payable),
        inPayouts: dec(row.in_payouts),
        paid: dec(row.paid),
        lifetimeEarned: dec(row.lifetime),
      },
    ]),
  );
}
