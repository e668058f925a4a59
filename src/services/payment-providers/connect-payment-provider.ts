import { failed, userError, type Result, type UserError } from "../../domain/errors.ts";
import type { PaymentProviderConnection } from "../../generated/prisma/client.ts";
import type { Environment, ProviderCredentials } from "../../integrations/payments/payment-rails.ts";
import type { PaymentProviderName } from "../../integrations/payments/payout-provider.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";
import { providerName, providerUserError } from "./provider-user-error.ts";

export interface ConnectPaymentProviderInput {
  provider: PaymentProviderName;
  environment: Environment;
  paypal?: ProviderCredentials["PAYPAL"] | null;
  wise?: ProviderCredentials["WISE"] | null;
  stripe?: ProviderCredentials["STRIPE"] | null;
}

const KEY: Record<PaymentProviderName, "paypal" | "wise" | "stripe"> = { PAYPAL: "paypal", WISE: "wise", STRIPE: "stripe" };

/** The credentials for the chosen provider, trimmed, or what is wrong with them (nothing is sent to a provider before this passes). */
function credentialsOf(input: ConnectPaymentProviderInput): { value: ProviderCredentials[PaymentProviderName] } | { errors: UserError[] } {
  const errors: UserError[] = [];
  const key = KEY[input.provider];
  for (const other of Object.values(KEY)) {
    if (other !== key && input[other] != null) errors.push(userError("INVALID_INPUT", `${other} credentials are not for ${providerName(input.provider)}`, ["input", other]));
  }
  const given = input[key] as Record<string, string> | null | undefined;
  if (!given) return { errors: [...errors, userError("INVALID_INPUT", `${providerName(input.provider)} needs its credentials in ${key}`, ["input", key])] };
  const value: Record<string, string> = {};
  for (const [name, raw] of Object.entries(given)) {
    const trimmed = raw.trim();
    if (trimmed.length === 0 || trimmed.length > 2000 || /[\0\r\n]/.test(trimmed))
      errors.push(userError("INVALID_INPUT", `${name} must be 1 to 2000 characters on one line`, ["input", key, name]));
    value[name] = trimmed;
  }
  if (input.provider === "WISE" && value.profileId && !/^\d{1,20}$/.test(value.profileId))
    errors.push(userError("INVALID_INPUT", "profileId is a Wise profile id (digits)", ["input", "wise", "profileId"]));
  if (input.provider === "STRIPE") {
    // Stripe's objects never cross modes [S1]: a live key in the sandbox (or the reverse) is a mistake worth stopping.
    const mode = input.environment === "LIVE" ? "live" : "test";
    if (value.secretKey && !new RegExp(`^(sk|rk)_${mode}_`).test(value.secretKey))
      errors.push(userError("INVALID_INPUT", `a ${input.environment.toLowerCase()} Stripe key starts with sk_${mode}_ or rk_${mode}_`, ["input", "stripe", "secretKey"]));
    if (value.webhookSecret && !value.webhookSecret.startsWith("whsec_"))
      errors.push(userError("INVALID_INPUT", "a Stripe webhook signing secret starts with whsec_", ["input", "stripe", "webhookSecret"]));
  }
  return errors.length ? { errors } : { value: value as never };
}

/**
 * Connects (or reconnects) the program to a payment provider (admin): the
 * credentials are tried against the provider first, then stored sealed;
 * they never come back out through the API.
 * Errors: INVALID_INPUT, PROVIDER_REJECTED, PROVIDER_UNAVAILABLE, NOT_CONFIGURED.
 */
export async function connectPaymentProvider(deps: ServiceDeps, actor: Actor, input: ConnectPaymentProviderInput): Promise<Result<PaymentProviderConnection>> {
  const rails = deps.paymentRails;
  if (!rails) return failed(userError("NOT_CONFIGURED", "payment rails are not configured on this server"));
  const credentials = credentialsOf(input);
  if ("errors" in credentials) return { ok: false, errors: credentials.errors };
  let accountLabel: string;
  try {
    ({ accountLabel } = await rails.connector(input.provider, input.environment, credentials.value as never).verifyCredentials());
  } catch (error) {
    return failed(providerUserError(error, input.provider, ["input", KEY[input.provider]]));
  }
  return transact(deps, actor, async (tx) => {
    const data = {
      environment: input.environment,
      status: "CONNECTED" as const,
      credentials: rails.seal(input.provider, credentials.value as never),
      accountLabel,
      connectedBy: actor.id,
      connectedAt: tx.now,
      disconnectedAt: null,
    };
    const before = await tx.db.paymentProviderConnection.findUnique({ where: { programId_provider: { programId: tx.programId, provider: input.provider } } });
    const connection = await tx.db.paymentProviderConnection.upsert({
      where: { programId_provider: { programId: tx.programId, provider: input.provider } },
      create: { ...data, programId: tx.programId, provider: input.provider },
      update: data,
    });
    await audit(tx, {
      action: "payment_provider.connect",
      entityType: "PaymentProviderConnection",
      entityId: connection.id,
      before: before ? { status: before.status, environment: before.environment, accountLabel: before.accountLabel } : undefined,
      after: { provider: input.provider, environment: input.environment, accountLabel },
    });
    return connection;
  });
}
