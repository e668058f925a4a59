import { userError, type UserError } from "../../domain/errors.ts";
import type { PaymentProviderName } from "../../integrations/payments/payout-provider.ts";
import { PaymentProviderError } from "../../integrations/payments/provider-error.ts";

const NAMES: Record<PaymentProviderName, string> = { PAYPAL: "PayPal", WISE: "Wise", STRIPE: "Stripe" };
export const providerName = (provider: PaymentProviderName) => NAMES[provider];

/**
 * A provider's failure as a user error: its refusal (credentials, a request
 * it will not take) is PROVIDER_REJECTED; an outage, a timeout or a 429 is
 * PROVIDER_UNAVAILABLE (try again later). Anything else is a bug and is
 * rethrown, to be masked for the client and logged.
 */
export function providerUserError(error: unknown, provider: PaymentProviderName, field?: readonly string[]): UserError {
  if (!(error instanceof PaymentProviderError)) throw error;
  const name = providerName(provider);
  if (error.kind === "retryable") return userError("PROVIDER_UNAVAILABLE", `${name} is not answering; nothing was changed, try again in a minute`, field);
  if (error.kind === "unauthorized") return userError("PROVIDER_REJECTED", `${name} refused the program's credentials; an admin must reconnect ${name}`, field);
  return userError("PROVIDER_REJECTED", error.message, field);
}
