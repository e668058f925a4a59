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
