import type { Decimal } from "decimal.js";
import type { CurrencyCode } from "./currency.ts";
import { userError, type Result, type UserError } from "./errors.ts";
import { Dec, parseAmount, parseDecimal, roundToMinorUnit } from "./money.ts";

/**
 * A program's (or a partner's override) commission rule, stored as JSON with
 * decimal strings. Percentages are of the sale in the program's currency.
 * Tiered rules count the partner's non-reversed sales in the calendar month
 * (program time); they are marginal: with "10% for the first 100, 15% after",
 * sale 101 earns 15% and no earlier sale is re-rated.
 */
export type CommissionRule = { type: "FLAT"; amount: string } | { type: "PERCENTAGE"; percent: string } | { type: "TIERED"; tiers: CommissionTier[] };

export interface CommissionTier {
  /** Last sale number of the month this tier covers; null for the open-ended last tier. */
  upTo: number | null;
  percent?: string;
  amount?: string;
}

export interface CommissionRuleInput {
  type: "FLAT" | "PERCENTAGE" | "TIERED";
  amount?: string | null;
  percent?: string | null;
  tiers?: { upTo?: number | null; percent?: string | null; amount?: string | null }[] | null;
}

/** Where a sale's rule can come from, most specific first. */
export interface RuleSources {
  /** The partner's own rule (Partner.commissionRuleOverride), when it has one. */
  partnerOverride: CommissionRule | null | undefined;
  /** The program's rule, which every partner without its own earns by. */
  programRule: CommissionRule;
}

/**
 * The rule a sale earns by: the partner's own rule when it has one, the
 * program's otherwise. The one place that order is decided (partner groups,
 * when they come, sit between the two).
 */
export function ruleForSale(sources: RuleSources): CommissionRule {
  return sources.partnerOverride ?? sources.programRule;
}

const MAX_TIERS = 20;
const PERCENT_SCALE = 4;

function parsePercent(text: string, field: string[], errors: UserError[]): string | undefined {
  const parsed = parseDecimal(text, { maxScale: PERCENT_SCALE, allowZero: true, maxIntegerDigits: 3 });
  if (!parsed.ok) {
    errors.push(userError("INVALID_COMMISSION_RULE", `percent ${parsed.message}`, field));
    return undefined;
  }
  if (parsed.value.greaterThan(100)) {
    errors.push(userError("INVALID_COMMISSION_RULE", "percent must be between 0 and 100", field));
    return undefined;
  }
  return parsed.value.toFixed();
}

function parseFlat(text: string, currency: CurrencyCode, field: string[], errors: UserError[]): string | undefined {
  const parsed = parseAmount(text, currency, { allowZero: true });
  if (!parsed.ok) {
    errors.push(userError("INVALID_COMMISSION_RULE", `amount ${parsed.message}`, field));
    return undefined;
  }
  return parsed.value.toFixed();
}

/** Checks a rule from the API; amounts are in `currency` (the program's). */
export function parseCommissionRule(input: CommissionRuleInput, currency: CurrencyCode, path: string[] = ["commissionRule"]): Result<CommissionRule> {
  const errors: UserError[] = [];
  const only = (allowed: (keyof CommissionRuleInput)[]) => {
    for (const key of ["amount", "percent", "tiers"] as const) {
      if (!allowed.includes(key) && input[key] != null) {
        errors.push(userError("INVALID_COMMISSION_RULE", `a ${input.type} rule takes no ${key}`, [...path, key]));
      }
    }
  };
  let rule: CommissionRule | undefined;
  switch (input.type) {
    case "FLAT": {
      only(["amount"]);
      if (input.amount == null) errors.push(userError("INVALID_COMMISSION_RULE", "a FLAT rule needs an amount", [...path, "amount"]));
      const amount = input.amount == null ? undefined : parseFlat(input.amount, currency, [...path, "amount"], errors);
      if (amount !== undefined) rule = { type: "FLAT", amount };
      break;
    }
    case "PERCENTAGE": {
      only(["percent"]);
      if (input.percent == null) errors.push(userError("INVALID_COMMISSION_RULE", "a PERCENTAGE rule needs a percent", [...path, "percent"]));
      const percent = input.percent == null ? undefined : parsePercent(input.percent, [...path, "percent"], errors);
      if (percent !== undefined) rule = { type: "PERCENTAGE", percent };
      break;
    }
    case "TIERED": {
      only(["tiers"]);
      const tiers = input.tiers ?? [];
      if (tiers.length === 0 || tiers.length > MAX_TIERS) {
        errors.push(userError("INVALID_COMMISSION_RULE", `a TIERED rule needs 1 to ${MAX_TIERS} tiers`, [...path, "tiers"]));
        break;
      }
      const parsedTiers: CommissionTier[] = [];
      let previous = 0;
      tiers.forEach((tier, index) => {
        const at = [...path, "tiers", String(index)];
        const last = index === tiers.length - 1;
        const upTo = tier.upTo ?? null;
        if (last && upTo !== null) {
          errors.push(userError("INVALID_COMMISSION_RULE", "the last tier is open-ended: leave its upTo empty", [...at, "upTo"]));
        } else if (!last && (upTo === null || !Number.isInteger(upTo) || upTo <= previous)) {
          errors.push(userError("INVALID_COMMISSION_RULE", "upTo must be a whole number above the previous tier's", [...at, "upTo"]));
        }
        if ((tier.percent == null) === (tier.amount == null)) {
          errors.push(userError("INVALID_COMMISSION_RULE", "each tier has either a percent or an amount", at));
          return;
        }
        const parsed: CommissionTier = { upTo };
        if (tier.percent != null) parsed.percent = parsePercent(tier.percent, [...at, "percent"], errors);
        if (tier.amount != null) parsed.amount = parseFlat(tier.amount, currency, [...at, "amount"], errors);
        parsedTiers.push(parsed);
        previous = upTo ?? previous;
      });
      rule = { type: "TIERED", tiers: parsedTiers };
      break;
    }
    default:
      errors.push(userError("INVALID_COMMISSION_RULE", "unknown rule type", [...path, "type"]));
  }
  if (errors.length > 0 || !rule) return { ok: false, errors };
  return { ok: true, value: rule };
}

export interface CommissionQuote {
  /** Rounded to the currency's minor unit, ROUND_HALF_UP. */
  amount: Decimal;
  /** The tier used (0-based) for tiered rules. */
  tierIndex?: number;
}

/**
 * The commission for one sale. `saleAmount` is the sale in the program's
 * currency, unrounded when it was converted; `saleNumber` is the sale's
 * 1-based number among the partner's non-reversed sales of its month.
 */
export function computeCommission(rule: CommissionRule, sale: { amount: Decimal; currency: CurrencyCode; saleNumber: number }): CommissionQuote {
  const percentOf = (percent: string) => roundToMinorUnit(sale.amount.times(new Dec(percent)).dividedBy(100), sale.currency);
  switch (rule.type) {
    case "FLAT":
      return { amount: roundToMinorUnit(new Dec(rule.amount), sale.currency) };
    case "PERCENTAGE":
      return { amount: percentOf(rule.percent) };
    case "TIERED": {
      const index = rule.tiers.findIndex((tier) => tier.upTo === null || sale.saleNumber <= tier.upTo);
      const tierIndex = index === -1 ? rule.tiers.length - 1 : index;
      const tier = rule.tiers[tierIndex]!;
      const amount = tier.percent !== undefined ? percentOf(tier.percent) : roundToMinorUnit(new Dec(tier.amount!), sale.currency);
      return { amount, tierIndex };
    }
  }
}
