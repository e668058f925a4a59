import { createHash } from "node:crypto";
import * as z from "zod";
import type { CurrencyCode } from "../../../domain/currency.ts";
import { Dec } from "../../../domain/money.ts";
import { errorOf, send, withRetries, type ConnectorOptions, type HttpAnswer } from "../http.ts";
import { asCurrency } from "../minor-units.ts";
import { PaymentProviderError, WebhookRejected } from "../provider-error.ts";
import type {
  LookupQuery,
  MethodToVerify,
  MethodVerification,
  PayoutProvider,
  ProviderEvent,
  ProviderEventKind,
  SendRequest,
  SendResult,
  TransferInstruction,
  TransferOutcome,
  TransferStatus,
  WebhookHeaders,
} from "../payout-provider.ts";
import { PAYPAL_CURRENCY_DECIMALS } from "./paypal-currencies.ts";
import { verifyPayPalSignature } from "./paypal-webhook.ts";

/**
 * PayPal Payouts API v1 (shared/reference/payment-rails-api-facts.md §1; the
 * tags [P…] name its sources). A send is one batch whose sender_batch_id is
 * the request's idempotency key: PayPal refuses a second batch with that id
 * for 30 days [P3], and the refusal links to the first batch, which is read
 * instead, so a retry after a timeout or a crash finds what was sent.
 */
export interface PayPalCredentials {
  clientId: string;
  clientSecret: string;
  /** The id PayPal gave our webhook listener (part of what it signs). */
  webhookId: string;
}

export interface PayPalOptions extends ConnectorOptions {
  /** Origins PayPal signing certificates may be fetched from. */
  certOrigins: readonly string[];
  now?: () => Date;
}

export const PAYPAL_HOSTS = {
  SANDBOX: { api: "https://api-m.sandbox.paypal.com", certOrigins: ["https://api-m.sandbox.paypal.com", "https://api.sandbox.paypal.com"] },
  LIVE: { api: "https://api-m.paypal.com", certOrigins: ["https://api-m.paypal.com", "https://api.paypal.com"] },
} as const;

/** [P3]: at most 15,000 items a batch, a sender_batch_id of at most 256 characters. */
const MAX_ITEMS = 15_000;
const MAX_BATCH_ID = 256;

const tokens = new Map<string, { token: string; expiresAt: number }>();

const Money = z.object({ value: z.string(), currency: z.string().length(3) });
const PayoutItem = z.object({
  payout_item_id: z.string(),
  transaction_id: z.string().optional().nullable(),
  transaction_status: z.string(),
  payout_batch_id: z.string().optional(),
  payout_item_fee: Money.optional().nullable(),
  payout_item: z.object({ amount: Money, receiver: z.string().optional(), sender_item_id: z.string().optional() }),
  errors: z.object({ name: z.string().optional(), message: z.string().optional() }).optional().nullable(),
  time_processed: z.string().optional().nullable(),
});
const Batch = z.object({
  batch_header: z.object({ payout_batch_id: z.string(), batch_status: z.string(), sender_batch_header: z.object({ sender_batch_id: z.string() }).partial().optional() }),
  items: z.array(PayoutItem).optional(),
});
const Links = z.array(z.object({ href: z.string(), rel: z.string().optional(), method: z.string().optional() }));
const PayPalErrorBody = z.object({
  name: z.string().optional(),
  message: z.string().optional(),
  debug_id: z.string().optional(),
  details: z.array(z.object({ field: z.string().optional(), issue: z.string().optional(), description: z.string().optional() })).optional(),
  links: Links.optional(),
});

/** Item transaction_status [P4][P8] → our status. ONHOLD and BLOCKED may not be final [P17]: ONHOLD waits, BLOCKED is a failure. */
export function itemStatus(status: string): TransferStatus {
  switch (status) {
    case "SUCCESS":
      return "PAID";
    case "UNCLAIMED":
      return "UNCLAIMED";
    case "FAILED":
    case "BLOCKED":
    case "DENIED":
      return "FAILED";
    case "RETURNED":
    case "REFUNDED":
    case "REVERSED":
      return "RETURNED";
    default:
      return "PROCESSING";
  }
}

/** Item webhook events [P12] → our kinds; HELD is not news (the item waits), batch events carry no items. */
const EVENT_KINDS: Record<string, ProviderEventKind> = {
  "PAYMENT.PAYOUTS-ITEM.SUCCEEDED": "paid",
  "PAYMENT.PAYOUTS-ITEM.FAILED": "failed",
  "PAYMENT.PAYOUTS-ITEM.BLOCKED": "failed",
  "PAYMENT.PAYOUTS-ITEM.DENIED": "failed",
  "PAYMENT.PAYOUTS-ITEM.UNCLAIMED": "unclaimed",
  "PAYMENT.PAYOUTS-ITEM.RETURNED": "returned",
  "PAYMENT.PAYOUTS-ITEM.REFUNDED": "returned",
  // A cancel applies to unclaimed items only and returns the money [P8].
  "PAYMENT.PAYOUTS-ITEM.CANCELED": "returned",
};

function summary(answer: HttpAnswer): { text: string; name?: string; body?: z.infer<typeof PayPalErrorBody> } {
  const parsed = PayPalErrorBody.safeParse(answer.body);
  if (!parsed.success) return { text: `HTTP ${answer.status}` };
  const issues = (parsed.data.details ?? []).map((d) => [d.field, d.issue].filter(Boolean).join(": ")).join("; ");
  return { text: [parsed.data.name, parsed.data.message, issues].filter(Boolean).join(" — ") || `HTTP ${answer.status}`, name: parsed.data.name, body: parsed.data };
}

function outcomeOf(item: z.infer<typeof PayoutItem>, fallbackReference: string): TransferOutcome {
  const status = itemStatus(item.transaction_status);
  return {
    reference: item.payout_item.sender_item_id ?? fallbackReference,
    status,
    providerTransferId: item.payout_item_id,
    providerBatchId: item.payout_batch_id,
    reason: status === "PAID" || status === "PROCESSING" ? undefined : [item.transaction_status, item.errors?.name, item.errors?.message].filter(Boolean).join(": "),
    fee: item.payout_item_fee ? { amount: new Dec(item.payout_item_fee.value), currency: asCurrency(item.payout_item_fee.currency) } : undefined,
    sentAmount: { amount: new Dec(item.payout_item.amount.value), currency: asCurrency(item.payout_item.amount.currency) },
  };
}

/** The amount as PayPal writes it, or why it cannot be sent through PayPal. */
function paypalValue(transfer: TransferInstruction): { value: string } | { problem: string } {
  const decimals = PAYPAL_CURRENCY_DECIMALS[transfer.currency];
  if (decimals === undefined) return { problem: `PayPal Payouts does not pay in ${transfer.currency}` };
  if (transfer.amount.decimalPlaces() > decimals) return { problem: `PayPal takes ${decimals} decimal places in ${transfer.currency}; ${transfer.amount.toFixed()} has more` };
  if (!transfer.amount.isPositive() || transfer.amount.isZero()) return { problem: "PayPal pays positive amounts only" };
  return { value: transfer.amount.toFixed(decimals) };
}

export function createPayPalProvider(credentials: PayPalCredentials, options: PayPalOptions): PayoutProvider {
  const cacheKey = createHash("sha256").update(`${options.baseUrl}\n${credentials.clientId}\n${credentials.clientSecret}`).digest("hex");
  const now = options.now ?? (() => new Date());

  /** [P2]: client credentials, cached until shortly before expiry (one per call is a named cause of 429s [P7]). */
  async function accessToken(force = false): Promise<{ token: string; appId?: string }> {
    const cached = tokens.get(cacheKey);
    if (!force && cached && cached.expiresAt > now().getTime()) return { token: cached.token };
    const answer = await withRetries(options, async () => {
      const reply = await send(options, "PayPal", "/v1/oauth2/token", {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: "grant_type=client_credentials",
      });
      if (reply.status !== 200) throw errorOf("PayPal", reply, typeof reply.body?.error_description === "string" ? reply.body.error_description : `HTTP ${reply.status}`);
      return reply;
    });
    const body = z.object({ access_token: z.string().min(1), expires_in: z.number().positive(), app_id: z.string().optional() }).safeParse(answer.body);
    if (!body.success) throw new PaymentProviderError("PayPal answered the token request without a token", "retryable", answer.status);
    tokens.set(cacheKey, { token: body.data.access_token, expiresAt: now().getTime() + (body.data.expires_in - 300) * 1000 });
    return { token: body.data.access_token, appId: body.data.app_id };
  }

  /** An authorised call, retried with backoff; a 401 (token expired early) gets one fresh token. */
  async function call(path: string, init: RequestInit = {}): Promise<HttpAnswer> {
    return withRetries(options, async () => {
      let reply: HttpAnswer | undefined;
      for (const force of [false, true]) {
        const { token } = await accessToken(force);
        reply = await send(options, "PayPal", path, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}`, accept: "application/json" } });
        if (reply.status !== 401) break;
      }
      if (reply!.status >= 500 || reply!.status === 429 || reply!.status === 401) throw errorOf("PayPal", reply!, summary(reply!).text, summary(reply!).name);
      return reply!;
    });
  }

  async function readBatch(batchId: string): Promise<z.infer<typeof Batch>> {
    const reply = await call(`/v1/payments/payouts/${encodeURIComponent(batchId)}`);
    if (reply.status !== 200) throw errorOf("PayPal", reply, summary(reply).text);
    const batch = Batch.safeParse(reply.body);
    if (!batch.success) throw new PaymentProviderError("PayPal answered with a batch we cannot read", "retryable", reply.status);
    return batch.data;
  }

  function outcomesOf(batch: z.infer<typeof Batch>, transfers: TransferInstruction[]): TransferOutcome[] {
    const byReference = new Map((batch.items ?? []).map((item) => [item.payout_item.sender_item_id, item]));
    const denied = batch.batch_header.batch_status === "DENIED";
    return transfers.map((transfer) => {
      const item = byReference.get(transfer.reference);
      if (item) return { ...outcomeOf(item, transfer.reference), idempotencyKey: transfer.idempotencyKey };
      // Items appear as PayPal processes the batch; until then they are on their way (or nowhere, if it was denied).
      return {
        reference: transfer.reference,
        idempotencyKey: transfer.idempotencyKey,
        status: denied ? ("FAILED" as const) : ("PROCESSING" as const),
        providerTransferId: null,
        providerBatchId: batch.batch_header.payout_batch_id,
        reason: denied ? "PayPal denied the batch" : undefined,
      };
    });
  }

  return {
    name: "PAYPAL",

    async verifyCredentials() {
      const { appId } = await accessToken(true);
      return { accountLabel: appId ?? `client ${credentials.clientId.slice(0, 8)}…` };
    },

    /** PayPal has no call that checks a receiver; what can be checked is the email's form and that PayPal pays in the currency. */
    async verifyMethod(method: MethodToVerify): Promise<MethodVerification> {
      if (method.provider !== "PAYPAL") throw new Error(`PayPal cannot verify a ${method.provider} method`);
      const problems = [];
      if (!z.email().safeParse(method.email).success) problems.push({ field: "email", message: `"${method.email}" is not an email address PayPal can pay` });
      if (PAYPAL_CURRENCY_DECIMALS[method.currency] === undefined) problems.push({ field: "currency", message: `PayPal Payouts does not pay in ${method.currency}` });
      return problems.length ? { ok: false, problems } : { ok: true, recipientId: null };
    },

    async send(request: SendRequest): Promise<SendResult> {
      if (request.idempotencyKey.length === 0 || request.idempotencyKey.length > MAX_BATCH_ID)
        throw new PaymentProviderError("sender_batch_id must be 1 to 256 characters", "permanent");
      if (request.transfers.length > MAX_ITEMS) throw new PaymentProviderError(`a PayPal batch holds at most ${MAX_ITEMS} items`, "permanent");
      const refused: TransferOutcome[] = [];
      const items: { transfer: TransferInstruction; value: string }[] = [];
      for (const transfer of request.transfers) {
        const value = paypalValue(transfer);
        const reason = "problem" in value ? value.problem : transfer.recipient.kind !== "paypal" ? "not a PayPal recipient" : undefined;
        if (reason || !("value" in value))
          refused.push({ reference: transfer.reference, idempotencyKey: transfer.idempotencyKey, status: "FAILED", providerTransferId: null, reason });
        else items.push({ transfer, value: value.value });
      }
      if (items.length === 0) return { transfers: refused };
      const body = {
        sender_batch_header: { sender_batch_id: request.idempotencyKey, recipient_type: "EMAIL", email_subject: request.emailSubject ?? "You have a payout" },
        items: items.map(({ transfer, value }) => ({
          recipient_type: "EMAIL",
          amount: { value, currency: transfer.currency },
          receiver: (transfer.recipient as { email: string }).email,
          sender_item_id: transfer.reference,
          ...(transfer.note ? { note: transfer.note } : {}),
        })),
      };
      const reply = await call("/v1/payments/payouts", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const sent = items.map((i) => i.transfer);
      let batchId: string;
      if (reply.status === 201 || reply.status === 200) {
        batchId = Batch.pick({ batch_header: true }).parse(reply.body).batch_header.payout_batch_id;
      } else {
        const error = summary(reply);
        const duplicate = reply.status === 400 && (error.body?.details ?? []).some((d) => d.field === "SENDER_BATCH_ID" || /duplicate batch/i.test(d.issue ?? ""));
        if (duplicate) {
          // The batch exists (an earlier try got through): read it instead [P3].
          const link = (error.body?.links ?? []).map((l) => /\/v1\/payments\/payouts\/([^/?]+)/.exec(l.href)?.[1]).find(Boolean);
          if (!link)
            throw new PaymentProviderError(
              `PayPal says batch ${request.idempotencyKey} was sent before but does not say which it is; look it up in PayPal`,
              "permanent",
              400,
              undefined,
              "DUPLICATE_BATCH",
            );
          batchId = decodeURIComponent(link);
        } else {
          // One bad item refuses the whole request [P20]: nothing was sent. Each item says why.
          const byItem = new Map<number, string>();
          for (const detail of error.body?.details ?? []) {
            const index = /^items\[(\d+)\]/.exec(detail.field ?? "")?.[1];
            if (index !== undefined) byItem.set(Number(index), [detail.field, detail.issue].filter(Boolean).join(": "));
          }
          const whole = `PayPal refused the batch (${error.text})`;
          return {
            transfers: [
              ...refused,
              ...sent.map((transfer, index) => ({
                reference: transfer.reference,
                idempotencyKey: transfer.idempotencyKey,
                status: "FAILED" as const,
                providerTransferId: null,
                reason: byItem.get(index) ?? (byItem.size > 0 ? `${whole}: another item was invalid, so nothing was sent` : whole),
              })),
            ],
          };
        }
      }
      let outcomes: TransferOutcome[];
      try {
        outcomes = outcomesOf(await readBatch(batchId), sent);
      } catch (error) {
        // The batch is accepted; its items can be read later (lookup) without sending anything.
        if (!(error instanceof PaymentProviderError) || error.kind !== "retryable") throw error;
        outcomes = sent.map((t) => ({
          reference: t.reference,
          idempotencyKey: t.idempotencyKey,
          status: "PROCESSING" as const,
          providerTransferId: null,
          providerBatchId: batchId,
        }));
      }
      return { batchId, transfers: [...refused, ...outcomes] };
    },

    async lookup(query: LookupQuery): Promise<TransferOutcome[]> {
      if (query.batchId) {
        const batch = await readBatch(query.batchId);
        return (batch.items ?? []).map((item) => outcomeOf(item, item.payout_item_id));
      }
      const outcomes: TransferOutcome[] = [];
      for (const transfer of query.transfers ?? []) {
        if (!transfer.providerTransferId) throw new PaymentProviderError("PayPal items are looked up by payout_item_id or by their batch", "permanent");
        const reply = await call(`/v1/payments/payouts-item/${encodeURIComponent(transfer.providerTransferId)}`);
        if (reply.status !== 200) throw errorOf("PayPal", reply, summary(reply).text);
        outcomes.push(outcomeOf(PayoutItem.parse(reply.body), transfer.reference));
      }
      return outcomes;
    },

    async parseWebhook(raw: Buffer, headers: WebhookHeaders): Promise<ProviderEvent[]> {
      await verifyPayPalSignature(raw, headers, { webhookId: credentials.webhookId, certOrigins: options.certOrigins, fetch: options.fetch, now, timeoutMs: options.timeoutMs });
      const envelope = z
        .object({ id: z.string().min(1).max(200), event_type: z.string().max(200), create_time: z.string().optional(), resource: z.unknown() })
        .safeParse(JSON.parse(raw.toString("utf8")));
      if (!envelope.success) throw new WebhookRejected("not a PayPal webhook event", 400);
      const kind = EVENT_KINDS[envelope.data.event_type];
      if (!kind) return [];
      const item = PayoutItem.safeParse(envelope.data.resource);
      if (!item.success) throw new WebhookRejected(`${envelope.data.event_type} without a payout item`, 400);
      const occurred = new Date(envelope.data.create_time ?? item.data.time_processed ?? Date.now());
      return [
        {
          eventId: envelope.data.id,
          kind,
          subject: "transfer",
          transferId: item.data.payout_item_id,
          reference: item.data.payout_item.sender_item_id,
          batchId: item.data.payout_batch_id,
          reason: kind === "paid" ? undefined : [item.data.transaction_status, item.data.errors?.name, item.data.errors?.message].filter(Boolean).join(": "),
          amount: { amount: new Dec(item.data.payout_item.amount.value), currency: asCurrency(item.data.payout_item.amount.currency) as CurrencyCode },
          occurredAt: Number.isNaN(occurred.getTime()) ? new Date() : occurred,
          providerType: envelope.data.event_type,
        },
      ];
    },
  };
}
