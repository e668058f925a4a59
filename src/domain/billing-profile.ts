import { failed, ok, userError, type Result, type UserError } from "./errors.ts";
import { checkCountry, checkText } from "./validation.ts";

/**
 * Who a partner is for tax and invoicing: individual or company, legal
 * name, tax id (encrypted at rest by the caller), VAT id, address, and the
 * US tax form on file. W-9 is for US persons, W-8BEN for foreign
 * individuals, W-8BEN-E for foreign entities.
 */
export interface BillingProfileInput {
  entityType: "INDIVIDUAL" | "COMPANY";
  legalName: string;
  taxId?: string | null;
  vatId?: string | null;
  addressLine1?: string | null;
  addressLine2?: string | null;
  city?: string | null;
  region?: string | null;
  postalCode?: string | null;
  country: string;
  taxForm?: "W9" | "W8BEN" | "W8BEN_E" | null;
}

export interface ParsedBillingProfile {
  entityType: "INDIVIDUAL" | "COMPANY";
  legalName: string;
  /** The tax id as given (normalised), to encrypt. */
  taxId: string | null;
  taxIdLast4: string | null;
  vatId: string | null;
  addressLine1: string | null;
  addressLine2: string | null;
  city: string | null;
  region: string | null;
  postalCode: string | null;
  country: string;
  taxForm: "W9" | "W8BEN" | "W8BEN_E" | null;
}

/** A US TIN: an SSN/ITIN (123-45-6789) or an EIN (12-3456789); 9 digits either way. */
const US_TIN = /^\d{3}-?\d{2}-?\d{4}$|^\d{2}-?\d{7}$/;
const FOREIGN_TAX_ID = /^[A-Z0-9][A-Z0-9 ./-]{2,29}$/i;
const VAT_ID = /^[A-Z]{2}[A-Z0-9+*.]{2,13}$/;

/** `taxIdOnFile`: no tax id given, but one is kept from before (a W-9 then needs none). */
export function parseBillingProfile(input: BillingProfileInput, path: string[] = ["input"], taxIdOnFile = false): Result<ParsedBillingProfile> {
  const errors: UserError[] = [];
  const at = (field: string) => [...path, field];
  const optional = (value: string | null | undefined, field: string, max = 200) =>
    value == null || value.trim() === "" ? null : (checkText(value, at(field), errors, { max }) ?? null);
  const legalName = checkText(input.legalName, at("legalName"), errors);
  const country = checkCountry(input.country, at("country"), errors);
  const taxForm = input.taxForm ?? null;
  if (taxForm === "W9" && country && country !== "US") errors.push(userError("INVALID_INPUT", "a W-9 is for US persons: the country must be US", at("taxForm")));
  if ((taxForm === "W8BEN" || taxForm === "W8BEN_E") && country === "US")
    errors.push(userError("INVALID_INPUT", "W-8 forms are for foreign persons; a US person files a W-9", at("taxForm")));
  if (taxForm === "W8BEN" && input.entityType !== "INDIVIDUAL") errors.push(userError("INVALID_INPUT", "a W-8BEN is for individuals; entities file a W-8BEN-E", at("taxForm")));
  if (taxForm === "W8BEN_E" && input.entityType !== "COMPANY") errors.push(userError("INVALID_INPUT", "a W-8BEN-E is for entities; individuals file a W-8BEN", at("taxForm")));

  let taxId: string | null = null;
  if (input.taxId != null && input.taxId.trim() !== "") {
    const raw = input.taxId.trim();
    const isUs = country === "US";
    if (isUs ? !US_TIN.test(raw) : !FOREIGN_TAX_ID.test(raw)) {
      // Never echo the number back: it is sensitive.
      errors.push(userError("INVALID_INPUT", isUs ? "a US tax id is 9 digits (SSN, ITIN or EIN)" : "the tax id is 3 to 30 letters and digits", at("taxId")));
    } else {
      taxId = isUs ? raw.replace(/-/g, "") : raw.toUpperCase();
    }
  } else if (taxForm === "W9" && !taxIdOnFile) {
    errors.push(userError("INVALID_INPUT", "a W-9 needs the tax id (TIN)", at("taxId")));
  }
  let vatId: string | null = null;
  if (input.vatId != null && input.vatId.trim() !== "") {
    const cleaned = input.vatId.replace(/\s/g, "").toUpperCase();
    if (!VAT_ID.test(cleaned)) errors.push(userError("INVALID_INPUT", "a VAT id starts with its country code, like DE123456789", at("vatId")));
    else vatId = cleaned;
  }
  const address = {
    addressLine1: optional(input.addressLine1, "addressLine1"),
    addressLine2: optional(input.addressLine2, "addressLine2"),
    city: optional(input.city, "city", 100),
    region: optional(input.region, "region", 100),
    postalCode: optional(input.postalCode, "postalCode", 20),
  };
  if (errors.length > 0 || !legalName || !country) return failed(...errors);
  return ok({
    entityType: input.entityType,
    legalName,
    taxId,
    taxIdLast4: taxId ? taxId.slice(-4) : null,
    vatId,
    ...address,
    country,
    taxForm,
  });
}
