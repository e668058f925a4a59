import type { Decimal } from "decimal.js";
import type { CurrencyCode } from "../../domain/currency.ts";
import { userError, type UserError } from "../../domain/errors.ts";
import { parseAmount } from "../../domain/money.ts";

/** Why a correction line was booked. */
export const REASON_CODES = ["CORRECTION", "BONUS", "RETURN", "FRAUD", "GOODWILL", "PAYMENT_BOUNCED", "WRITE_OFF", "OTHER"] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface CorrectionInput {
  amount: string;
  reasonCode: ReasonCode;
  note?: string | null;
}

/** Checks a correction's amount (exact, at most the currency's places) and note. */
export function checkCorrection(
  input: CorrectionInput,
  currency: CurrencyCode,
  options: { allowNegative: boolean },
): { amount?: Decimal; note: string | null; errors: UserError[] } {
  const errors: UserError[] = [];
  const parsed = parseAmount(input.amount, currency, { allowNegative: options.allowNegative });
  if (!parsed.ok) errors.push(userError("INVALID_AMOUNT", `amount ${parsed.message}`, ["input", "amount"]));
  const note = input.note?.trim() || null;
  if (note && note.length > 2000) errors.push(userError("INVALID_INPUT", "note must be at most 2000 characters", ["input", "note"]));
  return { amount: parsed.ok ? parsed.value : undefined, note, errors };
}
