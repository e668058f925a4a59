import { userError, type Result, type UserError } from "./errors.ts";

export type PayoutFrequency = "ON_DEMAND" | "WEEKLY" | "BIWEEKLY" | "MONTHLY";

/**
 * When scheduled payout runs happen: on demand (never by themselves), weekly
 * on an ISO weekday (1 Monday … 7 Sunday), every 14 days from an anchor date,
 * or monthly on a day (29–31 run on the last day of shorter months).
 */
export interface PayoutSchedule {
  frequency: PayoutFrequency;
  weekday: number | null;
  anchorDate: string | null;
  dayOfMonth: number | null;
}

export interface PayoutScheduleInput {
  frequency: PayoutFrequency;
  weekday?: number | null;
  anchorDate?: string | null;
  dayOfMonth?: number | null;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export function parsePayoutSchedule(input: PayoutScheduleInput, path: string[] = ["payoutSchedule"]): Result<PayoutSchedule> {
  const errors: UserError[] = [];
  const schedule: PayoutSchedule = { frequency: input.frequency, weekday: null, anchorDate: null, dayOfMonth: null };
  const forbid = (key: "weekday" | "anchorDate" | "dayOfMonth") => {
    if (input[key] != null) {
      errors.push(userError("INVALID_SCHEDULE", `a ${input.frequency} schedule takes no ${key}`, [...path, key]));
    }
  };
  switch (input.frequency) {
    case "ON_DEMAND":
      forbid("weekday");
      forbid("anchorDate");
      forbid("dayOfMonth");
      break;
    case "WEEKLY":
      forbid("anchorDate");
      forbid("dayOfMonth");
      if (input.weekday == null || !Number.isInteger(input.weekday) || input.weekday < 1 || input.weekday > 7) {
        errors.push(userError("INVALID_SCHEDULE", "weekday must be 1 (Monday) to 7 (Sunday)", [...path, "weekday"]));
      } else schedule.weekday = input.weekday;
      break;
    case "BIWEEKLY": {
      forbid("weekday");
      forbid("dayOfMonth");
      const anchor = input.anchorDate;
      if (anchor == null || !ISO_DATE.test(anchor) || Number.isNaN(Date.parse(`${anchor}T00:00:00Z`)) || new Date(`${anchor}T00:00:00Z`).toISOString().slice(0, 10) !== anchor) {
        errors.push(userError("INVALID_SCHEDULE", "anchorDate must be a date like 2026-01-05", [...path, "anchorDate"]));
      } else schedule.anchorDate = anchor;
      break;
    }
    case "MONTHLY":
      forbid("weekday");
      forbid("anchorDate");
      if (input.dayOfMonth == null || !Number.isInteger(input.dayOfMonth) || input.dayOfMonth < 1 || input.dayOfMonth > 31) {
        errors.push(userError("INVALID_SCHEDULE", "dayOfMonth must be 1 to 31", [...path, "dayOfMonth"]));
      } else schedule.dayOfMonth = input.dayOfMonth;
      break;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: schedule };
}

/** A calendar date in the program's time zone, as YYYY-MM-DD. */
export type LocalDate = string;

function parts(date: LocalDate): { year: number; month: number; day: number } {
  const [year, month, day] = date.split("-").map(Number) as [number, number, number];
  return { year, month, day };
}

function iso(year: number, month: number, day: number): LocalDate {
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Days since 1970-01-01 of a calendar date (no time zone involved). */
function dayNumber(date: LocalDate): number {
  const { year, month, day } = parts(date);
  return Math.floor(Date.UTC(year, month - 1, day) / 86_400_000);
}

function fromDayNumber(n: number): LocalDate {
  const d = new Date(n * 86_400_000);
  return iso(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
}

/**
 * The latest scheduled run date on or before `today` (both in program time),
 * or null when the schedule has none yet (on demand, or a bi-weekly anchor
 * in the future). Monthly runs on days 29–31 fall on the last day of shorter
 * months: "the 31st" is February 28th (29th in a leap year), April 30th.
 */
export function latestRunDate(schedule: PayoutSchedule, today: LocalDate): LocalDate | null {
  switch (schedule.frequency) {
    case "ON_DEMAND":
      return null;
    case "WEEKLY": {
      const n = dayNumber(today);
      const isoWeekday = ((new Date(n * 86_400_000).getUTCDay() + 6) % 7) + 1; // 1 Monday … 7 Sunday
      return fromDayNumber(n - ((isoWeekday - schedule.weekday! + 7) % 7));
    }
    case "BIWEEKLY": {
      const anchor = dayNumber(schedule.anchorDate!);
      const n = dayNumber(today);
      if (n < anchor) return null;
      return fromDayNumber(n - ((n - anchor) % 14));
    }
    case "MONTHLY": {
      const { year, month, day } = parts(today);
      const runDay = Math.min(schedule.dayOfMonth!, daysInMonth(year, month));
      if (day >= runDay) return iso(year, month, runDay);
      const [prevYear, prevMonth] = month === 1 ? [year - 1, 12] : [year, month - 1];
      return iso(prevYear, prevMonth, Math.min(schedule.dayOfMonth!, daysInMonth(prevYear, prevMonth)));
    }
  }
}
