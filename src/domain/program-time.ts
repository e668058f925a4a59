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

/** Names of UTC, whose every day is 24 hours: adding days to an instant there needs no calendar. */
const UTC_NAMES = new Set(["UTC", "Etc/UTC"]);
const DAY_MS = 86_400_000;

/**
 * `instant` plus whole calendar days in the zone (a day across a DST change
 * is 23 or 25 hours). In UTC (programs' default) that is days of 24 hours,
 * added without luxon: a sale's line asks it once (its payable date), and
 * luxon's zone arithmetic was a tenth of a batch's own work.
 */
export function addDays(instant: Date, days: number, timeZone: string): Date {
  if (UTC_NAMES.has(timeZone) && Number.isInteger(days)) return new Date(instant.getTime() + days * DAY_MS);
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
