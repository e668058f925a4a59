import type { CurrencyCode } from "../../domain/currency.ts";
import { userError, type UserError, type UserErrorCode } from "../../domain/errors.ts";
import { wiseRoute, type ParsedPayoutMethod, type PayoutMethodType } from "../../domain/payout-method.ts";
import type { PayoutMethod } from "../../generated/prisma/client.ts";
import type { MethodToVerify, PaymentProviderName } from "../../integrations/payments/payout-provider.ts";
import { providerName, providerUserError } from "../payment-providers/provider-user-error.ts";
import type { ServiceDeps } from "../deps.ts";
import type { Tx } from "../transact.ts";

/**
 * A payout method is checked with the provider that would pay it, when the
 * program has that provider connected: Wise creates (and so validates) the
 * recipient, PayPal's email and currency are checked, a Stripe account must
 * be connected to the platform and take transfers. Methods no connected
 * provider can check stay UNVERIFIED and behave as before.
 */
export const VERIFYING_PROVIDER: Partial<Record<PayoutMethodType, PaymentProviderName>> = { PAYPAL: "PAYPAL", WISE: "WISE", STRIPE: "STRIPE" };

export type ProviderCheck =
  | { status: "VERIFIED"; provider: PaymentProviderName; recipientId: string | null }
  | { status: "UNVERIFIED" }
  | { status: "REFUSED"; errors: UserError[] };

const CODE_OF_FIELD: Record<string, UserErrorCode> = { iban: "INVALID_IBAN", routingNumber: "INVALID_ROUTING_NUMBER", email: "INVALID_EMAIL", currency: "INVALID_CURRENCY" };

/** What the provider needs to see of the method (the sensitive number in the clear, only for this call). */
function methodToVerify(
  parsed: ParsedPayoutMethod,
  context: { programCurrency: CurrencyCode; partnerName: string; legalType: "PRIVATE" | "BUSINESS" },
): MethodToVerify | undefined {
  const d = parsed.details;
  switch (parsed.type) {
    case "PAYPAL":
      return { provider: "PAYPAL", email: d.email!, currency: context.programCurrency };
    case "STRIPE":
      return { provider: "STRIPE", accountId: d.accountId!, currency: context.programCurrency };
    case "WISE": {
      const route = wiseRoute(d);
      const account =
        route === "email"
          ? { type: "email" as const, email: d.email! }
          : route === "iban"
            ? { type: "iban" as const, iban: parsed.secret!, ...(d.bic ? { bic: d.bic } : {}) }
            : route === "sort_code"
              ? { type: "sort_code" as const, sortCode: d.sortCode!, accountNumber: parsed.secret! }
              : {
                  type: "aba" as const,
                  routingNumber: d.routingNumber!,
                  accountNumber: parsed.secret!,
                  accountType: d.accountType as "CHECKING" | "SAVINGS",
                  address: { country: d.country!, city: d.city!, postCode: d.postalCode!, firstLine: d.addressLine1!, ...(d.region ? { state: d.region } : {}) },
                };
      return { provider: "WISE", currency: parsed.currency as CurrencyCode, accountHolderName: d.accountName ?? context.partnerName, legalType: context.legalType, account };
    }
    default:
      return undefined;
  }
}

/**
 * Asks the program's provider about the method (outside any transaction:
 * it is a call to another system). Refusals come back as user errors on the
 * method's fields under `path`.
 */
export async function checkWithProvider(deps: ServiceDeps, programId: string, partnerId: string, parsed: ParsedPayoutMethod, path: readonly string[]): Promise<ProviderCheck> {
  const provider = VERIFYING_PROVIDER[parsed.type];
  if (!provider || !deps.paymentRails) return { status: "UNVERIFIED" };
  const db = deps.tenant(programId);
  const connection = await db.paymentProviderConnection.findUnique({ where: { programId_provider: { programId, provider } } });
  if (!connection || connection.status !== "CONNECTED") return { status: "UNVERIFIED" };
  const [program, partner] = await Promise.all([
    db.program.findUniqueOrThrow({ where: { id: programId }, select: { currency: true } }),
    db.partner.findUniqueOrThrow({ where: { id: partnerId }, select: { name: true, billingProfile: { select: { entityType: true } } } }),
  ]);
  const method = methodToVerify(parsed, {
    programCurrency: program.currency as CurrencyCode,
    partnerName: partner.name,
    legalType: partner.billingProfile?.entityType === "COMPANY" ? "BUSINESS" : "PRIVATE",
  });
  if (!method) return { status: "UNVERIFIED" };
  try {
    const verdict = await deps.paymentRails.forConnection(connection).verifyMethod(method);
    if (verdict.ok) return { status: "VERIFIED", provider, recipientId: verdict.recipientId };
    return {
      status: "REFUSED",
      errors: verdict.problems.map((problem) =>
        userError(
          problem.field ? (CODE_OF_FIELD[problem.field] ?? "PROVIDER_REJECTED") : "PROVIDER_REJECTED",
          `${providerName(provider)}: ${problem.message}`,
          problem.field ? [...path, problem.field] : path,
        ),
      ),
    };
  } catch (error) {
    return { status: "REFUSED", errors: [providerUserError(error, provider, path)] };
  }
}

/** The verification columns for a check's result. */
export function verificationData(check: Exclude<ProviderCheck, { status: "REFUSED" }>, now: Date) {
  return check.status === "VERIFIED"
    ? { verificationStatus: "VERIFIED" as const, verifiedWith: check.provider, verifiedAt: now, providerRecipientId: check.recipientId }
    : { verificationStatus: "UNVERIFIED" as const, verifiedWith: null, verifiedAt: null, providerRecipientId: null };
}

/**
 * A method may be the default unless the provider that pays it is connected
 * and has not verified it: the default is what a payout is sent to.
 */
export async function mayBeDefault(tx: Tx, method: Pick<PayoutMethod, "type" | "verificationStatus" | "verifiedWith">): Promise<boolean> {
  const provider = VERIFYING_PROVIDER[method.type];
  if (!provider) return true;
  if (method.verificationStatus === "VERIFIED" && method.verifiedWith === provider) return true;
  const connection = await tx.db.paymentProviderConnection.findUnique({ where: { programId_provider: { programId: tx.programId, provider } }, select: { status: true } });
  return connection?.status !== "CONNECTED";
}

/** A stored method back in parsed form (the number opened), to check it again. */
export function storedAsParsed(deps: ServiceDeps, method: PayoutMethod): ParsedPayoutMethod {
  const { label: _label, ...details } = method.details as Record<string, string>;
  return { type: method.type, details, secret: method.secret ? deps.secrets.open(method.secret) : null, secretLast4: method.secretLast4, currency: method.currency };
}
