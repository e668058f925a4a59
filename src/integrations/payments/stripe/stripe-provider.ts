import type Stripe from "stripe";
import type { CurrencyCode } from "../../../domain/currency.ts";
import { withRetries, type ConnectorOptions } from "../http.ts";
import { asCurrency, fromMinorUnits, toMinorUnits } from "../minor-units.ts";
import { PaymentProviderError, WebhookRejected } from "../provider-error.ts";
import type {
  LookupQuery,
  MethodToVerify,
  MethodVerification,
  PayoutProvider,
  ProviderEvent,
  SendRequest,
  SendResult,
  TransferInstruction,
  TransferOutcome,
  WebhookHeaders,
} from "../payout-provider.ts";
import { stripeDigits, stripeStep } from "./stripe-currencies.ts";

/**
 * Stripe Connect transfers (shared/reference/payment-rails-api-facts.md §3,
 * sources [S…]) through Stripe's own SDK. A transfer to a connected account
 * is synchronous: once Stripe answers with a tr_… object the money is in
 * that account's Stripe balance, so it is PAID; a reversal later brings it
 * back (transfer.reversed). Every create carries our Idempotency-Key [S5];
 * keys may be pruned after 24 hours, so each transfer also carries a
 * transfer_group made from the key, and a send first looks for a transfer in
 * that group: a crash any time after Stripe accepted finds it again.
 *
 * The SDK's own retries are off (maxNetworkRetries 0): ours honour
 * Stripe-Should-Retry, Retry-After and the same policy as the other rails.
 * The SDK is loaded on first use, so a server with no Stripe connection
 * never pays for it at start.
 */
export interface StripeCredentials {
  /** The platform's secret key (sk_test_… in the sandbox, sk_live_… live) [S1]. */
  secretKey: string;
  /** The webhook endpoint's signing secret (whsec_…) [S13]. */
  webhookSecret: string;
}

export const STRIPE_HOST = "https://api.stripe.com";
/** [S13]: the SDK's default tolerance for a signature's timestamp. */
const TOLERANCE_SECONDS = 300;

type StripeSdk = typeof Stripe;
let sdk: Promise<StripeSdk> | undefined;
const loadSdk = (): Promise<StripeSdk> => (sdk ??= import("stripe").then((module) => module.default));

type StripeErrorLike = { type?: string; statusCode?: number; headers?: Record<string, string>; code?: string; message: string; rawType?: string };

/** The group a transfer is filed under: derived from its key, so the key alone finds it. */
export const transferGroupOf = (idempotencyKey: string) => `accrue-${idempotencyKey}`.slice(0, 200);

function classify(Sdk: StripeSdk, error: unknown): PaymentProviderError | StripeErrorLike {
  if (!(error instanceof Sdk.errors.StripeError)) throw error;
  const e = error as unknown as StripeErrorLike;
  const headers = e.headers ?? {};
  const summary = [e.code, e.message].filter(Boolean).join(": ");
  if (e.type === "StripeConnectionError") return new PaymentProviderError(`Stripe did not answer (${e.message})`, "retryable");
  if (e.statusCode === 401) return new PaymentProviderError(`Stripe refused the key (${summary})`, "unauthorized", 401, undefined, e.code);
  const shouldRetry = headers["stripe-should-retry"];
  if (shouldRetry === "true" || (shouldRetry !== "false" && (e.statusCode === 409 || e.statusCode === 429 || (e.statusCode ?? 0) >= 500))) {
    const after = headers["retry-after"] ? Number(headers["retry-after"]) * 1000 : undefined;
    return new PaymentProviderError(`Stripe is unavailable (${summary})`, "retryable", e.statusCode, Number.isFinite(after) ? after : undefined, e.code);
  }
  return e;
}

export function createStripeProvider(credentials: StripeCredentials, options: ConnectorOptions): PayoutProvider {
  const base = new URL(options.baseUrl);
  let client: Stripe | undefined;
  async function stripe(): Promise<Stripe> {
    const Sdk = await loadSdk();
    client ??= new Sdk(credentials.secretKey, {
      host: base.hostname,
      port: base.port ? Number(base.port) : base.protocol === "https:" ? 443 : 80,
      protocol: base.protocol === "https:" ? "https" : "http",
      maxNetworkRetries: 0,
      timeout: options.timeoutMs,
      telemetry: false,
    });
    return client;
  }

  /** A Stripe call retried on what Stripe says is retryable; other refusals come back as the SDK's error. */
  async function attempt<T>(call: (stripe: Stripe) => Promise<T>): Promise<T | { refused: StripeErrorLike }> {
    const Sdk = await loadSdk();
    const api = await stripe();
    return withRetries(options, async () => {
      try {
        return await call(api);
      } catch (error) {
        const sorted = classify(Sdk, error);
        if (sorted instanceof PaymentProviderError) throw sorted;
        return { refused: sorted };
      }
    });
  }
  const refusedOf = <T>(value: T | { refused: StripeErrorLike }): StripeErrorLike | undefined =>
    value && typeof value === "object" && "refused" in (value as object) ? (value as { refused: StripeErrorLike }).refused : undefined;

  function outcomeOf(transfer: Stripe.Transfer, instruction: { reference: string; idempotencyKey?: string }): TransferOutcome {
    const currency = asCurrency(transfer.currency);
    const reversed = transfer.amount_reversed > 0;
    return {
      reference: transfer.metadata?.accrue_reference ?? instruction.reference,
      idempotencyKey: instruction.idempotencyKey,
      status: reversed ? "RETURNED" : "PAID",
      providerTransferId: transfer.id,
      reason: reversed ? `reversed ${fromMinorUnits(transfer.amount_reversed, stripeDigits(currency)).toFixed()} ${currency}${transfer.reversed ? " (all of it)" : ""}` : undefined,
      sentAmount: { amount: fromMinorUnits(transfer.amount, stripeDigits(currency)), currency },
    };
  }

  async function findByKey(idempotencyKey: string): Promise<Stripe.Transfer | undefined> {
    const found = await attempt((api) => api.transfers.list({ transfer_group: transferGroupOf(idempotencyKey), limit: 1 }));
    const refused = refusedOf(found);
    if (refused) throw new PaymentProviderError(`Stripe refused the lookup (${refused.message})`, refused.statusCode === 401 ? "unauthorized" : "permanent", refused.statusCode);
    return (found as Stripe.ApiList<Stripe.Transfer>).data[0];
  }

  async function sendOne(instruction: TransferInstruction): Promise<TransferOutcome> {
    const failed = (reason: string): TransferOutcome => ({
      reference: instruction.reference,
      idempotencyKey: instruction.idempotencyKey,
      status: "FAILED",
      providerTransferId: null,
      reason,
    });
    if (instruction.recipient.kind !== "stripe") return failed("not a Stripe connected account");
    let amount: string;
    try {
      amount = toMinorUnits(instruction.amount, stripeDigits(instruction.currency));
    } catch {
      return failed(`${instruction.amount.toFixed()} ${instruction.currency} does not fit Stripe's ${stripeDigits(instruction.currency)} decimal places`);
    }
    if (BigInt(amount) % BigInt(stripeStep(instruction.currency)) !== 0n)
      return failed(`Stripe sends ${instruction.currency} in steps of ${stripeStep(instruction.currency)} minor units`);
    if (BigInt(amount) <= 0n) return failed("Stripe transfers positive amounts only");
    const existing = await findByKey(instruction.idempotencyKey);
    if (existing) return outcomeOf(existing, instruction);
    const created = await attempt((api) =>
      api.transfers.create(
        {
          amount: Number(amount),
          currency: instruction.currency.toLowerCase(),
          destination: instruction.recipient.kind === "stripe" ? instruction.recipient.accountId : "",
          transfer_group: transferGroupOf(instruction.idempotencyKey),
          metadata: { accrue_reference: instruction.reference },
          ...(instruction.note ? { description: instruction.note } : {}),
        },
        { idempotencyKey: instruction.idempotencyKey },
      ),
    );
    const refused = refusedOf(created);
    if (!refused) return outcomeOf(created as Stripe.Transfer, instruction);
    if (refused.statusCode === 401) throw new PaymentProviderError(`Stripe refused the key (${refused.message})`, "unauthorized", 401);
    if (refused.type === "StripeIdempotencyError") throw new PaymentProviderError(`Stripe: ${refused.message}`, "permanent", refused.statusCode, undefined, "idempotency_error");
    if ((refused.statusCode ?? 0) >= 500) {
      // A 5xx Stripe will replay for this key (Stripe-Should-Retry: false) [S8]: whether it made the transfer is for the group to say.
      const after = await findByKey(instruction.idempotencyKey);
      if (after) return outcomeOf(after, instruction);
    }
    return failed([refused.code, refused.message].filter(Boolean).join(": "));
  }

  return {
    name: "STRIPE",

    async verifyCredentials() {
      const account = await attempt((api) => api.accounts.retrieveCurrent());
      const refused = refusedOf(account);
      if (refused) throw new PaymentProviderError(`Stripe refused the key (${refused.message})`, refused.statusCode === 401 ? "unauthorized" : "permanent", refused.statusCode);
      const a = account as Stripe.Account;
      return { accountLabel: [a.id, a.settings?.dashboard?.display_name].filter(Boolean).join(" ") };
    },

    /** The account must be one of the platform's connected accounts, able to receive transfers. */
    async verifyMethod(method: MethodToVerify): Promise<MethodVerification> {
      if (method.provider !== "STRIPE") throw new Error(`Stripe cannot verify a ${method.provider} method`);
      const account = await attempt((api) => api.accounts.retrieve(method.accountId));
      const refused = refusedOf(account);
      if (refused) {
        if (refused.statusCode === 401) throw new PaymentProviderError(`Stripe refused the key (${refused.message})`, "unauthorized", 401);
        return { ok: false, problems: [{ field: "accountId", message: `Stripe has no connected account ${method.accountId} for this platform (${refused.message})` }] };
      }
      const transfers = (account as Stripe.Account).capabilities?.transfers;
      if (transfers !== "active")
        return { ok: false, problems: [{ field: "accountId", message: `the account cannot receive transfers yet (transfers capability: ${transfers ?? "none"})` }] };
      return { ok: true, recipientId: method.accountId };
    },

    async send(request: SendRequest): Promise<SendResult> {
      const transfers: TransferOutcome[] = [];
      for (const instruction of request.transfers) transfers.push(await sendOne(instruction));
      return { transfers };
    },

    async lookup(query: LookupQuery): Promise<TransferOutcome[]> {
      const outcomes: TransferOutcome[] = [];
      for (const transfer of query.transfers ?? []) {
        let found: Stripe.Transfer | undefined;
        if (transfer.providerTransferId) {
          const got = await attempt((api) => api.transfers.retrieve(transfer.providerTransferId!));
          const refused = refusedOf(got);
          if (refused)
            throw new PaymentProviderError(`Stripe refused the lookup (${refused.message})`, refused.statusCode === 401 ? "unauthorized" : "permanent", refused.statusCode);
          found = got as Stripe.Transfer;
        } else if (transfer.idempotencyKey) {
          found = await findByKey(transfer.idempotencyKey);
        }
        outcomes.push(
          found
            ? outcomeOf(found, transfer)
            : {
                reference: transfer.reference,
                idempotencyKey: transfer.idempotencyKey,
                status: "FAILED",
                providerTransferId: null,
                reason: "Stripe has no transfer under this key",
              },
        );
      }
      return outcomes;
    },

    async parseWebhook(raw: Buffer, headers: WebhookHeaders): Promise<ProviderEvent[]> {
      const signature = headers["stripe-signature"];
      const Sdk = await loadSdk();
      const api = await stripe();
      let event: Stripe.Event;
      try {
        event = api.webhooks.constructEvent(raw, Array.isArray(signature) ? signature[0]! : (signature ?? ""), credentials.webhookSecret, TOLERANCE_SECONDS);
      } catch (error) {
        if (error instanceof Sdk.errors.StripeSignatureVerificationError) throw new WebhookRejected("Stripe's signature does not match", 401);
        throw new WebhookRejected("not a Stripe event", 400);
      }
      const occurredAt = new Date(event.created * 1000);
      const object = event.data.object as unknown as Record<string, unknown>;
      switch (event.type) {
        case "transfer.created":
        case "transfer.reversed": {
          const transfer = object as unknown as Stripe.Transfer;
          const currency = asCurrency(transfer.currency) as CurrencyCode;
          return [
            {
              eventId: event.id,
              kind: event.type === "transfer.created" ? "paid" : "returned",
              subject: "transfer",
              transferId: transfer.id,
              reference: transfer.metadata?.accrue_reference,
              ...(event.type === "transfer.reversed"
                ? {
                    amount: { amount: fromMinorUnits(transfer.amount_reversed, stripeDigits(currency)), currency },
                    reason: transfer.reversed ? "reversed in full" : "reversed in part",
                  }
                : {}),
              occurredAt,
              providerType: event.type,
            },
          ];
        }
        case "payout.paid":
        case "payout.failed":
        case "payout.canceled": {
          // A connected account's payout to its bank [S10][S11]: paid means expected to arrive; failed may follow paid.
          const payout = object as unknown as Stripe.Payout;
          const currency = asCurrency(payout.currency) as CurrencyCode;
          return [
            {
              eventId: event.id,
              kind: event.type === "payout.paid" ? "paid" : "failed",
              subject: "account_payout",
              transferId: payout.id,
              account: event.account,
              reason: event.type === "payout.paid" ? undefined : [payout.failure_code, payout.failure_message].filter(Boolean).join(": ") || event.type,
              amount: { amount: fromMinorUnits(payout.amount, stripeDigits(currency)), currency },
              occurredAt,
              providerType: event.type,
            },
          ];
        }
        default:
          return [];
      }
    },
  };
}
