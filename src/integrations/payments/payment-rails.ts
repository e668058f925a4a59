import * as z from "zod";
import type { Config } from "../../config.ts";
import type { SecretBox } from "../../crypto/secret-box.ts";
import { DEFAULT_RETRY, type RetryPolicy } from "./http.ts";
import type { PaymentProviderName, PayoutProvider } from "./payout-provider.ts";
import { createPayPalProvider, PAYPAL_HOSTS, type PayPalCredentials } from "./paypal/paypal-provider.ts";
import { createStripeProvider, STRIPE_HOST, type StripeCredentials } from "./stripe/stripe-provider.ts";
import { createWiseProvider, WISE_HOSTS, type WiseCredentials } from "./wise/wise-provider.ts";
import { WISE_WEBHOOK_PUBLIC_KEYS } from "./wise/wise-webhook.ts";

/**
 * Makes connectors: from credentials an admin typed (to check them before
 * they are stored), or from a stored connection, whose credentials are
 * sealed JSON opened only here, at the moment of use.
 */
export type Environment = "SANDBOX" | "LIVE";

export interface ProviderCredentials {
  PAYPAL: PayPalCredentials;
  WISE: WiseCredentials;
  STRIPE: StripeCredentials;
}

const CREDENTIALS = {
  PAYPAL: z.object({ clientId: z.string().min(1), clientSecret: z.string().min(1), webhookId: z.string().min(1) }),
  WISE: z.object({ apiToken: z.string().min(1), profileId: z.string().regex(/^\d+$/) }),
  STRIPE: z.object({ secretKey: z.string().min(1), webhookSecret: z.string().min(1) }),
} as const;

export interface StoredConnection {
  provider: PaymentProviderName;
  environment: Environment;
  credentials: string;
}

export interface PaymentRails {
  connector<P extends PaymentProviderName>(provider: P, environment: Environment, credentials: ProviderCredentials[P]): PayoutProvider;
  forConnection(connection: StoredConnection): PayoutProvider;
  seal<P extends PaymentProviderName>(provider: P, credentials: ProviderCredentials[P]): string;
}

export function createPaymentRails(config: Config["payments"], secrets: SecretBox, retry: RetryPolicy = DEFAULT_RETRY): PaymentRails {
  const common = { timeoutMs: config.timeoutMs, retry };
  function connector<P extends PaymentProviderName>(provider: P, environment: Environment, credentials: ProviderCredentials[P]): PayoutProvider {
    switch (provider) {
      case "PAYPAL": {
        const baseUrl = config.paypalApiUrl ?? PAYPAL_HOSTS[environment].api;
        return createPayPalProvider(credentials as PayPalCredentials, {
          ...common,
          baseUrl,
          // With the host overridden (a stand-in, a proxy), certificates come from there only.
          certOrigins: config.paypalApiUrl ? [new URL(config.paypalApiUrl).origin] : PAYPAL_HOSTS[environment].certOrigins,
        });
      }
      case "WISE":
        return createWiseProvider(credentials as WiseCredentials, {
          ...common,
          baseUrl: config.wiseApiUrl ?? WISE_HOSTS[environment],
          webhookPublicKey: config.wiseWebhookPublicKey ?? WISE_WEBHOOK_PUBLIC_KEYS[environment],
        });
      case "STRIPE":
        return createStripeProvider(credentials as StripeCredentials, { ...common, baseUrl: config.stripeApiUrl ?? STRIPE_HOST });
      default:
        throw new Error(`unknown payment provider ${String(provider)}`);
    }
  }
  return {
    connector,
    forConnection(connection) {
      const credentials = CREDENTIALS[connection.provider].parse(JSON.parse(secrets.open(connection.credentials)));
      return connector(connection.provider, connection.environment, credentials as never);
    },
    seal: (provider, credentials) => secrets.seal(JSON.stringify(CREDENTIALS[provider].parse(credentials))),
  };
}
