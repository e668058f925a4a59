import { parseCommissionRule, type CommissionRuleInput } from "../../domain/commission-rule.ts";
import type { CurrencyCode } from "../../domain/currency.ts";
import { fail, userError, UserErrorsThrown, type UserError } from "../../domain/errors.ts";
import { checkCountry, checkEmail, checkText } from "../../domain/validation.ts";
import { uniqueViolation } from "../../db/errors.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import type { Tx } from "../transact.ts";

export interface PartnerFieldsInput {
  externalId?: string | null;
  email?: string | null;
  name?: string | null;
  country?: string | null;
  status?: "ACTIVE" | "SUSPENDED" | "ARCHIVED" | null;
  /** null clears the override; absent leaves it. */
  commissionRuleOverride?: CommissionRuleInput | null;
}

/** Checks the fields given and returns the columns to write. */
export function parsePartnerFields(input: PartnerFieldsInput, currency: CurrencyCode, errors: UserError[]): Prisma.PartnerUncheckedUpdateInput {
  const data: Prisma.PartnerUncheckedUpdateInput = {};
  const at = (name: string) => ["input", name];
  if (input.name != null) data.name = checkText(input.name, at("name"), errors);
  if (input.externalId !== undefined) {
    data.externalId = input.externalId === null ? null : checkText(input.externalId, at("externalId"), errors, { max: 255 });
  }
  if (input.email !== undefined) data.email = input.email === null ? null : checkEmail(input.email, at("email"), errors);
  if (input.country !== undefined) data.country = input.country === null ? null : checkCountry(input.country, at("country"), errors);
  if (input.status != null) data.status = input.status;
  if (input.commissionRuleOverride === null) {
    data.commissionRuleOverride = null as unknown as Prisma.InputJsonValue;
  } else if (input.commissionRuleOverride !== undefined) {
    const rule = parseCommissionRule(input.commissionRuleOverride, currency, at("commissionRuleOverride"));
    if (rule.ok) data.commissionRuleOverride = rule.value as object;
    else errors.push(...rule.errors);
  }
  return data;
}

/**
 * Refuses an externalId or email another partner of the program has. The
 * unique indexes are the final word (see `writePartner`); this check names
 * the field in the common case.
 */
export async function assertPartnerKeysFree(tx: Tx, data: { externalId?: unknown; email?: unknown }, exceptId?: string): Promise<void> {
  const errors: UserError[] = [];
  for (const key of ["externalId", "email"] as const) {
    const value = data[key];
    if (typeof value !== "string") continue;
    const other = await tx.db.partner.findFirst({ where: { [key]: value, ...(exceptId ? { NOT: { id: exceptId } } : {}) }, select: { id: true } });
    if (other) errors.push(userError("TAKEN", `another partner of this program has ${key} "${value}"`, ["input", key]));
  }
  if (errors.length > 0) throw new UserErrorsThrown(errors);
}

/** Runs a partner write, turning a unique violation from a concurrent writer into TAKEN. */
export async function writePartner<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const constraint = uniqueViolation(error);
    if (constraint === undefined) throw error;
    const field = constraint.includes("email") ? "email" : "externalId";
    fail("TAKEN", `another partner of this program has this ${field}`, ["input", field]);
  }
}
