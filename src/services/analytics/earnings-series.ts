import type { ScopedPrisma } from "../../db/tenant-scope.ts";
import type { LocalDate } from "../../domain/payout-schedule.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import type { Actor } from "../deps.ts";
import { dayRange, periodStarts, TRUNC_UNIT, type AnalyticsPeriod, type RangeResult } from "./analytics-range.ts";
import { accrualMovements, salesMovements, type MovementScope } from "./earnings-lines.ts";

export interface EarningsPoint {
  periodStart: LocalDate;
  sales: string;
  conversions: number;
  accrued: string;
  reversed: string;
  paidOut: string;
}

export interface EarningsSeries {
  currency: string;
  timeZone: string;
  period: AnalyticsPeriod;
  from: LocalDate;
  to: LocalDate;
  partnerId: string | null;
  points: EarningsPoint[];
}

export interface EarningsSeriesInput {
  period: AnalyticsPeriod;
  from: LocalDate;
  to: LocalDate;
  partnerId?: string | null;
}

/**
 * Sales, commission accrued and reversed, and payouts paid, by day, week or
 * month in the program's time zone, for the program or one partner, in one
 * statement. Every period from `from` to `to` has a point (empty ones are
 * zero). A partner actor always gets its own figures; the resolver refuses
 * one naming another partner before this runs.
 * Errors (as messages): `to` before `from`, more than MAX_SERIES_POINTS periods.
 */
export async function earningsSeries(db: ScopedPrisma, actor: Actor, input: EarningsSeriesInput): Promise<RangeResult<EarningsSeries>> {
  const partnerId = actor.partnerId ?? input.partnerId ?? undefined;
  const program = await db.program.findUniqueOrThrow({ where: { id: actor.programId }, select: { currency: true, timeZone: true } });
  const range = dayRange(input.from, input.to, program.timeZone);
  if (!range.ok) return range;
  const starts = periodStarts(input.period, input.from, input.to);
  if (!starts.ok) return starts;
  const scope: MovementScope = { programId: actor.programId, partnerId, ...range.value, unit: TRUNC_UNIT[input.period], timeZone: program.timeZone };
  const paidAt = Prisma.sql`date_trunc(${scope.unit}, p.paid_at AT TIME ZONE ${scope.timeZone})::date`;
  const rows = await db.$queryRaw<{ bucket: Date; sales: string; conversions: number; accrued: string; reversed: string; paid_out: string }[]>`
    WITH movements AS (
      ${accrualMovements(scope)}
      UNION ALL
      ${salesMovements(scope, !partnerId)}
    ), paid AS (
      SELECT ${paidAt} AS bucket, sum(p.amount) AS paid_out
        FROM payouts p
       WHERE p.program_id = ${actor.programId}::uuid ${partnerId ? Prisma.sql`AND p.partner_id = ${partnerId}::uuid` : Prisma.empty}
         AND p.status = 'PAID' AND p.paid_at >= ${scope.start} AND p.paid_at < ${scope.end}
       GROUP BY 1
    ), earned AS (
      SELECT bucket, sum(sales) AS sales, sum(conversions)::int AS conversions, sum(accrued) AS accrued, sum(reversed) AS reversed
        FROM movements GROUP BY bucket
    )
    SELECT coalesce(e.bucket, p.bucket) AS bucket,
           coalesce(e.sales, 0)::text AS sales, coalesce(e.conversions, 0) AS conversions,
           coalesce(e.accrued, 0)::text AS accrued, coalesce(e.reversed, 0)::text AS reversed,
           coalesce(p.paid_out, 0)::text AS paid_out
      FROM earned e FULL JOIN paid p ON p.bucket = e.bucket`;
  const byStart = new Map(rows.map((row) => [row.bucket.toISOString().slice(0, 10), row]));
  return {
    ok: true,
    value: {
      currency: program.currency,
      timeZone: program.timeZone,
      period: input.period,
      from: input.from,
      to: input.to,
      partnerId: partnerId ?? null,
      points: starts.value.map((periodStart) => {
        const row = byStart.get(periodStart);
        return {
          periodStart,
          sales: row?.sales ?? "0",
          conversions: row?.conversions ?? 0,
          accrued: row?.accrued ?? "0",
          reversed: row?.reversed ?? "0",
          paidOut: row?.paid_out ?? "0",
        };
      }),
    },
  };
}
