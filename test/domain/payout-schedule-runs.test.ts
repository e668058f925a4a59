import { describe, expect, it } from "vitest";
import { latestRunDate, type PayoutSchedule } from "../../src/domain/payout-schedule.ts";

const monthly = (dayOfMonth: number): PayoutSchedule => ({ frequency: "MONTHLY", dayOfMonth, weekday: null, anchorDate: null });

describe("scheduled run dates", () => {
  it.each([
    // day of month, today, latest run date
    [31, "2026-01-31", "2026-01-31"],
    [31, "2026-02-27", "2026-01-31"],
    [31, "2026-02-28", "2026-02-28"], // "the 31st" in February is its last day
    [31, "2028-02-28", "2028-01-31"], // a leap year: not yet
    [31, "2028-02-29", "2028-02-29"],
    [30, "2026-02-28", "2026-02-28"],
    [29, "2026-02-28", "2026-02-28"],
    [29, "2028-02-28", "2028-01-29"],
    [29, "2028-02-29", "2028-02-29"],
    [28, "2026-02-28", "2026-02-28"],
    [31, "2026-04-30", "2026-04-30"],
    [31, "2026-05-30", "2026-04-30"],
    [31, "2026-05-31", "2026-05-31"],
    [30, "2026-03-30", "2026-03-30"],
    [30, "2026-03-31", "2026-03-30"],
    [1, "2026-01-01", "2026-01-01"],
    [1, "2026-01-15", "2026-01-01"],
    [15, "2026-01-14", "2025-12-15"], // across a year
  ] as const)("monthly on the %i: on %s the latest run is %s", (day, today, expected) => {
    expect(latestRunDate(monthly(day), today)).toBe(expected);
  });

  it.each([
    // ISO weekday, today, latest run date (2026-03-02 is a Monday)
    [1, "2026-03-02", "2026-03-02"],
    [1, "2026-03-08", "2026-03-02"],
    [5, "2026-03-05", "2026-02-27"],
    [5, "2026-03-06", "2026-03-06"],
    [7, "2026-03-08", "2026-03-08"],
  ] as const)("weekly on day %i: on %s the latest run is %s", (weekday, today, expected) => {
    expect(latestRunDate({ frequency: "WEEKLY", weekday, anchorDate: null, dayOfMonth: null }, today)).toBe(expected);
  });

  it.each([
    ["2026-01-02", "2026-01-01", null], // before the anchor: none yet
    ["2026-01-02", "2026-01-02", "2026-01-02"],
    ["2026-01-02", "2026-01-15", "2026-01-02"],
    ["2026-01-02", "2026-01-16", "2026-01-16"],
    ["2026-01-02", "2026-03-01", "2026-02-27"],
  ] as const)("bi-weekly from %s: on %s the latest run is %s", (anchorDate, today, expected) => {
    expect(latestRunDate({ frequency: "BIWEEKLY", anchorDate, weekday: null, dayOfMonth: null }, today)).toBe(expected);
  });

  it("has none on demand", () => {
    expect(latestRunDate({ frequency: "ON_DEMAND", weekday: null, anchorDate: null, dayOfMonth: null }, "2026-03-01")).toBeNull();
  });
});
