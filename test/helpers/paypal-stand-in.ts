import { createPrivateKey, createSign, createVerify, randomBytes, randomUUID, webcrypto, X509Certificate } from "node:crypto";
import { crc32 } from "node:zlib";
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the reflect-metadata polyfill loaded first.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { Decimal } from "decimal.js";
import { deliver, startHttpStandIn, type Answer, type HttpStandIn, type Recorded } from "./stand-in-http.ts";

/**
 * PayPal Payouts API v1 and PayPal webhooks, as published. Each behaviour
 * names its source by the tags of shared/reference/payment-rails-api-facts.md
 * §1 ([P1]…[P22]); test/fixtures/paypal/README.md lists the pages.
 *
 * - OAuth client credentials [P2]: Basic auth, form body, a Bearer token that
 *   lives `expires_in` 28800 s [P9]; `expireTokens()` makes calls answer 401.
 * - Create batch [P3][P4]: validation of the whole request (one bad item
 *   refuses all, 400 VALIDATION_ERROR with `items[i].receiver` [P20]);
 *   duplicate sender_item_id gives DUPLICATE_ITEM [P16]; a sender_batch_id
 *   used before is refused with 400 USER_BUSINESS_ERROR, SENDER_BATCH_ID,
 *   "Duplicate batch request" and a link to the first batch [P3][P9][P10].
 *   201 with the batch header PENDING [P9].
 * - Reads [P18][P19]: the batch (items once it is processing), one item
 *   [P5]; `settle()` resolves the items (each receiver's fate set by the
 *   test: SUCCESS by default, FAILED, UNCLAIMED, BLOCKED, ONHOLD) and the
 *   batch becomes SUCCESS with per-item `errors` [P6][P9].
 * - Cancel of an UNCLAIMED item → RETURNED [P8]; `expireUnclaimed()` (the 30
 *   days) → RETURNED; `refund()` → REFUNDED; each with its
 *   PAYMENT.PAYOUTS-ITEM.* webhook [P12].
 * - Webhooks [P11][P12][P22]: envelope `{id: "WH-…", event_version,
 *   create_time, resource_type, event_type, summary, resource, links}`,
 *   signed SHA256withRSA over `transmission_id|transmission_time|webhook_id|
 *   crc32` [P10] with a key whose self-signed certificate this stand-in
 *   serves at PAYPAL-CERT-URL; verify-webhook-signature answers SUCCESS or
 *   FAILURE [P11]. A listener that does not answer 2xx gets the delivery
 *   again (`redeliverFailed()`, freshly signed, same event id), as PayPal
 *   retries up to 25 times over 3 days [P12].
 * - Errors [P11][P21]: `{name, message, debug_id, information_link, details,
 *   links}`; faults on demand: 500 INTERNAL_ERROR, 429 RATE_LIMIT_REACHED
 *   (with Retry-After: whether PayPal sends it is unconfirmed [P7]), timeouts,
 *   a crash after accepting.
 */
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export type ItemFate = "SUCCESS" | "FAILED" | "UNCLAIMED" | "BLOCKED" | "ONHOLD";

interface Item {
  payout_item_id: string;
  transaction_id: string | null;
  transaction_status: string;
  payout_item_fee: { currency: string; value: string };
  payout_batch_id: string;
  payout_item: { recipient_type: string; amount: { value: string; currency: string }; note?: string; receiver: string; sender_item_id?: string };
  time_processed: string | null;
  errors?: { name: string; message: string };
  links: { href: string; rel: string; method: string }[];
}

interface Batch {
  batch_header: {
    payout_batch_id: string;
    batch_status: string;
    time_created: string;
    time_completed?: string;
    sender_batch_header: Record<string, unknown>;
    amount: { currency: string; value: string };
    fees: { currency: string; value: string };
  };
  items: Item[];
  createdAt: number;
}

export interface PayPalStandIn extends HttpStandIn {
  clientId: string;
  clientSecret: string;
  webhookId: string;
  certUrl: string;
  batches: Map<string, Batch>;
  /** What happens to payments to a receiver when the batch settles (SUCCESS unless set). */
  fates: Map<string, ItemFate>;
  /** Where webhooks go (our listener); undefined sends none. */
  listener?: string;
  deliveries: { eventId: string; status: number; body: string; headers: Record<string, string> }[];
  expireTokens(): void;
  /** Items resolve by their receiver's fate; the batch completes; item webhooks go out. */
  settle(batchId: string): Promise<void>;
  cancelUnclaimed(itemId: string): Promise<void>;
  expireUnclaimed(itemId: string): Promise<void>;
  refund(itemId: string): Promise<void>;
  /** A signed webhook for an item in its current state (or as given), as PayPal sends it. */
  notifyItem(itemId: string, eventType?: string): Promise<{ status: number; eventId: string }>;
  /** Sends a delivery again with the same event (and a fresh transmission), as PayPal's retries do. */
  redeliver(eventId: string): Promise<{ status: number }>;
  /** PayPal's retry of every event whose last delivery was not answered 2xx; how many went again. */
  redeliverFailed(): Promise<number>;
  /** Headers of a delivery signed over `body` (tests tamper with one or the other). */
  sign(body: string, webhookId?: string): Record<string, string>;
  itemByReference(reference: string): Item | undefined;
  countBatches(senderBatchId?: string): number;
}

const ITEM_EVENT: Record<string, string> = {
  SUCCESS: "PAYMENT.PAYOUTS-ITEM.SUCCEEDED",
  FAILED: "PAYMENT.PAYOUTS-ITEM.FAILED",
  UNCLAIMED: "PAYMENT.PAYOUTS-ITEM.UNCLAIMED",
  BLOCKED: "PAYMENT.PAYOUTS-ITEM.BLOCKED",
  ONHOLD: "PAYMENT.PAYOUTS-ITEM.HELD",
  RETURNED: "PAYMENT.PAYOUTS-ITEM.RETURNED",
  REFUNDED: "PAYMENT.PAYOUTS-ITEM.REFUNDED",
};
const DECIMALS: Record<string, number> = { JPY: 0, HUF: 0, TWD: 0 };
const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export async function startPayPalStandIn(): Promise<PayPalStandIn> {
  const clientId = `AZ-${randomBytes(6).toString("hex")}`;
  const clientSecret = `EL-${randomBytes(12).toString("hex")}`;
  const webhookId = `WH-LISTENER-${randomBytes(4).toString("hex").toUpperCase()}`;
  const tokens = new Set<string>();
  const batches = new Map<string, Batch>();
  const bySenderBatchId = new Map<string, string>();
  const items = new Map<string, Item>();
  const events = new Map<string, string>();
  const fates = new Map<string, ItemFate>();
  const deliveries: PayPalStandIn["deliveries"] = [];
  let url = "";

  // The signing key and its certificate, made fresh: real RSA, real X.509.
  const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"])) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString("hex"),
    name: "CN=messageverificationcerts.sandbox.paypal.com, O=PayPal Stand-in",
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 365 * 86_400_000),
    signingAlgorithm: algorithm,
    keys: keys as never,
  });
  const certPem = certificate.toString("pem");
  const privateKey = createPrivateKey({ key: Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)), format: "der", type: "pkcs8" });
  const certId = `CERT-360caa42-fca2a594-${randomBytes(4).toString("hex")}`;

  const now = () => new Date().toISOString();
  const debugId = () => randomBytes(6).toString("hex");
  const error = (status: number, name: string, message: string, details: unknown[] = [], links: unknown[] = []): Answer => ({
    status,
    body: { name, message, debug_id: debugId(), information_link: `https://developer.paypal.com/docs/api/payments.payouts-batch/#errors`, details, links },
  });
  const batchLink = (id: string) => ({ href: `${url}/v1/payments/payouts/${id}`, rel: "self", method: "GET" });
  const fee = (value: string, currency: string) => {
    // 2% capped at 20 (the stand-in's tariff), rounded half up to the currency's places.
    const places = DECIMALS[currency] ?? 2;
    return Decimal.min(new Decimal(value).times("0.02"), 20).toDecimalPlaces(places, Decimal.ROUND_HALF_UP).toFixed(places);
  };
  const publicBatch = (batch: Batch) => {
    const { createdAt: _created, ...rest } = batch;
    // Items are listed once PayPal has started on them [P19].
    return { ...rest, items: batch.batch_header.batch_status === "PENDING" ? [] : batch.items, links: [batchLink(batch.batch_header.payout_batch_id)] };
  };

  function sign(body: string, signedWebhookId = webhookId): Record<string, string> {
    const transmissionId = randomUUID();
    const transmissionTime = new Date().toISOString();
    const signature = createSign("RSA-SHA256")
      .update(`${transmissionId}|${transmissionTime}|${signedWebhookId}|${crc32(Buffer.from(body))}`)
      .sign(privateKey, "base64");
    return {
      "paypal-transmission-id": transmissionId,
      "paypal-transmission-time": transmissionTime,
      "paypal-transmission-sig": signature,
      "paypal-cert-url": `${url}/v1/notifications/certs/${certId}`,
      "paypal-auth-algo": "SHA256withRSA",
    };
  }

  async function send(eventId: string): Promise<{ status: number }> {
    const body = events.get(eventId)!;
    if (!stand.listener) return { status: 0 };
    const headers = sign(body);
    const answer = await deliver(stand.listener, body, headers);
    deliveries.push({ eventId, status: answer.status, body, headers });
    return answer;
  }

  async function notifyItem(itemId: string, eventType?: string): Promise<{ status: number; eventId: string }> {
    const item = items.get(itemId)!;
    const type = eventType ?? ITEM_EVENT[item.transaction_status]!;
    const eventId = `WH-${randomBytes(8).toString("hex").toUpperCase()}-${randomBytes(8).toString("hex").toUpperCase()}`;
    events.set(
      eventId,
      JSON.stringify({
        id: eventId,
        event_version: "1.0",
        create_time: now(),
        resource_type: "payouts_item",
        event_type: type,
        summary: `A payout item is ${item.transaction_status.toLowerCase()}`,
        resource: item,
        links: [{ href: `${url}/v1/notifications/webhooks-events/${eventId}`, rel: "self", method: "GET" }],
      }),
    );
    return { ...(await send(eventId)), eventId };
  }

  function createBatch(body: any): Answer {
    const header = body?.sender_batch_header;
    const senderBatchId = header?.sender_batch_id;
    const list = body?.items;
    if (typeof senderBatchId !== "string" || senderBatchId.length === 0 || senderBatchId.length > 256 || !Array.isArray(list) || list.length === 0 || list.length > 15_000) {
      return error(400, "VALIDATION_ERROR", "Invalid request - see details.", [
        { field: "sender_batch_header.sender_batch_id", location: "body", issue: "Required field is missing or invalid." },
      ]);
    }
    const first = bySenderBatchId.get(senderBatchId);
    if (first) {
      return error(400, "USER_BUSINESS_ERROR", "User business error.", [{ field: "SENDER_BATCH_ID", location: "body", issue: "Duplicate batch request" }], [batchLink(first)]);
    }
    const details: unknown[] = [];
    const senderItemIds = new Set<string>();
    list.forEach((item: any, index: number) => {
      const value = item?.amount?.value;
      const currency = item?.amount?.currency;
      const places = DECIMALS[currency] ?? 2;
      if (typeof value !== "string" || !new RegExp(`^\\d+${places ? `(\\.\\d{1,${places}})?` : ""}$`).test(value) || Number(value) <= 0) {
        details.push({ field: `items[${index}].amount.value`, location: "body", issue: "Value is invalid." });
      }
      const type = item?.recipient_type ?? header.recipient_type ?? "EMAIL";
      if (type === "EMAIL" && !emailPattern.test(String(item?.receiver ?? "")))
        details.push({ field: `items[${index}].receiver`, location: "body", issue: "Receiver is invalid or does not match with type" });
      if (item?.sender_item_id) {
        if (senderItemIds.has(item.sender_item_id)) details.push({ field: `items[${index}].sender_item_id`, location: "body", issue: "DUPLICATE_ITEM" });
        senderItemIds.add(item.sender_item_id);
      }
    });
    if (details.length) return error(400, "VALIDATION_ERROR", "Invalid request - see details.", details);
    const batchId = randomBytes(6).toString("hex").toUpperCase();
    const currency = list[0].amount.currency;
    const total = list.reduce((sum: Decimal, item: any) => sum.plus(item.amount.value), new Decimal(0));
    const batch: Batch = {
      batch_header: {
        payout_batch_id: batchId,
        batch_status: "PENDING",
        time_created: now(),
        sender_batch_header: { ...header, recipient_type: header.recipient_type ?? "EMAIL" },
        amount: { currency, value: total.toFixed(DECIMALS[currency] ?? 2) },
        fees: {
          currency,
          value: list.reduce((sum: Decimal, item: any) => sum.plus(fee(item.amount.value, item.amount.currency)), new Decimal(0)).toFixed(DECIMALS[currency] ?? 2),
        },
      },
      items: list.map((item: any) => {
        const id = randomBytes(6).toString("hex").toUpperCase();
        const made: Item = {
          payout_item_id: id,
          transaction_id: null,
          transaction_status: "PENDING",
          payout_item_fee: { currency: item.amount.currency, value: fee(item.amount.value, item.amount.currency) },
          payout_batch_id: batchId,
          payout_item: {
            recipient_type: item.recipient_type ?? header.recipient_type ?? "EMAIL",
            amount: { value: item.amount.value, currency: item.amount.currency },
            note: item.note,
            receiver: item.receiver,
            sender_item_id: item.sender_item_id,
          },
          time_processed: null,
          links: [{ href: `${url}/v1/payments/payouts-item/${id}`, rel: "item", method: "GET" }],
        };
        items.set(id, made);
        return made;
      }),
      createdAt: Date.now(),
    };
    batches.set(batchId, batch);
    bySenderBatchId.set(senderBatchId, batchId);
    return {
      status: 201,
      body: { batch_header: { payout_batch_id: batchId, batch_status: "PENDING", sender_batch_header: batch.batch_header.sender_batch_header }, links: [batchLink(batchId)] },
    };
  }

  async function handle(request: Recorded): Promise<Answer> {
    const { method, path } = request;
    if (path === "/v1/oauth2/token" && method === "POST") {
      const expected = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`;
      if (request.headers.authorization !== expected) return { status: 401, body: { error: "invalid_client", error_description: "Client Authentication failed" } };
      if (new URLSearchParams(request.raw).get("grant_type") !== "client_credentials")
        return { status: 400, body: { error: "unsupported_grant_type", error_description: "Grant Type is NULL" } };
      const token = `A21AA${randomBytes(24).toString("base64url")}`;
      tokens.add(token);
      return {
        status: 200,
        body: {
          scope: "https://uri.paypal.com/services/payments/payouts https://uri.paypal.com/payments/payouts",
          access_token: token,
          token_type: "Bearer",
          app_id: "APP-80W284485P519543T",
          expires_in: 28800,
          nonce: randomUUID(),
        },
      };
    }
    if (path.startsWith("/v1/notifications/certs/") && method === "GET") {
      return path.endsWith(certId) ? { status: 200, text: certPem, headers: { "content-type": "application/x-pem-file" } } : { status: 404, text: "" };
    }
    const auth = String(request.headers.authorization ?? "");
    if (!auth.startsWith("Bearer ") || !tokens.has(auth.slice(7))) return { status: 401, body: { error: "invalid_token", error_description: "Access Token not found in cache" } };

    if (path === "/v1/notifications/verify-webhook-signature" && method === "POST") {
      const b = request.body ?? {};
      const event = JSON.stringify(b.webhook_event ?? {});
      const certOk = typeof b.cert_url === "string" && b.cert_url.endsWith(certId);
      const valid =
        certOk &&
        b.auth_algo === "SHA256withRSA" &&
        createVerify("RSA-SHA256")
          .update(`${b.transmission_id}|${b.transmission_time}|${b.webhook_id}|${crc32(Buffer.from(event))}`)
          .verify(new X509Certificate(certPem).publicKey, String(b.transmission_sig ?? ""), "base64");
      return { status: 200, body: { verification_status: valid ? "SUCCESS" : "FAILURE" } };
    }
    if (path === "/v1/payments/payouts" && method === "POST") return createBatch(request.body);
    let match = /^\/v1\/payments\/payouts\/([^/]+)$/.exec(path);
    if (match && method === "GET") {
      const batch = batches.get(match[1]!);
      if (!batch) return error(404, "INVALID_RESOURCE_ID", "Requested resource ID was not found.");
      // PayPal starts on a batch shortly after accepting it: by the first read its items are listed, pending.
      if (batch.batch_header.batch_status === "PENDING") batch.batch_header.batch_status = "PROCESSING";
      return { status: 200, body: request.query.fields === "batch_header" ? { batch_header: batch.batch_header } : publicBatch(batch) };
    }
    match = /^\/v1\/payments\/payouts-item\/([^/]+)(\/cancel)?$/.exec(path);
    if (match) {
      const item = items.get(match[1]!);
      if (!item) return error(404, "INVALID_RESOURCE_ID", "Requested resource ID was not found.");
      if (match[2] && method === "POST") {
        if (item.transaction_status !== "UNCLAIMED") return error(400, "ITEM_CANCELLATION_FAILED", "Only unclaimed items can be cancelled.");
        await stand.cancelUnclaimed(item.payout_item_id);
        return { status: 200, body: item };
      }
      const batch = batches.get(item.payout_batch_id)!;
      return {
        status: 200,
        body: {
          ...item,
          sender_batch_id: batch.batch_header.sender_batch_header.sender_batch_id,
          activity_id: randomBytes(8).toString("hex"),
          links: [...item.links, batchLink(batch.batch_header.payout_batch_id)],
        },
      };
    }
    return error(404, "NOT_FOUND", "The specified resource does not exist.");
  }

  const http = await startHttpStandIn(handle, (fault) =>
    fault === "429"
      ? { ...error(429, "RATE_LIMIT_REACHED", "Too many requests. Blocked due to rate limiting."), headers: { "retry-after": "1" } }
      : error(Number(fault), "INTERNAL_ERROR", "An internal server error occurred."),
  );
  url = http.url;

  async function moveItem(itemId: string, status: string, notify = true): Promise<void> {
    const item = items.get(itemId)!;
    item.transaction_status = status;
    item.time_processed = now();
    if (notify) await notifyItem(itemId);
  }

  const stand: PayPalStandIn = Object.assign(http, {
    clientId,
    clientSecret,
    webhookId,
    certUrl: `${url}/v1/notifications/certs/${certId}`,
    batches,
    fates,
    listener: undefined as string | undefined,
    deliveries,
    expireTokens: () => tokens.clear(),
    async settle(batchId: string) {
      const batch = batches.get(batchId)!;
      batch.batch_header.batch_status = "PROCESSING";
      for (const item of batch.items) {
        const fate = fates.get(item.payout_item.receiver) ?? "SUCCESS";
        item.transaction_status = fate;
        item.time_processed = now();
        if (fate === "SUCCESS") item.transaction_id = randomBytes(8).toString("hex").toUpperCase();
        if (fate === "FAILED") item.errors = { name: "RECEIVER_ACCOUNT_LOCKED", message: "Receiver's account is locked or inactive" };
        if (fate === "UNCLAIMED") item.errors = { name: "RECEIVER_UNREGISTERED", message: "Receiver is unregistered" };
        if (fate === "BLOCKED") item.errors = { name: "RECEIVER_COUNTRY_NOT_ALLOWED", message: "Payouts to this receiver are blocked" };
      }
      // A SUCCESS batch can hold SUCCESS, FAILED and UNCLAIMED items: check each [P6].
      batch.batch_header.batch_status = "SUCCESS";
      batch.batch_header.time_completed = now();
      for (const item of batch.items) await notifyItem(item.payout_item_id);
    },
    cancelUnclaimed: (itemId: string) => moveItem(itemId, "RETURNED"),
    expireUnclaimed: (itemId: string) => moveItem(itemId, "RETURNED"),
    refund: (itemId: string) => moveItem(itemId, "REFUNDED"),
    notifyItem,
    redeliver: (eventId: string) => send(eventId),
    async redeliverFailed() {
      const last = new Map(deliveries.map((d) => [d.eventId, d.status]));
      const failed = [...last].filter(([, status]) => status < 200 || status >= 300).map(([eventId]) => eventId);
      for (const eventId of failed) await send(eventId);
      return failed.length;
    },
    sign,
    itemByReference: (reference: string) => [...items.values()].find((item) => item.payout_item.sender_item_id === reference),
    countBatches: (senderBatchId?: string) => (senderBatchId ? (bySenderBatchId.has(senderBatchId) ? 1 : 0) : batches.size),
  });
  return stand;
}
