import type { ScopedPrisma } from "../../db/tenant-scope.ts";
import type { LocalDate } from "../../domain/payout-schedule.ts";
import type { Actor } from "../deps.ts";
import { dayRange, type RangeResult } from "./analytics-range.ts";
import { accrualMovements, salesMovements, type MovementScope } from "./earnings-lines.ts";

export interface PartnerEarnings {
  partnerId: string;
  currency: string;
  earned: string;
  accrued: string;
  reversed: string;
  sales: string;
  conversions: number;
}

/**
 * The partners who earned most in a period (program time, both dates
 * inclusive): accrued less reversed, as the earnings series defines them,
 * largest first (ties by partner id), in one statement.
 * Errors (as messages): `to` before `from`.
 */
export async function topPartners(db: ScopedPrisma, actor: Actor, input: { from: LocalDate; to: LocalDate; first: number }): Promise<RangeResult<PartnerEarnings[]>> {
  const program = await db.program.findUniqueOrThrow({ where: { id: actor.programId }, select: { currency: true, timeZone: true } });
  const range = dayRange(input.from, input.to, program.timeZone);
  if (!range.ok) return range;
  const scope: MovementScope = { programId: actor.programId, partnerId: actor.partnerId, ...range.value, unit: null, timeZone: program.timeZone };
  const rows = await db.$queryRaw<{ partner_id: string; earned: string; accrued: string; reversed: string; sales: string; conversions: number }[]>`
    SELECT partner_id, (sum(accrued) - sum(reversed))::text AS earned, sum(accrued)::text AS accrued, sum(reversed)::text AS reversed,
           sum(sales)::text AS sales, sum(conversions)::int AS conversions
      FROM (${accrualMovements(scope)} UNION ALL ${salesMovements(scope, false)}) movements
     GROUP BY partner_id
     ORDER BY sum(accrued) - sum(reversed) DESC, partner_id
     LIMIT ${input.first}`;
  return {
    ok: true,
    value: rows.map((row) => ({
      partnerId: row.partner_id,
      currency: program.currency,
      earned: row.earned,
      accrued: row.accrued,
      reversed: row.reversed,
      sales: row.sales,
      conversions: row.conversions,
    })),
  };
}
