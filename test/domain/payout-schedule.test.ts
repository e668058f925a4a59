import { describe, expect, it } from "vitest";
import { parsePayoutSchedule } from "../../src/domain/payout-schedule.ts";

describe("payout schedules", () => {
  it.each([
    [{ frequency: "ON_DEMAND" }, { frequency: "ON_DEMAND", weekday: null, anchorDate: null, dayOfMonth: null }],
    [
      { frequency: "WEEKLY", weekday: 5 },
      { frequency: "WEEKLY", weekday: 5, anchorDate: null, dayOfMonth: null },
    ],
    [
      { frequency: "BIWEEKLY", anchorDate: "2026-01-02" },
      { frequency: "BIWEEKLY", weekday: null, anchorDate: "2026-01-02", dayOfMonth: null },
    ],
    [
      { frequency: "MONTHLY", dayOfMonth: 31 },
      { frequency: "MONTHLY", weekday: null, anchorDate: null, dayOfMonth: 31 },
    ],
  ] as const)("accepts %j", (input, expected) => {
    expect(parsePayoutSchedule(input)).toEqual({ ok: true, value: expected });
  });

  it.each([
    [{ frequency: "WEEKLY" }, "payoutSchedule.weekday"],
    [{ frequency: "WEEKLY", weekday: 8 }, "payoutSchedule.weekday"],
    [{ frequency: "WEEKLY", weekday: 1, dayOfMonth: 3 }, "payoutSchedule.dayOfMonth"],
    [{ frequency: "BIWEEKLY", anchorDate: "2026-02-30" }, "payoutSchedule.anchorDate"],
    [{ frequency: "BIWEEKLY" }, "payoutSchedule.anchorDate"],
    [{ frequency: "MONTHLY", dayOfMonth: 0 }, "payoutSchedule.dayOfMonth"],
    [{ frequency: "ON_DEMAND", weekday: 1 }, "payoutSchedule.weekday"],
  ] as const)("refuses %j at %s", (input, field) => {
    const result = parsePayoutSchedule(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.field?.join("."))).toContain(field);
  });
});
