import { Prisma } from "../../generated/prisma/client.ts";

/**
 * The SQL both earnings analytics share: every movement of commission in a
 * range, dated in program time, one row each, so a series sums them by
 * period and the ranking by partner. Definitions (the schema repeats them):
 *
 * - accrued: sale commissions, adjustments and credits, dated by the line's
 *   `occurredAt`, whatever their status but CANCELLED (a declined line never
 *   accrued). A credit that rebooks a bounced payment is not earned again.
 * - reversed: what refunds and chargebacks took back, as a positive figure,
 *   dated by the refund: the REVERSAL and CLAWBACK lines they booked, plus
 *   lines marked REVERSED by a full refund, dated by the sale's last refund.
 *   A reversal share later marked REVERSED with its line nets to nothing,
 *   so a sale refunded in steps counts its commission once.
 * - sales: the sale in the program's currency, for each CONVERSION line (per
 *   partner) or each conversion (the program), dated by the sale.
 *
 * Each part is served by an index that starts (program_id, occurred_at),
 * (program_id, partner_id, occurred_at) or (program_id, status, …); see
 * test/api/analytics-indexes.test.ts.
 */
export interface MovementScope {
  programId: string;
  /** Only this partner's movements. */
  partnerId?: string;
  start: Date;
  end: Date;
  /** date_trunc's unit, to date rows by period; null leaves `bucket` null. */
  unit: string | null;
  timeZone: string;
}

function bucket(column: Prisma.Sql, scope: MovementScope): Prisma.Sql {
  return scope.unit ? Prisma.sql`date_trunc(${scope.unit}, ${column} AT TIME ZONE ${scope.timeZone})::date` : Prisma.sql`NULL::date`;
}

function partnerIs(alias: string, scope: MovementScope): Prisma.Sql {
  return scope.partnerId ? Prisma.sql`AND ${Prisma.raw(alias)}.partner_id = ${scope.partnerId}::uuid` : Prisma.empty;
}

function inRange(column: Prisma.Sql, scope: MovementScope): Prisma.Sql {
  return Prisma.sql`${column} >= ${scope.start} AND ${column} < ${scope.end}`;
}

/** Rows (bucket, partner_id, accrued, reversed, sales, conversions): what was earned and taken back. */
export function accrualMovements(scope: MovementScope): Prisma.Sql {
  return Prisma.sql`
    SELECT ${bucket(Prisma.sql`m.occurred_at`, scope)} AS bucket, m.partner_id,
           CASE WHEN m.kind IN ('CONVERSION', 'ADJUSTMENT', 'CREDIT') AND m.reason_code IS DISTINCT FROM 'PAYMENT_BOUNCED' THEN m.amount ELSE 0 END AS accrued,
           CASE WHEN m.kind IN ('REVERSAL', 'CLAWBACK') THEN -m.amount ELSE 0 END AS reversed,
           0::numeric AS sales, 0 AS conversions
      FROM commissions m
     WHERE m.program_id = ${scope.programId}::uuid ${partnerIs("m", scope)} AND ${inRange(Prisma.sql`m.occurred_at`, scope)}
       AND m.status <> 'CANCELLED' AND m.kind IN ('CONVERSION', 'ADJUSTMENT', 'CREDIT', 'REVERSAL', 'CLAWBACK')
    UNION ALL
    SELECT ${bucket(Prisma.sql`r.at`, scope)}, m.partner_id, 0, m.amount, 0, 0
      FROM commissions m
      CROSS JOIN LATERAL (SELECT max(x.occurred_at) AS at FROM reversals x WHERE x.program_id = m.program_id AND x.conversion_id = m.conversion_id) r
     WHERE m.program_id = ${scope.programId}::uuid ${partnerIs("m", scope)} AND m.status = 'REVERSED' AND ${inRange(Prisma.sql`r.at`, scope)}`;
}

/**
 * Rows of the same shape for sales: per partner, each CONVERSION line's sale
 * (a sale two partners share counts for both); for the whole program, each
 * conversion once.
 */
export function salesMovements(scope: MovementScope, perConversion: boolean): Prisma.Sql {
  if (perConversion) {
    return Prisma.sql`
      SELECT ${bucket(Prisma.sql`c.occurred_at`, scope)} AS bucket, NULL::uuid AS partner_id, 0::numeric AS accrued, 0::numeric AS reversed, c.program_amount AS sales, 1 AS conversions
        FROM conversions c
       WHERE c.program_id = ${scope.programId}::uuid AND ${inRange(Prisma.sql`c.occurred_at`, scope)}`;
  }
  return Prisma.sql`
    SELECT ${bucket(Prisma.sql`m.occurred_at`, scope)} AS bucket, m.partner_id, 0::numeric AS accrued, 0::numeric AS reversed, c.program_amount AS sales, 1 AS conversions
      FROM commissions m
      JOIN conversions c ON c.id = m.conversion_id AND c.program_id = m.program_id
     WHERE m.program_id = ${scope.programId}::uuid ${partnerIs("m", scope)} AND ${inRange(Prisma.sql`m.occurred_at`, scope)} AND m.kind = 'CONVERSION'`;
}
