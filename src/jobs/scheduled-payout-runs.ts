import { DateTime } from "luxon";
import { latestRunDate, type PayoutSchedule } from "../domain/payout-schedule.ts";
import { todayIn } from "../domain/program-time.ts";
import { runPayouts } from "../services/payouts/run-payouts.ts";
import type { ServiceDeps } from "../services/deps.ts";

/**
 * Runs each program's scheduled payout run when its day has come (in the
 * program's time zone): weekly, bi-weekly or monthly, once per scheduled
 * date. A run drafts payouts like `runPayouts`; its idempotency key is the
 * date (kept apart from operators' keys), so even two workers racing past
 * the lock could not run it twice. A program whose schedule changed starts
 * at its next date (see updateProgramSettings).
 * Dates before the program existed are not run.
 */
export async function runScheduledPayouts(deps: ServiceDeps): Promise<string[]> {
  const now = deps.clock.now();
  const programs = await deps.prisma.program.findMany({
    where: { payoutFrequency: { not: "ON_DEMAND" } },
    select: { id: true, timeZone: true, createdAt: true, payoutFrequency: true, payoutWeekday: true, payoutAnchorDate: true, payoutDayOfMonth: true, lastScheduledRunOn: true },
  });
  const ran: string[] = [];
  const failed: unknown[] = [];
  for (const program of programs) {
    const today = todayIn(now, program.timeZone);
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
    let result: Awaited<ReturnType<typeof runPayouts>>;
    try {
      result = await runPayouts(deps, { role: "system", id: "payout-schedule", programId: program.id }, { idempotencyKey: `scheduled-${due}` }, { by: "schedule" });
    } catch (error) {
      // One program's failure never keeps the others from their runs; this one is tried again next tick.
      deps.logger.error({ err: error, programId: program.id, due }, "scheduled payout run failed; will try again");
      failed.push(error);
      continue;
    }
    if (!result.ok) {
      deps.logger.warn({ programId: program.id, due, errors: result.errors }, "scheduled payout run did not run");
      continue;
    }
    await deps.prisma.program.update({ where: { id: program.id }, data: { lastScheduledRunOn: new Date(`${due}T00:00:00Z`) } });
    ran.push(`${program.id}@${due}`);
  }
  // The others ran; the task still fails, so the failure is counted (task-record.ts).
  if (failed.length > 0) throw new AggregateError(failed, `scheduled payout runs failed for ${failed.length} program(s)`);
  return ran;
}
