import { DateTime } from "luxon";

/**
 * Calendar arithmetic in a program's IANA time zone: every "day", "month"
 * and "tax year" is cut there, not in UTC.
 */
export function monthOf(instant: Date, timeZone: string): { start: Date; end: Date; key: string } {
  const local = DateTime.fromJSDate(instant, { zone: timeZone });
  const start = local.startOf("month");
  return { start: start.toJSDate(), end: start.plus({ months: 1 }).toJSDate(), key: start.toFormat("yyyy-MM") };
}

/** `instant` plus whole calendar days in the zone (a day across a DST change is 23 or 25 hours). */
export function addDays(instant: Date, days: number, timeZone: string): Date {
  return DateTime.fromJSDate(instant, { zone: timeZone }).plus({ days }).toJSDate();
}

export function yearOf(instant: Date, timeZone: string): { start: Date; end: Date; year: number } {
  const local = DateTime.fromJSDate(instant, { zone: timeZone }).startOf("year");
  return { start: local.toJSDate(), end: local.plus({ years: 1 }).toJSDate(), year: local.year };
}

/** The calendar date (YYYY-MM-DD) of `instant` in the zone. */
export function todayIn(instant: Date, timeZone: string): string {
  return DateTime.fromJSDate(instant, { zone: timeZone }).toISODate()!;
}
