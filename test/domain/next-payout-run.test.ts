import { describe, expect, it } from "vitest";
import { nextPayoutRunDate, runDateAfter } from "../../src/domain/next-payout-run.ts";
import type { PayoutSchedule } from "../../src/domain/payout-schedule.ts";

const monthly = (dayOfMonth: number): PayoutSchedule => ({ frequency: "MONTHLY", dayOfMonth, weekday: null, anchorDate: null });
const weekly = (weekday: number): PayoutSchedule => ({ frequency: "WEEKLY", weekday, anchorDate: null, dayOfMonth: null });
const biweekly = (anchorDate: string): PayoutSchedule => ({ frequency: "BIWEEKLY", anchorDate, weekday: null, dayOfMonth: null });

describe("the next scheduled payout run", () => {
  it.each([
    // schedule, after, first run date after it
    [monthly(15), "2026-03-10", "2026-03-15"],
    [monthly(15), "2026-03-15", "2026-04-15"],
    [monthly(31), "2026-01-31", "2026-02-28"], // the 31st of February is its last day
    [monthly(31), "2028-02-28", "2028-02-29"],
    [monthly(30), "2026-12-30", "2027-01-30"], // across a year
    [weekly(1), "2026-03-02", "2026-03-09"], // 2026-03-02 is a Monday
    [weekly(5), "2026-03-02", "2026-03-06"],
    [weekly(7), "2026-03-07", "2026-03-08"],
    [biweekly("2026-03-02"), "2026-03-02", "2026-03-16"],
    [biweekly("2026-03-02"), "2026-03-15", "2026-03-16"],
    [biweekly("2027-01-04"), "2026-03-10", "2027-01-04"], // the anchor is still ahead
  ] as const)("%o after %s is %s", (schedule, after, expected) => {
    expect(runDateAfter(schedule, after)).toBe(expected);
  });

  it.each([
    // schedule, today, last run, created on, next run
    [monthly(15), "2026-03-10", "2026-02-15", "2026-01-01", "2026-03-15"],
    [monthly(15), "2026-03-15", "2026-02-15", "2026-01-01", "2026-03-15"], // due today, not run yet
    [monthly(15), "2026-03-15", "2026-03-15", "2026-01-01", "2026-04-15"], // ran today
    [monthly(15), "2026-03-20", "2026-02-15", "2026-01-01", "2026-03-15"], // overdue: the scheduler runs it at its next tick
    [monthly(15), "2026-03-20", null, "2026-03-18", "2026-04-15"], // dates before the program existed are never run
    [monthly(15), "2026-03-20", null, "2026-03-10", "2026-03-15"],
    [weekly(1), "2026-03-04", "2026-03-02", "2026-01-01", "2026-03-09"],
  ] as const)("%o on %s, last run %s, created %s: %s", (schedule, today, last, created, expected) => {
    expect(nextPayoutRunDate(schedule, today, last, created)).toBe(expected);
  });

  it("has none for on-demand programs", () => {
    const onDemand: PayoutSchedule = { frequency: "ON_DEMAND", weekday: null, anchorDate: null, dayOfMonth: null };
    expect(nextPayoutRunDate(onDemand, "2026-03-10", null, "2026-01-01")).toBeNull();
    expect(runDateAfter(onDemand, "2026-03-10")).toBeNull();
  });
});
