/**
 * Problems a user can fix. Mutations return them as data (`userErrors`), never
 * as exceptions that reach the client; the GraphQL enum UserErrorCode is built
 * from this list.
 */
export const USER_ERROR_CODES = [
  "INVALID_INPUT",
  "INVALID_AMOUNT",
  "INVALID_CURRENCY",
  "INVALID_TIME_ZONE",
  "INVALID_EMAIL",
  "INVALID_COMMISSION_RULE",
  "INVALID_SCHEDULE",
  "NOT_FOUND",
  "TAKEN",
  "CURRENCY_LOCKED",
  "IDEMPOTENCY_CONFLICT",
  "EXCHANGE_RATE_REQUIRED",
  "PARTNER_INACTIVE",
  "TOO_MANY_ITEMS",
  "INVALID_TRANSITION",
  "EXCEEDS_REMAINING",
  "BALANCE_NOT_NEGATIVE",
  "BALANCE_NOT_FINAL",
  "IN_OPEN_PAYOUT",
  "BELOW_MINIMUM",
  "NOT_POSITIVE",
  "NO_PAYOUT_METHOD",
  "NO_BILLING_DETAILS",
  "OPEN_PAYOUT_EXISTS",
  "NOTHING_PAYABLE",
  "PAYOUT_REQUESTS_DISABLED",
  "INVALID_IBAN",
  "INVALID_BIC",
  "INVALID_ROUTING_NUMBER",
  "CONCURRENT_UPDATE",
  "NOT_CONNECTED",
  "NOT_CONFIGURED",
  "ACCOUNTING_ERROR",
  "PROVIDER_REJECTED",
  "PROVIDER_UNAVAILABLE",
  "METHOD_NOT_VERIFIED",
  "DUAL_CONTROL",
] as const;

export type UserErrorCode = (typeof USER_ERROR_CODES)[number];

export interface UserError {
  code: UserErrorCode;
  message: string;
  /** Path to the input field at fault, e.g. ["input", "items", "3", "amount"]. */
  field?: string[];
}

export type Result<T> = { ok: true; value: T } | { ok: false; errors: UserError[] };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const failed = <T = never>(...errors: UserError[]): Result<T> => ({ ok: false, errors });

export function userError(code: UserErrorCode, message: string, field?: readonly (string | number)[]): UserError {
  return field ? { code, message, field: field.map(String) } : { code, message };
}

/**
 * Thrown inside a service's transaction to roll it back; the service boundary
 * turns it into a failed Result. Never reaches a resolver.
 */
export class UserErrorsThrown extends Error {
  constructor(readonly errors: UserError[]) {
    super(errors.map((error) => error.message).join("; "));
    this.name = "UserErrorsThrown";
  }
}

export function fail(code: UserErrorCode, message: string, field?: readonly (string | number)[]): never {
  throw new UserErrorsThrown([userError(code, message, field)]);
}

/** Prefixes every error's field path, e.g. to name a batch item. */
export function atPath(errors: UserError[], prefix: readonly (string | number)[]): UserError[] {
  return errors.map((error) => ({ ...error, field: [...prefix.map(String), ...(error.field ?? [])] }));
}

/**
 * An actor lacks the right for this particular record (finance revealing
 * bank details with nothing to pay). Authorisation stays a top-level
 * FORBIDDEN error in the API, not a userError.
 */
export class Forbidden extends Error {
  override name = "Forbidden";
}
