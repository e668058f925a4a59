import { DateTime } from "luxon";
import { latestRunDate, type LocalDate, type PayoutSchedule } from "./payout-schedule.ts";

/** Longest gap between two runs of any schedule (monthly: 31 days), with room. */
const LONGEST_GAP_DAYS = 62;

function plusDays(date: LocalDate, days: number): LocalDate {
  return DateTime.fromISO(date, { zone: "UTC" }).plus({ days }).toISODate()!;
}

/**
 * The first run date strictly after `date`. Built on `latestRunDate`, so the
 * rules (weekdays, 14-day steps from the anchor, days 29–31 clamped to the
 * month's end) live in one place: the first day whose latest run is itself.
 */
export function runDateAfter(schedule: PayoutSchedule, date: LocalDate): LocalDate | null {
  if (schedule.frequency === "ON_DEMAND") return null;
  if (schedule.frequency === "BIWEEKLY" && schedule.anchorDate! > date) return schedule.anchorDate;
  for (let days = 1; days <= LONGEST_GAP_DAYS; days += 1) {
    const candidate = plusDays(date, days);
    if (latestRunDate(schedule, candidate) === candidate) return candidate;
  }
  throw new Error(`no ${schedule.frequency} run within ${LONGEST_GAP_DAYS} days of ${date}`);
}

/**
 * The date (program time) of the next scheduled payout run, as the scheduler
 * will take it (src/jobs/scheduled-payout-runs.ts): a run that is due and
 * has not happened yet is next (it happens at the scheduler's next tick),
 * otherwise the first run date after today. `lastRunOn` is the last date
 * run; a program that never ran counts from the day before it was created,
 * since dates before it existed are not run. Null for on-demand programs.
 */
export function nextPayoutRunDate(schedule: PayoutSchedule, today: LocalDate, lastRunOn: LocalDate | null, createdOn: LocalDate): LocalDate | null {
  if (schedule.frequency === "ON_DEMAND") return null;
  const last = lastRunOn ?? plusDays(createdOn, -1);
  const due = latestRunDate(schedule, today);
  if (due && due > last) return due;
  return runDateAfter(schedule, today);
}
