import type { CommissionRule, CommissionRuleInput } from "../../domain/commission-rule.ts";
import { parseCommissionRule } from "../../domain/commission-rule.ts";
import type { CurrencyCode } from "../../domain/currency.ts";
import type { UserError } from "../../domain/errors.ts";
import { parseAmount } from "../../domain/money.ts";
import { parsePayoutSchedule, type PayoutSchedule, type PayoutScheduleInput } from "../../domain/payout-schedule.ts";
import { checkIntRange, checkText, checkTimeZone } from "../../domain/validation.ts";
import type { Prisma } from "../../generated/prisma/client.ts";

export interface ProgramSettingsInput {
  name?: string | null;
  timeZone?: string | null;
  commissionRule?: CommissionRuleInput | null;
  holdPeriodDays?: number | null;
  minimumPayout?: string | null;
  payoutSchedule?: PayoutScheduleInput | null;
  approvalMode?: "MANUAL" | "AUTOMATIC" | null;
  allowPayoutRequests?: boolean | null;
  /** Dual control: `above` (an amount) turns it on; `above: null` turns it off; absent leaves it. */
  dualControl?: { above?: string | null } | null;
}

export const MAX_HOLD_PERIOD_DAYS = 365;

/**
 * Checks the settings given (absent ones are left alone) and returns the
 * columns to write. Amounts are in `currency`, the program's.
 */
export function parseProgramSettings(input: ProgramSettingsInput, currency: CurrencyCode, errors: UserError[]): Prisma.ProgramUncheckedUpdateInput {
  const data: Prisma.ProgramUncheckedUpdateInput = {};
  const at = (name: string) => ["input", name];
  if (input.name != null) data.name = checkText(input.name, at("name"), errors);
  if (input.timeZone != null) data.timeZone = checkTimeZone(input.timeZone, at("timeZone"), errors);
  if (input.commissionRule != null) {
    const rule = parseCommissionRule(input.commissionRule, currency, at("commissionRule"));
    if (rule.ok) data.commissionRule = rule.value satisfies CommissionRule as object;
    else errors.push(...rule.errors);
  }
  if (input.holdPeriodDays != null) {
    data.holdPeriodDays = checkIntRange(input.holdPeriodDays, 0, MAX_HOLD_PERIOD_DAYS, at("holdPeriodDays"), errors);
  }
  if (input.minimumPayout != null) {
    const parsed = parseAmount(input.minimumPayout, currency, { allowZero: true });
    if (parsed.ok) data.minimumPayout = parsed.value.toFixed();
    else errors.push({ code: "INVALID_AMOUNT", message: `minimumPayout ${parsed.message}`, field: at("minimumPayout") });
  }
  if (input.payoutSchedule != null) {
    const schedule = parsePayoutSchedule(input.payoutSchedule, at("payoutSchedule"));
    if (schedule.ok) Object.assign(data, scheduleColumns(schedule.value));
    else errors.push(...schedule.errors);
  }
  if (input.approvalMode != null) data.approvalMode = input.approvalMode;
  if (input.allowPayoutRequests != null) data.allowPayoutRequests = input.allowPayoutRequests;
  if (input.dualControl != null) {
    if (input.dualControl.above == null) data.dualControlAbove = null;
    else {
      const parsed = parseAmount(input.dualControl.above, currency, { allowZero: true });
      if (parsed.ok) data.dualControlAbove = parsed.value.toFixed();
      else errors.push({ code: "INVALID_AMOUNT", message: `dualControl.above ${parsed.message}`, field: ["input", "dualControl", "above"] });
    }
  }
  return data;
}

function scheduleColumns(schedule: PayoutSchedule): Prisma.ProgramUncheckedUpdateInput {
  return {
    payoutFrequency: schedule.frequency,
    payoutWeekday: schedule.weekday,
    payoutAnchorDate: schedule.anchorDate ? new Date(`${schedule.anchorDate}T00:00:00Z`) : null,
    payoutDayOfMonth: schedule.dayOfMonth,
  };
}
