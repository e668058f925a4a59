import { IANAZone } from "luxon";
import * as z from "zod";
import { userError, type UserError } from "./errors.ts";

/**
 * Field checks shared by services. Each returns the cleaned value, or pushes
 * a UserError (with the field path) and returns undefined.
 */
const emailSchema = z.email();
const regionNames = new Intl.DisplayNames(["en"], { type: "region", fallback: "none" });

export function checkText(value: string, field: string[], errors: UserError[], options: { max?: number; label?: string } = {}): string | undefined {
  const trimmed = value.trim();
  const max = options.max ?? 200;
  if (trimmed.length === 0 || trimmed.length > max) {
    errors.push(userError("INVALID_INPUT", `${options.label ?? field.at(-1)} must be 1 to ${max} characters`, field));
    return undefined;
  }
  return trimmed;
}

/** Emails are compared and stored lower-cased. */
export function checkEmail(value: string, field: string[], errors: UserError[]): string | undefined {
  const cleaned = value.trim().toLowerCase();
  if (cleaned.length > 320 || !emailSchema.safeParse(cleaned).success) {
    errors.push(userError("INVALID_EMAIL", `"${value}" is not a valid email address`, field));
    return undefined;
  }
  return cleaned;
}

export function checkTimeZone(value: string, field: string[], errors: UserError[]): string | undefined {
  if (!IANAZone.isValidZone(value)) {
    errors.push(userError("INVALID_TIME_ZONE", `"${value}" is not an IANA time zone (like Europe/Berlin)`, field));
    return undefined;
  }
  return value;
}

/** ISO 3166-1 alpha-2, upper case. */
export function checkCountry(value: string, field: string[], errors: UserError[]): string | undefined {
  const code = value.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(code) || code === "ZZ" || regionNames.of(code) === undefined) {
    errors.push(userError("INVALID_INPUT", `"${value}" is not an ISO 3166 country code (like US or DE)`, field));
    return undefined;
  }
  return code;
}

export function checkIntRange(value: number, min: number, max: number, field: string[], errors: UserError[]): number | undefined {
  if (!Number.isInteger(value) || value < min || value > max) {
    errors.push(userError("INVALID_INPUT", `${field.at(-1)} must be a whole number from ${min} to ${max}`, field));
    return undefined;
  }
  return value;
}
