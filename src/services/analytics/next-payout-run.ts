import { DateTime } from "luxon";
import { nextPayoutRunDate } from "../../domain/next-payout-run.ts";
import type { LocalDate, PayoutSchedule } from "../../domain/payout-schedule.ts";
import { todayIn } from "../../domain/program-time.ts";

/** The program columns the next run depends on. */
export interface ScheduledProgram {
  timeZone: string;
  createdAt: Date;
  payoutFrequency: PayoutSchedule["frequency"];
  payoutWeekday: number | null;
  payoutAnchorDate: Date | null;
  payoutDayOfMonth: number | null;
  lastScheduledRunOn: Date | null;
}

export const SCHEDULED_PROGRAM_SELECT = {
  timeZone: true,
  createdAt: true,
  payoutFrequency: true,
  payoutWeekday: true,
  payoutAnchorDate: true,
  payoutDayOfMonth: true,
  lastScheduledRunOn: true,
} as const;

/** The date (program time) of the program's next scheduled payout run; null when payouts are on demand. */
export function nextPayoutRun(program: ScheduledProgram, now: Date): LocalDate | null {
  const schedule: PayoutSchedule = {
    frequency: program.payoutFrequency,
    weekday: program.payoutWeekday,
    anchorDate: program.payoutAnchorDate?.toISOString().slice(0, 10) ?? null,
    dayOfMonth: program.payoutDayOfMonth,
  };
  return nextPayoutRunDate(
    schedule,
    todayIn(now, program.timeZone),
    program.lastScheduledRunOn?.toISOString().slice(0, 10) ?? null,
    DateTime.fromJSDate(program.createdAt, { zone: program.timeZone }).toISODate()!,
  );
}
