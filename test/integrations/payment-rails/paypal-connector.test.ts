import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CurrencyCode } from "../../../src/domain/currency.ts";
import { Dec } from "../../../src/domain/money.ts";
import type { TransferInstruction } from "../../../src/integrations/payments/payout-provider.ts";
import { createPayPalProvider } from "../../../src/integrations/payments/paypal/paypal-provider.ts";
import { PaymentProviderError, WebhookRejected } from "../../../src/integrations/payments/provider-error.ts";
import { startPayPalStandIn, type PayPalStandIn } from "../../helpers/paypal-stand-in.ts";
import { startListener, type Listener } from "../../helpers/webhook-listener.ts";

const USD = "USD" as CurrencyCode;
let counter = 0;
const key = (name: string) => `${name}-${Date.now()}-${(counter += 1)}`;
const transfer = (email: string, amount: string, currency = USD): TransferInstruction => {
  const reference = `payout-${(counter += 1)}`;
  return { reference, idempotencyKey: `${reference}-1`, amount: new Dec(amount), currency, recipient: { kind: "paypal", email } };
};
const isCreate = (r: { method: string; path: string }) => r.method === "POST" && r.path === "/v1/payments/payouts";

describe("PayPal Payouts connector against its stand-in", () => {
  let paypal: PayPalStandIn;
  let listener: Listener;
  const options = (attempts = 3) => ({
    baseUrl: paypal.url,
    certOrigins: [paypal.url],
    timeoutMs: 400,
    retry: { attempts, baseDelayMs: 5, maxDelayMs: 1500 },
  });
  const provider = (attempts = 3) => createPayPalProvider({ clientId: paypal.clientId, clientSecret: paypal.clientSecret, webhookId: paypal.webhookId }, options(attempts));

  beforeAll(async () => {
    paypal = await startPayPalStandIn();
    listener = await startListener((raw, headers) => provider().parseWebhook(raw, headers));
    paypal.listener = listener.url;
  });
  afterAll(async () => {
    await listener?.close();
    await paypal?.close();
  });

  it("gets one OAuth token for many calls, and a new one when PayPal forgets it", async () => {
    const pp = provider();
    expect((await pp.verifyCredentials()).accountLabel).toBe("APP-80W284485P519543T");
    const before = paypal.count((r) => r.path === "/v1/oauth2/token");
    await pp.send({ idempotencyKey: key("token"), transfers: [transfer("ana@example.com", "5.00")] });
    await pp.send({ idempotencyKey: key("token"), transfers: [transfer("ana@example.com", "5.00")] });
    expect(paypal.count((r) => r.path === "/v1/oauth2/token")).toBe(before);
    paypal.expireTokens();
    const result = await pp.send({ idempotencyKey: key("token"), transfers: [transfer("ana@example.com", "5.00")] });
    expect(result.batchId).toBeTruthy();
    expect(paypal.count((r) => r.path === "/v1/oauth2/token")).toBe(before + 1);
    const wrong = createPayPalProvider({ clientId: paypal.clientId, clientSecret: "nope", webhookId: paypal.webhookId }, options());
    await expect(wrong.verifyCredentials()).rejects.toMatchObject({ kind: "unauthorized", status: 401 });
  });

  it("sends a batch, and hears each item paid by signed webhook, with PayPal's fee", async () => {
    const transfers = [transfer("ana@example.com", "120.50"), transfer("ben@example.com", "0.99"), transfer("cy@example.com", "1000.00")];
    const result = await provider().send({ idempotencyKey: key("ok"), transfers });
    expect(result.transfers.map((t) => [t.reference, t.status])).toEqual(transfers.map((t) => [t.reference, "PROCESSING"]));
    const batch = paypal.batches.get(result.batchId!)!;
    expect(batch.items.map((i) => i.payout_item.amount)).toEqual([
      { value: "120.50", currency: "USD" },
      { value: "0.99", currency: "USD" },
      { value: "1000.00", currency: "USD" },
    ]);
    const heardBefore = listener.events().length;
    await paypal.settle(result.batchId!);
    const paid = listener.events().slice(heardBefore);
    expect(paid.map((e) => [e.kind, e.reference])).toEqual(transfers.map((t) => ["paid", t.reference]));
    expect(paid[0]!.amount!.amount.toFixed()).toBe("120.5");
    const outcomes = await provider().lookup({ batchId: result.batchId! });
    expect(outcomes.map((o) => [o.reference, o.status, o.fee?.amount.toFixed(2), o.sentAmount?.amount.toFixed(2)])).toEqual([
      [transfers[0]!.reference, "PAID", "2.41", "120.50"], // 2% of $120.50 = $2.41
      [transfers[1]!.reference, "PAID", "0.02", "0.99"], // 2% of $0.99 = $0.0198 → $0.02
      [transfers[2]!.reference, "PAID", "20.00", "1000.00"], // capped at $20
    ]);
  });

  it("keeps each item's own outcome when 3 of a batch fail", async () => {
    const emails = ["ok1@example.com", "locked@example.com", "ok2@example.com", "blocked@example.com", "unclaimed@example.com", "closed@example.com"];
    paypal.fates.set("locked@example.com", "FAILED");
    paypal.fates.set("blocked@example.com", "BLOCKED");
    paypal.fates.set("closed@example.com", "FAILED");
    paypal.fates.set("unclaimed@example.com", "UNCLAIMED");
    const transfers = emails.map((email) => transfer(email, "10.00"));
    const result = await provider().send({ idempotencyKey: key("partial"), transfers });
    const heardBefore = listener.events().length;
    await paypal.settle(result.batchId!);
    const outcomes = await provider().lookup({ batchId: result.batchId! });
    expect(outcomes.map((o) => [o.reference, o.status])).toEqual(transfers.map((t, i) => [t.reference, ["PAID", "FAILED", "PAID", "FAILED", "UNCLAIMED", "FAILED"][i]]));
    expect(outcomes[1]!.reason).toBe("FAILED: RECEIVER_ACCOUNT_LOCKED: Receiver's account is locked or inactive");
    expect(outcomes[3]!.reason).toContain("BLOCKED");
    expect(outcomes[4]!.reason).toContain("RECEIVER_UNREGISTERED");
    expect(
      listener
        .events()
        .slice(heardBefore)
        .map((e) => e.kind),
    ).toEqual(["paid", "failed", "paid", "failed", "unclaimed", "failed"]);
  });

  it("refuses what PayPal cannot carry before sending, and reports PayPal's refusal of one item per item", async () => {
    const kwd = transfer("ana@example.com", "10.000", "KWD" as CurrencyCode);
    const yen = transfer("ana@example.com", "10.5", "JPY" as CurrencyCode);
    const good = transfer("ana@example.com", "10.00");
    const local = await provider().send({ idempotencyKey: key("local"), transfers: [kwd, yen, good] });
    expect(local.transfers.map((t) => [t.status, t.reason ?? ""])).toEqual([
      ["FAILED", "PayPal Payouts does not pay in KWD"],
      ["FAILED", "PayPal takes 0 decimal places in JPY; 10.5 has more"],
      ["PROCESSING", ""],
    ]);
    expect(paypal.batches.get(local.batchId!)!.items).toHaveLength(1);

    const batches = paypal.batches.size;
    const bad = transfer("not-an-email", "1.00");
    const refused = await provider().send({ idempotencyKey: key("invalid"), transfers: [transfer("ana@example.com", "1.00"), bad] });
    expect(refused.transfers.map((t) => t.status)).toEqual(["FAILED", "FAILED"]);
    expect(refused.transfers[1]!.reason).toContain("items[1].receiver");
    expect(refused.transfers[0]!.reason).toContain("another item was invalid, so nothing was sent");
    expect(paypal.batches.size).toBe(batches);
  });

  it("after a timeout, the retry with the same sender_batch_id finds the first batch instead of paying twice", async () => {
    const batchKey = key("timeout");
    paypal.failNext("slow-after-accept", 1, isCreate);
    const before = paypal.batches.size;
    const result = await provider().send({ idempotencyKey: batchKey, transfers: [transfer("ana@example.com", "42.00")] });
    expect(paypal.count((r) => isCreate(r) && r.body.sender_batch_header.sender_batch_id === batchKey)).toBe(2);
    expect(paypal.batches.size).toBe(before + 1);
    expect(result.batchId).toBe([...paypal.batches.keys()].at(-1));
    expect(result.transfers[0]!.providerTransferId).toBeTruthy();
  });

  it("finds a batch again by its key after a crash between PayPal's accepting it and our recording it", async () => {
    const batchKey = key("crash");
    const t = transfer("ana@example.com", "42.00");
    paypal.failNext("drop-after-accept", 1, isCreate);
    await expect(provider(1).send({ idempotencyKey: batchKey, transfers: [t] })).rejects.toMatchObject({ kind: "retryable" });
    expect(paypal.countBatches(batchKey)).toBe(1);
    // The process restarts and the outbox sends again, with the key it stored before the first try.
    const again = await provider().send({ idempotencyKey: batchKey, transfers: [t] });
    expect(paypal.countBatches(batchKey)).toBe(1);
    expect(again.transfers[0]).toMatchObject({ reference: t.reference, status: "PROCESSING", providerBatchId: again.batchId });
    expect(paypal.batches.get(again.batchId!)!.items).toHaveLength(1);
  });

  it("rides out PayPal being down or throttling, with backoff, and hands a longer outage back as retryable", async () => {
    paypal.failNext("503", 2, isCreate);
    const through = await provider().send({ idempotencyKey: key("down"), transfers: [transfer("ana@example.com", "1.00")] });
    expect(through.batchId).toBeTruthy();
    paypal.failNext("429", 1, isCreate);
    const throttled = await provider().send({ idempotencyKey: key("throttled"), transfers: [transfer("ana@example.com", "1.00")] });
    expect(throttled.batchId).toBeTruthy();

    const batchKey = key("outage");
    paypal.failNext("down", 3, isCreate);
    const error = await provider()
      .send({ idempotencyKey: batchKey, transfers: [transfer("ana@example.com", "1.00")] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaymentProviderError);
    expect((error as PaymentProviderError).kind).toBe("retryable");
    expect(paypal.countBatches(batchKey)).toBe(0);
    const back = await provider().send({ idempotencyKey: batchKey, transfers: [transfer("ana@example.com", "1.00")] });
    expect(back.batchId).toBeTruthy();
    expect(paypal.countBatches(batchKey)).toBe(1);
  });

  it("gives a redelivered webhook the same event id, and refuses forged ones", async () => {
    const result = await provider().send({ idempotencyKey: key("hooks"), transfers: [transfer("ana@example.com", "3.00")] });
    await paypal.settle(result.batchId!);
    const first = paypal.deliveries.at(-1)!;
    await paypal.redeliver(first.eventId);
    const [a, b] = listener.heard.slice(-2);
    expect(a!.events[0]!.eventId).toBe(first.eventId);
    expect(b!.events[0]!.eventId).toBe(first.eventId);

    const pp = provider();
    const tampered = first.body.replace('"3.00"', '"300.00"');
    await expect(pp.parseWebhook(Buffer.from(tampered), paypal.sign(first.body))).rejects.toMatchObject({ status: 401 });
    await expect(pp.parseWebhook(Buffer.from(first.body), paypal.sign(first.body, "WH-SOMEONE-ELSES"))).rejects.toBeInstanceOf(WebhookRejected);
    const elsewhere = { ...paypal.sign(first.body), "paypal-cert-url": "https://certs.example.com/v1/notifications/certs/CERT-1" };
    await expect(pp.parseWebhook(Buffer.from(first.body), elsewhere)).rejects.toMatchObject({ status: 401 });
    const unsigned = { ...paypal.sign(first.body), "paypal-transmission-sig": "" };
    await expect(pp.parseWebhook(Buffer.from(first.body), unsigned)).rejects.toMatchObject({ status: 401 });
    await expect(pp.parseWebhook(Buffer.from(first.body), paypal.sign(first.body))).resolves.toHaveLength(1);
  });

  it("hears unclaimed items come back, and paid ones refunded", async () => {
    paypal.fates.set("newcomer@example.com", "UNCLAIMED");
    const [unclaimed, paid] = [transfer("newcomer@example.com", "7.00"), transfer("ana@example.com", "8.00")];
    const result = await provider().send({ idempotencyKey: key("returns"), transfers: [unclaimed, paid] });
    await paypal.settle(result.batchId!);
    const heardBefore = listener.events().length;
    await paypal.expireUnclaimed(paypal.itemByReference(unclaimed.reference)!.payout_item_id);
    await paypal.refund(paypal.itemByReference(paid.reference)!.payout_item_id);
    expect(
      listener
        .events()
        .slice(heardBefore)
        .map((e) => [e.kind, e.reference, e.providerType]),
    ).toEqual([
      ["returned", unclaimed.reference, "PAYMENT.PAYOUTS-ITEM.RETURNED"],
      ["returned", paid.reference, "PAYMENT.PAYOUTS-ITEM.REFUNDED"],
    ]);
    const items = await provider().lookup({ transfers: [{ reference: paid.reference, providerTransferId: paypal.itemByReference(paid.reference)!.payout_item_id }] });
    expect(items[0]).toMatchObject({ status: "RETURNED", reason: "REFUNDED" });
  });

  it("checks a PayPal method's email and currency", async () => {
    await expect(provider().verifyMethod({ provider: "PAYPAL", email: "ana@example.com", currency: USD })).resolves.toEqual({ ok: true, recipientId: null });
    const refused = await provider().verifyMethod({ provider: "PAYPAL", email: "ana@", currency: "KWD" as CurrencyCode });
    expect(refused).toEqual({
      ok: false,
      problems: [
        { field: "email", message: '"ana@" is not an email address PayPal can pay' },
        { field: "currency", message: "PayPal Payouts does not pay in KWD" },
      ],
    });
  });

  it("answers PayPal's verify-webhook-signature call as PayPal does", async () => {
    const token = (await (
      await fetch(`${paypal.url}/v1/oauth2/token`, {
        method: "POST",
        headers: { authorization: `Basic ${Buffer.from(`${paypal.clientId}:${paypal.clientSecret}`).toString("base64")}` },
        body: "grant_type=client_credentials",
      })
    ).json()) as { access_token: string };
    const event = { id: "WH-1", event_type: "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", resource: {} };
    const headers = paypal.sign(JSON.stringify(event));
    const ask = async (webhookEvent: unknown) =>
      (
        (await (
          await fetch(`${paypal.url}/v1/notifications/verify-webhook-signature`, {
            method: "POST",
            headers: { authorization: `Bearer ${token.access_token}`, "content-type": "application/json" },
            body: JSON.stringify({
              auth_algo: headers["paypal-auth-algo"],
              cert_url: headers["paypal-cert-url"],
              transmission_id: headers["paypal-transmission-id"],
              transmission_sig: headers["paypal-transmission-sig"],
              transmission_time: headers["paypal-transmission-time"],
              webhook_id: paypal.webhookId,
              webhook_event: webhookEvent,
            }),
          })
        ).json()) as { verification_status: string }
      ).verification_status;
    expect(await ask(event)).toBe("SUCCESS");
    expect(await ask({ ...event, id: "WH-2" })).toBe("FAILURE");
  });
});
