import { createHash } from "node:crypto";
import * as z from "zod";
import { errorOf, send, withRetries, type ConnectorOptions, type HttpAnswer } from "../http.ts";
import { asCurrency, decimalFromJsonNumber, jsonNumberFromDecimal } from "../minor-units.ts";
import { PaymentProviderError, WebhookRejected } from "../provider-error.ts";
import type {
  LookupQuery,
  MethodProblem,
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
import { verifyWiseSignature } from "./wise-webhook.ts";

/**
 * Wise Platform API (shared/reference/payment-rails-api-facts.md §2, sources
 * [W…]). A transfer is quote → transfer → fund: the quote prices it (fee,
 * rate, what the recipient gets), the transfer carries a
 * customerTransactionId that makes a repeat return the first transfer
 * instead of making a second [W9][W10], and funding from the balance sends
 * it. Recipients are created (and validated by Wise) when a payout method is
 * verified, so a send only names them.
 */
export interface WiseCredentials {
  /** A personal or OAuth access token for the business profile. */
  apiToken: string;
  profileId: string;
}

export interface WiseOptions extends ConnectorOptions {
  /** Wise's webhook public key for the environment (WISE_WEBHOOK_PUBLIC_KEYS). */
  webhookPublicKey: string;
}

export const WISE_HOSTS = { SANDBOX: "https://api.sandbox.transferwise.tech", LIVE: "https://api.wise.com" } as const;

const WiseErrors = z.object({ errors: z.array(z.object({ code: z.string().optional(), message: z.string().optional(), path: z.string().optional().nullable() })) });
const Quote = z.object({
  id: z.string(),
  rate: z.number(),
  notices: z.array(z.object({ text: z.string().optional(), type: z.string().optional() })).optional(),
  paymentOptions: z.array(
    z.object({
      payIn: z.string(),
      payOut: z.string().optional(),
      disabled: z.boolean().optional(),
      sourceAmount: z.number(),
      targetAmount: z.number(),
      fee: z.object({ total: z.number() }),
    }),
  ),
  sourceCurrency: z.string(),
  targetCurrency: z.string(),
});
const Transfer = z.object({
  id: z.number(),
  status: z.string(),
  quoteUuid: z.string().optional().nullable(),
  rate: z.number().optional(),
  sourceCurrency: z.string(),
  sourceValue: z.number(),
  targetCurrency: z.string(),
  targetValue: z.number(),
  customerTransactionId: z.string().optional().nullable(),
});
const StateChange = z.object({
  data: z.object({
    resource: z.object({ id: z.union([z.number(), z.string()]), type: z.string().optional(), profile_id: z.union([z.number(), z.string()]).optional() }),
    current_state: z.string(),
    previous_state: z.string().nullable().optional(),
    occurred_at: z.string(),
  }),
  event_type: z.string(),
  schema_version: z.string().optional(),
});

/** Transfer states [W14] → ours. bounced_back and funds_refunded say the money came back; before it was sent, that is a failure (phase 2 tells them apart by the payout's state). */
export function transferStatus(state: string): TransferStatus {
  switch (state) {
    case "outgoing_payment_sent":
      return "PAID";
    case "cancelled":
      return "FAILED";
    case "bounced_back":
    case "funds_refunded":
    case "charged_back":
      return "RETURNED";
    default:
      return "PROCESSING";
  }
}

const STATE_KINDS: Record<string, ProviderEventKind> = {
  outgoing_payment_sent: "paid",
  cancelled: "failed",
  bounced_back: "returned",
  funds_refunded: "returned",
  charged_back: "returned",
};

/** Wise's error paths → our payout method's input fields. */
const FIELD_OF_PATH: Record<string, string> = {
  IBAN: "iban",
  BIC: "bic",
  sortCode: "sortCode",
  accountNumber: "accountNumber",
  abartn: "routingNumber",
  accountType: "accountType",
  email: "email",
  accountHolderName: "accountName",
  currency: "currency",
  "address.country": "country",
  "address.city": "city",
  "address.postCode": "postalCode",
  "address.firstLine": "addressLine1",
  "address.state": "region",
};

/** customerTransactionId must be a UUID [W10]: ours is made from the idempotency key, so the same key always gives the same one. */
export function customerTransactionId(idempotencyKey: string): string {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idempotencyKey)) return idempotencyKey.toLowerCase();
  const hex = createHash("sha256").update(`accrue-wise:${idempotencyKey}`).digest("hex");
  // Laid out as a name-based UUID (version 5 bits, RFC 4122 variant).
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function errorsOf(answer: HttpAnswer): { text: string; errors: z.infer<typeof WiseErrors>["errors"] } {
  const parsed = WiseErrors.safeParse(answer.body);
  if (parsed.success)
    return { text: parsed.data.errors.map((e) => [e.code, e.message].filter(Boolean).join(": ")).join("; ") || `HTTP ${answer.status}`, errors: parsed.data.errors };
  const body = answer.body as { error?: string; error_description?: string; message?: string } | null;
  return { text: [body?.error, body?.error_description ?? body?.message].filter(Boolean).join(": ") || `HTTP ${answer.status}`, errors: [] };
}

function recipientRequest(profileId: string, method: Extract<MethodToVerify, { provider: "WISE" }>) {
  const { account } = method;
  const base = { profile: Number(profileId), accountHolderName: method.accountHolderName, currency: method.currency, ownedByCustomer: false };
  switch (account.type) {
    case "email":
      return { ...base, type: "email", details: { legalType: method.legalType, email: account.email } };
    case "iban":
      return { ...base, type: "iban", details: { legalType: method.legalType, IBAN: account.iban, ...(account.bic ? { BIC: account.bic } : {}) } };
    case "sort_code":
      return { ...base, type: "sort_code", details: { legalType: method.legalType, sortCode: account.sortCode, accountNumber: account.accountNumber } };
    case "aba":
      return {
        ...base,
        type: "aba",
        details: { legalType: method.legalType, abartn: account.routingNumber, accountNumber: account.accountNumber, accountType: account.accountType, address: account.address },
      };
  }
}

export function createWiseProvider(credentials: WiseCredentials, options: WiseOptions): PayoutProvider {
  const profile = encodeURIComponent(credentials.profileId);
  const headers = { authorization: `Bearer ${credentials.apiToken}`, accept: "application/json" };

  /** A call retried with backoff on 5xx, 429 and timeouts; other answers go back to the caller. */
  const call = (path: string, init: RequestInit = {}) =>
    withRetries(options, async () => {
      const reply = await send(options, "Wise", path, { ...init, headers: { ...headers, ...(init.body ? { "content-type": "application/json" } : {}), ...init.headers } });
      if (reply.status >= 500 || reply.status === 429 || reply.status === 408 || reply.status === 401) throw errorOf("Wise", reply, errorsOf(reply).text);
      return reply;
    });
  const post = (path: string, body: unknown) => call(path, { method: "POST", body: JSON.stringify(body) });

  const money = (amount: number, currency: string) => ({ amount: decimalFromJsonNumber(amount), currency: asCurrency(currency) });

  async function quote(transfer: TransferInstruction, currency: string): Promise<z.infer<typeof Quote> | { refused: string }> {
    const reply = await post(`/v3/profiles/${profile}/quotes`, {
      sourceCurrency: transfer.currency,
      targetCurrency: currency,
      sourceAmount: jsonNumberFromDecimal(transfer.amount),
      targetAccount: Number((transfer.recipient as { recipientId: string }).recipientId),
      payOut: "BANK_TRANSFER",
      // Paid from the balance: with another payIn the fees would not match [W6].
      preferredPayIn: "BALANCE",
    });
    if (reply.status !== 200) return { refused: `Wise would not quote it (${errorsOf(reply).text})` };
    const parsed = Quote.safeParse(reply.body);
    if (!parsed.success) throw new PaymentProviderError("Wise answered with a quote we cannot read", "retryable", reply.status);
    const blocked = (parsed.data.notices ?? []).find((n) => n.type === "BLOCKED");
    if (blocked) return { refused: `Wise blocks it: ${blocked.text ?? "no reason given"}` };
    return parsed.data;
  }

  async function readQuote(id: string): Promise<z.infer<typeof Quote> | undefined> {
    const reply = await call(`/v3/profiles/${profile}/quotes/${encodeURIComponent(id)}`);
    const parsed = Quote.safeParse(reply.body);
    return reply.status === 200 && parsed.success ? parsed.data : undefined;
  }

  /** The fee (source currency) and what the recipient gets, from the option paid from the balance. */
  function priced(quoted: z.infer<typeof Quote>) {
    const option = quoted.paymentOptions.find((o) => o.payIn === "BALANCE" && !o.disabled);
    if (!option) return undefined;
    return { fee: money(option.fee.total, quoted.sourceCurrency), sentAmount: money(option.targetAmount, quoted.targetCurrency), rate: decimalFromJsonNumber(quoted.rate) };
  }

  async function sendOne(transfer: TransferInstruction): Promise<TransferOutcome> {
    const base = { reference: transfer.reference, idempotencyKey: transfer.idempotencyKey };
    const failed = (reason: string, providerTransferId: string | null = null): TransferOutcome => ({ ...base, status: "FAILED", providerTransferId, reason });
    if (transfer.recipient.kind !== "wise") return failed("not a Wise recipient");
    const quoted = await quote(transfer, transfer.recipient.currency);
    if ("refused" in quoted) return failed(quoted.refused);
    const created = await post("/v1/transfers", {
      targetAccount: Number(transfer.recipient.recipientId),
      quoteUuid: quoted.id,
      customerTransactionId: customerTransactionId(transfer.idempotencyKey),
      details: { reference: transfer.note ?? "Partner payout" },
    });
    if (created.status !== 200 && created.status !== 201) return failed(`Wise refused the transfer (${errorsOf(created).text})`);
    const made = Transfer.safeParse(created.body);
    if (!made.success) throw new PaymentProviderError("Wise answered with a transfer we cannot read", "retryable", created.status);
    const id = String(made.data.id);
    // A repeat returns the first transfer, made on its own quote: price it from that one.
    const pricing = priced(made.data.quoteUuid && made.data.quoteUuid !== quoted.id ? ((await readQuote(made.data.quoteUuid)) ?? quoted) : quoted);
    let status = made.data.status;
    if (status === "incoming_payment_waiting") {
      const funded = await post(`/v3/profiles/${profile}/transfers/${id}/payments`, { type: "BALANCE" });
      if (funded.status === 403 && funded.headers.get("x-2fa-approval")) {
        throw new PaymentProviderError(
          "Wise asks for strong customer authentication to fund from the balance; this connection cannot sign it",
          "permanent",
          403,
          undefined,
          "SCA_REQUIRED",
        );
      }
      const answer = z.object({ status: z.string(), errorCode: z.string().nullable().optional() }).safeParse(funded.body);
      if (funded.status !== 200 && funded.status !== 201) return { ...failed(`Wise did not fund it (${errorsOf(funded).text})`, id) };
      // A 2xx is not proof of funding [W12]: the status says.
      if (!answer.success || answer.data.status !== "COMPLETED") {
        const reason = `Wise did not fund it (${answer.success ? (answer.data.errorCode ?? answer.data.status) : "unreadable answer"})`;
        // An unfunded transfer would wait 14 days; cancelled, it is plainly not sent [W11].
        const cancelled = await call(`/v1/transfers/${id}/cancel`, { method: "PUT" });
        if (cancelled.status !== 200) throw new PaymentProviderError(`${reason}, and cancelling it failed (${errorsOf(cancelled).text})`, "retryable", cancelled.status);
        return failed(reason, id);
      }
      status = "processing";
    }
    return {
      ...base,
      status: transferStatus(status),
      providerTransferId: id,
      ...(pricing ?? { sentAmount: money(made.data.targetValue, made.data.targetCurrency) }),
      reason: transferStatus(status) === "PROCESSING" || transferStatus(status) === "PAID" ? undefined : status,
    };
  }

  return {
    name: "WISE",

    async verifyCredentials() {
      const reply = await call("/v1/profiles");
      if (reply.status !== 200) throw errorOf("Wise", reply, errorsOf(reply).text);
      const profiles = z.array(z.object({ id: z.union([z.number(), z.string()]), type: z.string().optional() })).safeParse(reply.body);
      const found = profiles.success ? profiles.data.find((p) => String(p.id) === credentials.profileId) : undefined;
      if (!found) throw new PaymentProviderError(`this Wise token has no profile ${credentials.profileId}`, "permanent", 404, undefined, "PROFILE_NOT_FOUND");
      return { accountLabel: `${(found.type ?? "profile").toLowerCase()} profile ${found.id}` };
    },

    /** Creates the recipient: Wise validates the account at once and refuses a malformed one with a 4xx [W7][W8]. */
    async verifyMethod(method: MethodToVerify): Promise<MethodVerification> {
      if (method.provider !== "WISE") throw new Error(`Wise cannot verify a ${method.provider} method`);
      const reply = await post("/v1/accounts", recipientRequest(credentials.profileId, method));
      if (reply.status === 200 || reply.status === 201) {
        const id = z.object({ id: z.union([z.number(), z.string()]) }).safeParse(reply.body);
        if (!id.success) throw new PaymentProviderError("Wise created the recipient but its answer has no id", "retryable", reply.status);
        return { ok: true, recipientId: String(id.data.id) };
      }
      if (reply.status === 400 || reply.status === 422) {
        const { errors, text } = errorsOf(reply);
        // Codes are not unique; the path names the field [W8].
        const problems: MethodProblem[] = errors.length
          ? errors.map((e) => ({ field: (e.path && FIELD_OF_PATH[e.path]) ?? null, message: e.message ?? e.code ?? "refused" }))
          : [{ field: null, message: text }];
        return { ok: false, problems };
      }
      throw errorOf("Wise", reply, errorsOf(reply).text);
    },

    async send(request: SendRequest): Promise<SendResult> {
      const transfers: TransferOutcome[] = [];
      for (const transfer of request.transfers) transfers.push(await sendOne(transfer));
      return { transfers };
    },

    async lookup(query: LookupQuery): Promise<TransferOutcome[]> {
      const outcomes: TransferOutcome[] = [];
      for (const transfer of query.transfers ?? []) {
        if (!transfer.providerTransferId) throw new PaymentProviderError("Wise transfers are looked up by their id (a repeat send finds one by its key)", "permanent");
        const reply = await call(`/v1/transfers/${encodeURIComponent(transfer.providerTransferId)}`);
        if (reply.status !== 200) throw errorOf("Wise", reply, errorsOf(reply).text);
        const found = Transfer.parse(reply.body);
        const status = transferStatus(found.status);
        outcomes.push({
          reference: transfer.reference,
          idempotencyKey: transfer.idempotencyKey,
          status,
          providerTransferId: String(found.id),
          sentAmount: money(found.targetValue, found.targetCurrency),
          reason: status === "PAID" || status === "PROCESSING" ? undefined : found.status,
        });
      }
      return outcomes;
    },

    async parseWebhook(raw: Buffer, headers: WebhookHeaders): Promise<ProviderEvent[]> {
      verifyWiseSignature(raw, headers, options.webhookPublicKey);
      if (headers["x-test-notification"] === "true") return [];
      const parsed = StateChange.safeParse(JSON.parse(raw.toString("utf8")));
      if (!parsed.success) {
        const type = z.object({ event_type: z.string() }).safeParse(JSON.parse(raw.toString("utf8")));
        if (type.success && type.data.event_type !== "transfers#state-change") return [];
        throw new WebhookRejected("not a Wise transfer state change", 400);
      }
      if (parsed.data.event_type !== "transfers#state-change") return [];
      const { data } = parsed.data;
      const kind = STATE_KINDS[data.current_state];
      if (!kind) return [];
      const occurredAt = new Date(data.occurred_at);
      if (Number.isNaN(occurredAt.getTime())) throw new WebhookRejected("occurred_at is not a time", 400);
      return [
        {
          // Wise's deliveries have no event id (X-Delivery-Id is per delivery, and duplicates come per subscription [W18]):
          // one transfer reaching one state at one time is one event.
          eventId: `${data.resource.id}:${data.current_state}:${occurredAt.toISOString()}`,
          kind,
          subject: "transfer",
          transferId: String(data.resource.id),
          reason: kind === "paid" ? undefined : `${data.previous_state ?? "new"} → ${data.current_state}`,
          occurredAt,
          providerType: `transfers#state-change:${data.current_state}`,
        },
      ];
    },
  };
}
