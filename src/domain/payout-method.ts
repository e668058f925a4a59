import { isValidBIC, validateIBAN, ValidationErrorsIBAN } from "ibantools";
import { parseCurrencyCode } from "./currency.ts";
import { failed, ok, userError, type Result, type UserError } from "./errors.ts";
import { checkCountry, checkEmail, checkText } from "./validation.ts";

/**
 * How a partner wants to be paid. Each type takes its own fields; the input
 * is one flat object (a GraphQL input cannot be a union), so fields a type
 * does not use are refused rather than silently dropped: a partner who typed
 * an IBAN into a PayPal method has made a mistake worth showing.
 */
export const PAYOUT_METHOD_TYPES = ["PAYPAL", "WISE", "BANK_TRANSFER", "ACH", "WIRE", "CHECK", "VENMO", "ZELLE", "STORE_CREDIT", "OTHER", "STRIPE"] as const;

export type PayoutMethodType = (typeof PAYOUT_METHOD_TYPES)[number];

export interface PayoutMethodInput {
  type: PayoutMethodType;
  email?: string | null;
  currency?: string | null;
  accountName?: string | null;
  iban?: string | null;
  bic?: string | null;
  accountNumber?: string | null;
  routingNumber?: string | null;
  accountType?: "CHECKING" | "SAVINGS" | null;
  bankName?: string | null;
  bankAddress?: string | null;
  handle?: string | null;
  phone?: string | null;
  payeeName?: string | null;
  addressLine1?: string | null;
  addressLine2?: string | null;
  city?: string | null;
  region?: string | null;
  postalCode?: string | null;
  country?: string | null;
  instructions?: string | null;
  /** Wise to a UK account: its six-digit sort code. */
  sortCode?: string | null;
  /** Stripe: the connected account (acct_…). */
  accountId?: string | null;
}

export interface ParsedPayoutMethod {
  type: PayoutMethodType;
  /** Non-sensitive details, stored as JSON. */
  details: Record<string, string>;
  /** The one sensitive number (IBAN, or bank account number); the caller stores it encrypted. */
  secret: string | null;
  /** For masked display; never enough to use the account. */
  secretLast4: string | null;
  /** Only Wise pays out in a currency the partner chooses. */
  currency: string | null;
}

type Field = Exclude<keyof PayoutMethodInput, "type">;

const FIELDS: readonly Field[] = [
  "email",
  "currency",
  "accountName",
  "iban",
  "bic",
  "accountNumber",
  "routingNumber",
  "accountType",
  "bankName",
  "bankAddress",
  "handle",
  "phone",
  "payeeName",
  "addressLine1",
  "addressLine2",
  "city",
  "region",
  "postalCode",
  "country",
  "instructions",
  "sortCode",
  "accountId",
];

const FIELDS_BY_TYPE: Record<PayoutMethodType, readonly Field[]> = {
  PAYPAL: ["email"],
  // Wise pays an email (an email transfer) or a bank account: IBAN, UK sort code, or US ACH (with the address Wise needs).
  WISE: ["email", "currency", "accountName", "iban", "bic", "sortCode", "accountNumber", "routingNumber", "accountType", "addressLine1", "city", "region", "postalCode", "country"],
  BANK_TRANSFER: ["accountName", "iban", "bic", "bankName"],
  ACH: ["accountName", "routingNumber", "accountNumber", "accountType"],
  WIRE: ["accountName", "accountNumber", "bic", "bankName", "bankAddress", "routingNumber"],
  CHECK: ["payeeName", "addressLine1", "addressLine2", "city", "region", "postalCode", "country"],
  VENMO: ["handle"],
  ZELLE: ["email", "phone"],
  STORE_CREDIT: ["instructions"],
  OTHER: ["instructions"],
  STRIPE: ["accountId"],
};

const NOUNS: Record<Field, string> = {
  email: "an email",
  currency: "a currency",
  accountName: "an account name",
  iban: "an IBAN",
  bic: "a BIC",
  accountNumber: "an account number",
  routingNumber: "a routing number",
  accountType: "an account type",
  bankName: "a bank name",
  bankAddress: "a bank address",
  handle: "a handle",
  phone: "a phone number",
  payeeName: "a payee name",
  addressLine1: "an address line",
  addressLine2: "a second address line",
  city: "a city",
  region: "a region",
  postalCode: "a postal code",
  country: "a country",
  instructions: "instructions",
  sortCode: "a sort code",
  accountId: "a Stripe account id",
};

const INSTRUCTIONS_MAX = 500;

// ABA weights repeat 3-7-1, so any single mistyped digit changes the sum mod 10.
const ABA_WEIGHTS = [3, 7, 1, 3, 7, 1, 3, 7, 1] as const;

/** A US ABA routing number: 9 digits whose weighted sum (3-7-1) is a multiple of 10. */
export function isValidAbaRoutingNumber(value: string): boolean {
  if (!/^\d{9}$/.test(value)) return false;
  let total = 0;
  ABA_WEIGHTS.forEach((weight, index) => {
    total += weight * Number(value[index]);
  });
  return total % 10 === 0;
}

const withoutSpaces = (value: string) => value.replace(/\s+/g, "");

/** "a PAYPAL", "an ACH", "an OTHER". */
const aType = (type: string) => `${/^[AEIOU]/.test(type) ? "an" : "a"} ${type}`;

// Messages about bank numbers do not repeat the number: user errors end up in
// logs and in API responses, and the number is what we encrypt at rest.
function ibanProblem(codes: ValidationErrorsIBAN[], country: string): string {
  if (codes.includes(ValidationErrorsIBAN.NoIBANProvided)) return "the IBAN is empty";
  if (codes.includes(ValidationErrorsIBAN.NoIBANCountry)) return "the IBAN does not start with the code of a country that uses IBANs";
  if (codes.includes(ValidationErrorsIBAN.WrongBBANLength)) return `the IBAN has the wrong length for ${country}`;
  if (codes.includes(ValidationErrorsIBAN.WrongBBANFormat)) return `the IBAN is not laid out like a ${country} IBAN`;
  // A Swiss QR-IBAN only accepts QR-bill payments carrying a QR reference; a plain payout to it bounces.
  if (codes.includes(ValidationErrorsIBAN.QRIBANNotAllowed)) return "a QR-IBAN only takes QR-bill payments: use the account's ordinary IBAN";
  return "the IBAN's check digits do not match: check it for a typo";
}

/** The ways a Wise method reaches its recipient (Wise recipient types email, iban, sort_code, aba), by the field that names each. */
const WISE_ROUTES: readonly { key: "email" | "iban" | "sortCode" | "routingNumber"; name: string; fields: readonly Field[] }[] = [
  { key: "email", name: "email", fields: ["email", "accountName"] },
  { key: "iban", name: "IBAN", fields: ["iban", "bic", "accountName"] },
  { key: "sortCode", name: "sort code", fields: ["sortCode", "accountNumber", "accountName"] },
  { key: "routingNumber", name: "ACH", fields: ["routingNumber", "accountNumber", "accountType", "accountName", "addressLine1", "city", "region", "postalCode", "country"] },
];
const WISE_BANK_FIELDS: readonly Field[] = [
  "email",
  "accountName",
  "iban",
  "bic",
  "sortCode",
  "accountNumber",
  "routingNumber",
  "accountType",
  "addressLine1",
  "city",
  "region",
  "postalCode",
  "country",
];

/** Which Wise recipient type a stored Wise method is (details written by parsePayoutMethod). */
export function wiseRoute(details: Record<string, string | undefined>): "email" | "iban" | "sort_code" | "aba" {
  if (details.email) return "email";
  if (details.sortCode) return "sort_code";
  if (details.routingNumber) return "aba";
  return "iban";
}

/**
 * Checks a payout method from the API. Every problem is listed, each with the
 * path of its field ([...path, "iban"]). Values come back cleaned: IBANs and
 * BICs without spaces and upper-cased, emails lower-cased, Venmo handles with
 * their "@", phone numbers as +digits.
 */
export function parsePayoutMethod(input: PayoutMethodInput, path: string[] = ["input"]): Result<ParsedPayoutMethod> {
  const type = input.type;
  // The GraphQL enum keeps unknown types out; this guards callers that pass stored or scripted input.
  if (!Object.hasOwn(FIELDS_BY_TYPE, type)) {
    return failed(userError("INVALID_INPUT", `unknown payout method type "${String(type)}"`, [...path, "type"]));
  }
  const allowed = FIELDS_BY_TYPE[type];
  const errors: UserError[] = [];
  const at = (field: Field) => [...path, field];
  const problem = (code: UserError["code"], message: string, field: Field) => {
    errors.push(userError(code, message, at(field)));
    return undefined;
  };

  for (const field of FIELDS) {
    if (!allowed.includes(field) && input[field] != null) problem("INVALID_INPUT", `${aType(type)} method takes no ${field}`, field);
  }

  /** The raw value; a missing required field is reported here. */
  const raw = (field: Field, required: boolean): string | undefined => {
    const value = input[field];
    if (value == null) return required ? problem("INVALID_INPUT", `${aType(type)} method needs ${NOUNS[field]}`, field) : undefined;
    return value;
  };
  const text = (field: Field, required: boolean, max?: number) => {
    const value = raw(field, required);
    return value === undefined ? undefined : checkText(value, at(field), errors, max === undefined ? {} : { max });
  };
  const email = (field: Field, required: boolean) => {
    const value = raw(field, required);
    return value === undefined ? undefined : checkEmail(value, at(field), errors);
  };
  const bic = (required: boolean) => {
    const value = raw("bic", required);
    if (value === undefined) return undefined;
    const cleaned = withoutSpaces(value).toUpperCase();
    return isValidBIC(cleaned) ? cleaned : problem("INVALID_BIC", `"${value}" is not a BIC (8 or 11 characters, like DEUTDEFF)`, "bic");
  };
  const routingNumber = (required: boolean) => {
    const value = raw("routingNumber", required);
    if (value === undefined) return undefined;
    const cleaned = withoutSpaces(value);
    return isValidAbaRoutingNumber(cleaned)
      ? cleaned
      : problem("INVALID_ROUTING_NUMBER", `"${value}" is not an ABA routing number (9 digits with a valid check digit)`, "routingNumber");
  };

  const iban = () => {
    const value = raw("iban", true);
    if (value === undefined) return undefined;
    const cleaned = withoutSpaces(value).toUpperCase();
    if (!/^[A-Z0-9]*$/.test(cleaned)) return problem("INVALID_IBAN", "an IBAN has only letters and digits (like DE89 3704 0044 0532 0130 00)", "iban");
    const result = validateIBAN(cleaned, { allowQRIBAN: false });
    return result.valid ? cleaned : problem("INVALID_IBAN", ibanProblem(result.errorCodes, cleaned.slice(0, 2)), "iban");
  };

  let parsed: { details: Record<string, string | undefined>; secret?: string | undefined; currency?: string | undefined };
  switch (type) {
    case "PAYPAL":
      parsed = { details: { email: email("email", true) } };
      break;
    case "WISE": {
      const value = raw("currency", true);
      const currency = value === undefined ? undefined : (parseCurrencyCode(value) ?? problem("INVALID_CURRENCY", `"${value}" is not an ISO 4217 currency code`, "currency"));
      // Exactly one way to reach the recipient; the fields of the others are refused.
      const routes = WISE_ROUTES.filter((route) => input[route.key] != null);
      if (routes.length !== 1) {
        errors.push(
          userError("INVALID_INPUT", "a WISE method takes one of: an email, an IBAN, a sort code with an account number, or a routing number with an account number", path),
        );
        parsed = { details: {} };
        break;
      }
      const route = routes[0]!;
      for (const field of WISE_BANK_FIELDS) {
        if (input[field] != null && !route.fields.includes(field)) problem("INVALID_INPUT", `a Wise ${route.name} method takes no ${field}`, field);
      }
      const needsCurrency = (code: string, why: string) => {
        if (currency !== undefined && currency !== code) problem("INVALID_CURRENCY", why, "currency");
      };
      switch (route.key) {
        case "email":
          parsed = { details: { email: email("email", true), accountName: text("accountName", false) }, currency };
          break;
        case "iban": {
          const number = iban();
          parsed = { details: { accountName: text("accountName", true), bic: bic(false), country: number?.slice(0, 2) }, secret: number, currency };
          break;
        }
        case "sortCode": {
          const code = withoutSpaces(raw("sortCode", true) ?? "").replace(/-/g, "");
          const sortCode = /^\d{6}$/.test(code) ? code : problem("INVALID_INPUT", "a sort code is six digits (like 23-14-70)", "sortCode");
          const number = withoutSpaces(raw("accountNumber", true) ?? "");
          const accountNumber = /^\d{8}$/.test(number) ? number : problem("INVALID_INPUT", "a UK account number is eight digits", "accountNumber");
          needsCurrency("GBP", "Wise pays UK sort code accounts in GBP");
          parsed = { details: { accountName: text("accountName", true), sortCode }, secret: accountNumber, currency };
          break;
        }
        case "routingNumber": {
          const routing = routingNumber(true);
          const number = withoutSpaces(raw("accountNumber", true) ?? "");
          const accountNumber = /^\d{4,17}$/.test(number) ? number : problem("INVALID_INPUT", "an ACH account number is 4 to 17 digits", "accountNumber");
          const kind = raw("accountType", true);
          const accountType =
            kind === undefined || kind === "CHECKING" || kind === "SAVINGS" ? kind : problem("INVALID_INPUT", "accountType must be CHECKING or SAVINGS", "accountType");
          needsCurrency("USD", "Wise pays US ACH accounts in USD");
          const countryValue = raw("country", true);
          parsed = {
            // Wise needs the recipient's address for an ACH payment.
            details: {
              accountName: text("accountName", true),
              routingNumber: routing,
              accountType,
              addressLine1: text("addressLine1", true),
              city: text("city", true, 100),
              region: text("region", false, 100),
              postalCode: text("postalCode", true, 20),
              country: countryValue === undefined ? undefined : checkCountry(countryValue, at("country"), errors),
            },
            secret: accountNumber,
            currency,
          };
          break;
        }
      }
      break;
    }
    case "STRIPE": {
      const value = raw("accountId", true);
      const accountId =
        value === undefined
          ? undefined
          : /^acct_[A-Za-z0-9]{1,250}$/.test(value.trim())
            ? value.trim()
            : problem("INVALID_INPUT", "a Stripe account id looks like acct_1Nv0FGQ9RKHgCVdK", "accountId");
      parsed = { details: { accountId } };
      break;
    }
    case "BANK_TRANSFER": {
      const accountName = text("accountName", true);
      const number = iban();
      parsed = {
        details: { accountName, bic: bic(false), bankName: text("bankName", false), country: number?.slice(0, 2) },
        secret: number,
      };
      break;
    }
    case "ACH": {
      const accountName = text("accountName", true);
      const routing = routingNumber(true);
      const value = raw("accountNumber", true);
      let accountNumber: string | undefined;
      if (value !== undefined) {
        const cleaned = withoutSpaces(value);
        accountNumber = /^\d{4,17}$/.test(cleaned) ? cleaned : problem("INVALID_INPUT", "an ACH account number is 4 to 17 digits", "accountNumber");
      }
      const kind = raw("accountType", true);
      const accountType =
        kind === undefined || kind === "CHECKING" || kind === "SAVINGS" ? kind : problem("INVALID_INPUT", "accountType must be CHECKING or SAVINGS", "accountType");
      // The routing number names the bank, is printed on every check, and is
      // needed to show which bank the money goes to: not a secret.
      parsed = { details: { accountName, routingNumber: routing, accountType }, secret: accountNumber };
      break;
    }
    case "WIRE": {
      const accountName = text("accountName", true);
      const value = raw("accountNumber", true);
      let accountNumber: string | undefined;
      if (value !== undefined) {
        // Wires reach banks everywhere; foreign account numbers (IBANs among them) carry letters.
        const cleaned = withoutSpaces(value).toUpperCase();
        accountNumber = /^[A-Z0-9]{5,34}$/.test(cleaned) ? cleaned : problem("INVALID_INPUT", "a wire account number is 5 to 34 letters and digits", "accountNumber");
      }
      parsed = {
        details: {
          accountName,
          bic: bic(true),
          bankName: text("bankName", true),
          bankAddress: text("bankAddress", false, 500),
          routingNumber: routingNumber(false),
        },
        secret: accountNumber,
      };
      break;
    }
    case "CHECK": {
      const country = () => {
        const value = raw("country", true);
        return value === undefined ? undefined : checkCountry(value, at("country"), errors);
      };
      parsed = {
        details: {
          payeeName: text("payeeName", true),
          addressLine1: text("addressLine1", true),
          addressLine2: text("addressLine2", false),
          city: text("city", true, 100),
          region: text("region", false, 100),
          postalCode: text("postalCode", true, 20),
          country: country(),
        },
      };
      break;
    }
    case "VENMO": {
      const value = raw("handle", true);
      let handle: string | undefined;
      if (value !== undefined) {
        const trimmed = value.trim();
        const withAt = trimmed.startsWith("@") ? trimmed : `@${trimmed}`;
        handle = /^@[A-Za-z0-9_-]{5,30}$/.test(withAt) ? withAt : problem("INVALID_INPUT", "a Venmo handle is @ then 5 to 30 letters, digits, - or _", "handle");
      }
      parsed = { details: { handle } };
      break;
    }
    case "ZELLE": {
      // Zelle finds the recipient by one enrolled token; with two we could not
      // tell which one the partner enrolled.
      if (input.email == null && input.phone == null) {
        errors.push(userError("INVALID_INPUT", "a ZELLE method needs an email or a phone number", path));
      } else if (input.email != null && input.phone != null) {
        errors.push(userError("INVALID_INPUT", "a ZELLE method takes an email or a phone number, not both", path));
      }
      const value = raw("phone", false);
      let phone: string | undefined;
      if (value !== undefined) {
        const cleaned = value.replace(/[\s\-()]/g, "");
        phone = /^\+\d{8,15}$/.test(cleaned) ? cleaned : problem("INVALID_INPUT", `"${value}" is not an international phone number (like +1 555 123 4567)`, "phone");
      }
      parsed = { details: { email: email("email", false), phone } };
      break;
    }
    case "STORE_CREDIT":
      parsed = { details: { instructions: text("instructions", false, INSTRUCTIONS_MAX) } };
      break;
    case "OTHER":
      parsed = { details: { instructions: text("instructions", true, INSTRUCTIONS_MAX) } };
      break;
  }

  if (errors.length > 0) return { ok: false, errors };
  const details: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed.details)) if (value !== undefined) details[key] = value;
  const secret = parsed.secret ?? null;
  return ok({ type, details, secret, secretLast4: secret === null ? null : secret.slice(-4), currency: parsed.currency ?? null });
}

/** "•••• 1234": the way a stored secret is shown anywhere. */
export function maskSecret(last4: string | null): string | null {
  return last4 === null ? null : `•••• ${last4}`;
}

const LABEL_MAX = 40;

/**
 * A short label for lists and payout screens, e.g. "PayPal jane@example.com",
 * "Bank transfer DE•••• 3000", "ACH checking •••• 6789". Details come back from
 * JSON written by any earlier version, so a missing key degrades the label
 * instead of throwing.
 */
export function payoutMethodLabel(parsed: { type: PayoutMethodType; details: Record<string, string>; secretLast4: string | null }): string {
  const { details } = parsed;
  const masked = maskSecret(parsed.secretLast4);
  const join = (...parts: (string | null | undefined)[]) => parts.filter((part) => part).join(" ");
  switch (parsed.type) {
    case "PAYPAL":
      return join("PayPal", details.email);
    case "WISE":
      return details.email
        ? join("Wise", details.email)
        : join("Wise", masked && `${details.country && !details.routingNumber && !details.sortCode ? details.country : ""}${masked}`);
    case "STRIPE":
      return join("Stripe", details.accountId);
    case "BANK_TRANSFER":
      return join("Bank transfer", masked && `${details.country ?? ""}${masked}`);
    case "ACH":
      return join("ACH", details.accountType?.toLowerCase(), masked);
    case "WIRE":
      return join("Wire", details.bankName, masked);
    case "CHECK":
      return join("Check", details.payeeName && `to ${details.payeeName}`);
    case "VENMO":
      return join("Venmo", details.handle);
    case "ZELLE":
      return join("Zelle", details.email ?? details.phone);
    case "STORE_CREDIT":
      return "Store credit";
    case "OTHER": {
      const instructions = details.instructions?.replace(/\s+/g, " ");
      if (!instructions) return "Other";
      return instructions.length > LABEL_MAX ? `Other: ${instructions.slice(0, LABEL_MAX - 1)}…` : `Other: ${instructions}`;
    }
    default:
      return String(parsed.type);
  }
}
