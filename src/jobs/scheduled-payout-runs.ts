import { DateTime } from "luxon";
import { latestRunDate, type PayoutSchedule } from "../domain/payout-schedule.ts";
import { runPayouts } from "../services/payouts/run-payouts.ts";
import type { ServiceDeps } from "../services/runtime.ts";

/**
 * Runs each program's scheduled payout run when its day has come (in the
 * program's time zone): weekly, bi-weekly or monthly, once per scheduled
 * date. A run drafts payouts like `runPayouts`; its idempotency key is the
 * date, so even two workers racing past the lock could not run it twice.
 * Dates before the program existed are not run.
 */
export async function runScheduledPayouts(deps: ServiceDeps): Promise<string[]> {
  const now = deps.clock.now();
  const programs = await deps.prisma.program.findMany({
    where: { payoutFrequency: { not: "ON_DEMAND" } },
    select: { id: true, timeZone: true, createdAt: true, payoutFrequency: true, payoutWeekday: true, payoutAnchorDate: true, payoutDayOfMonth: true, lastScheduledRunOn: true },
  });
  const ran: string[] = [];
  for (const program of programs) {
    const today = DateTime.fromJSDate(now, { zone: program.timeZone }).toISODate()!;
    const schedule: PayoutSchedule = {
      frequency: program.payoutFrequency,
      weekday: program.payoutWeekday,
      anchorDate: program.payoutAnchorDate?.toISOString().slice(0, 10) ?? null,
      dayOfMonth: program.payoutDayOfMonth,
    };
    const due = latestRunDate(schedule, today);
    if (!due) continue;
    const last = program.lastScheduledRunOn?.toISOString().slice(0, 10) ?? DateTime.fromJSDate(program.createdAt, { zone: program.timeZone }).minus({ days: 1 }).toISODate()!;
    if (due <= last) continue;
    const result = await runPayouts(deps, { role: "system", id: "payout-schedule", programId: program.id }, { idempotencyKey: `scheduled-${due}` });
    if (!result.ok && result.errors[0]?.code !== "IDEMPOTENCY_CONFLICT") {
      deps.logger.warn({ programId: program.id, due, errors: result.errors }, "scheduled payout run did not run");
      continue;
    }
    await deps.prisma.program.update({ where: { id: program.id }, data: { lastScheduledRunOn: new Date(`${due}T00:00:00Z`) } });
    ran.push(`${program.id}@${due}`);
  }
  return ran;
}
