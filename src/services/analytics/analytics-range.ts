import { DateTime } from "luxon";
import type { LocalDate } from "../../domain/payout-schedule.ts";

export type AnalyticsPeriod = "DAY" | "WEEK" | "MONTH";

/** A series answers at most this many periods: a year of days, or decades of months. */
export const MAX_SERIES_POINTS = 400;

/** What PostgreSQL's date_trunc calls each period (its weeks start on Monday, as ISO and luxon's do). */
export const TRUNC_UNIT = { DAY: "day", WEEK: "week", MONTH: "month" } as const satisfies Record<AnalyticsPeriod, string>;

export interface AnalyticsRange {
  /** Midnight at the start of `from`, program time. */
  start: Date;
  /** Midnight at the end of `to` (exclusive), program time. */
  end: Date;
}

export type RangeResult<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * Two dates in program time, both inclusive, as the instants that cut them
 * (the way statements cut days: a day across a DST change is 23 or 25 hours).
 */
export function dayRange(from: LocalDate, to: LocalDate, timeZone: string): RangeResult<AnalyticsRange> {
  if (to < from) return { ok: false, message: "to must not be before from" };
  const start = DateTime.fromISO(from, { zone: timeZone }).startOf("day");
  const end = DateTime.fromISO(to, { zone: timeZone }).startOf("day").plus({ days: 1 });
  return { ok: true, value: { start: start.toJSDate(), end: end.toJSDate() } };
}

/**
 * The first day of every period from the one holding `from` to the one
 * holding `to`, so a series has a point for each period, empty ones too.
 * The first and last periods may be partial: only days in the range count.
 */
export function periodStarts(period: AnalyticsPeriod, from: LocalDate, to: LocalDate): RangeResult<LocalDate[]> {
  const unit = period === "DAY" ? "day" : period === "WEEK" ? "week" : "month";
  const last = DateTime.fromISO(to, { zone: "UTC" }).startOf(unit);
  const starts: LocalDate[] = [];
  for (let at = DateTime.fromISO(from, { zone: "UTC" }).startOf(unit); at <= last; at = at.plus({ [`${unit}s`]: 1 })) {
    if (starts.length === MAX_SERIES_POINTS) {
      return { ok: false, message: `a series has at most ${MAX_SERIES_POINTS} points: choose a longer period or a shorter range` };
    }
    starts.push(at.toISODate()!);
  }
  return { ok: true, value: starts };
}
