import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CurrencyCode } from "../../../src/domain/currency.ts";
import { Dec } from "../../../src/domain/money.ts";
import type { TransferInstruction } from "../../../src/integrations/payments/payout-provider.ts";
import { PaymentProviderError } from "../../../src/integrations/payments/provider-error.ts";
import { createStripeProvider, transferGroupOf } from "../../../src/integrations/payments/stripe/stripe-provider.ts";
import { startListener, type Listener } from "../../helpers/webhook-listener.ts";
import { startStripeStandIn, type StripeStandIn } from "../../helpers/stripe-stand-in.ts";

const USD = "USD" as CurrencyCode;
let counter = 0;
const isCreate = (r: { method: string; path: string }) => r.method === "POST" && r.path === "/v1/transfers";

describe("Stripe Connect connector against its stand-in", () => {
  let stripe: StripeStandIn;
  let listener: Listener;
  const account = "acct_1PartnerAna";
  const provider = (attempts = 3) =>
    createStripeProvider(
      { secretKey: stripe.secretKey, webhookSecret: stripe.webhookSecrets[0]! },
      { baseUrl: stripe.url, timeoutMs: 400, retry: { attempts, baseDelayMs: 5, maxDelayMs: 1500 } },
    );
  const transfer = (amount: string, currency: CurrencyCode = USD, destination = account): TransferInstruction => {
    const reference = `payout-${(counter += 1)}-${Date.now()}`;
    return { reference, idempotencyKey: `${reference}:1`, amount: new Dec(amount), currency, recipient: { kind: "stripe", accountId: destination } };
  };

  beforeAll(async () => {
    stripe = await startStripeStandIn();
    stripe.connectedAccounts.set(account, { transfers: "active" });
    stripe.connectedAccounts.set("acct_1Pending", { transfers: "pending" });
    listener = await startListener((raw, headers) => provider().parseWebhook(raw, headers));
    stripe.listener = listener.url;
  });
  afterAll(async () => {
    await listener?.close();
    await stripe?.close();
  });

  it("checks the key and the connected accounts", async () => {
    await expect(provider().verifyCredentials()).resolves.toEqual({ accountLabel: `${stripe.platformAccount} Acme Outdoor` });
    const wrong = createStripeProvider(
      { secretKey: "sk_test_wrong", webhookSecret: "" },
      { baseUrl: stripe.url, timeoutMs: 400, retry: { attempts: 1, baseDelayMs: 5, maxDelayMs: 5 } },
    );
    await expect(wrong.verifyCredentials()).rejects.toMatchObject({ kind: "unauthorized" });
    await expect(provider().verifyMethod({ provider: "STRIPE", accountId: account, currency: USD })).resolves.toEqual({ ok: true, recipientId: account });
    expect(await provider().verifyMethod({ provider: "STRIPE", accountId: "acct_1Pending", currency: USD })).toEqual({
      ok: false,
      problems: [{ field: "accountId", message: "the account cannot receive transfers yet (transfers capability: pending)" }],
    });
    const missing = await provider().verifyMethod({ provider: "STRIPE", accountId: "acct_1Nobody", currency: USD });
    expect(missing).toMatchObject({ ok: false, problems: [{ field: "accountId" }] });
  });

  it("transfers in minor units, exactly, under our Idempotency-Key and transfer group, and is paid at once", async () => {
    const t = transfer("1234.56");
    const [outcome] = (await provider().send({ idempotencyKey: "unused", transfers: [t] })).transfers;
    expect(outcome).toMatchObject({ reference: t.reference, status: "PAID" });
    expect(outcome!.sentAmount!.amount.toFixed(2)).toBe("1234.56");
    const create = stripe.requests.filter(isCreate).at(-1)!;
    expect(create.body).toMatchObject({
      amount: "123456",
      currency: "usd",
      destination: account,
      transfer_group: transferGroupOf(t.idempotencyKey),
      metadata: { accrue_reference: t.reference },
    });
    expect(create.headers["idempotency-key"]).toBe(t.idempotencyKey);
    const made = stripe.transfers.get(outcome!.providerTransferId!)!;
    expect(made.amount).toBe(123456);
    expect(listener.events().find((e) => e.transferId === made.id)).toMatchObject({ kind: "paid", reference: t.reference });

    // Zero-decimal and Stripe's special cases: ¥1,500 is 1500; ISK 700 travels as 70000.
    const yen = (await provider().send({ idempotencyKey: "unused", transfers: [transfer("1500", "JPY" as CurrencyCode)] })).transfers[0]!;
    expect(stripe.transfers.get(yen.providerTransferId!)!.amount).toBe(1500);
    const krona = (await provider().send({ idempotencyKey: "unused", transfers: [transfer("700", "ISK" as CurrencyCode)] })).transfers[0]!;
    expect(stripe.transfers.get(krona.providerTransferId!)!.amount).toBe(70000);
    expect(krona.sentAmount!.amount.toFixed()).toBe("700");
  });

  it("fails the transfers Stripe refuses and pays the rest of the batch", async () => {
    stripe.balances.set("eur", 50_000n);
    const transfers = [
      transfer("100.00", "EUR" as CurrencyCode),
      transfer("900.00", "EUR" as CurrencyCode),
      transfer("10.00", USD, "acct_1Nobody"),
      transfer("10.005", USD),
      transfer("200.00", "EUR" as CurrencyCode),
    ];
    const result = await provider().send({ idempotencyKey: "unused", transfers });
    expect(result.transfers.map((t) => t.status)).toEqual(["PAID", "FAILED", "FAILED", "FAILED", "PAID"]);
    expect(result.transfers[1]!.reason).toContain("balance_insufficient");
    expect(result.transfers[2]!.reason).toBe("resource_missing: No such destination: 'acct_1Nobody'");
    expect(result.transfers[3]!.reason).toBe("10.005 USD does not fit Stripe's 2 decimal places");
    expect(stripe.balances.get("eur")).toBe(20_000n);
  });

  it("after a timeout, Stripe replays the first answer for the key: one transfer", async () => {
    const t = transfer("77.00");
    stripe.failNext("slow-after-accept", 1, isCreate);
    const before = stripe.transfers.size;
    const [outcome] = (await provider().send({ idempotencyKey: "unused", transfers: [t] })).transfers;
    expect(stripe.count((r) => isCreate(r) && r.headers["idempotency-key"] === t.idempotencyKey)).toBe(2);
    expect(stripe.transfers.size).toBe(before + 1);
    expect(outcome).toMatchObject({ status: "PAID", providerTransferId: [...stripe.transfers.keys()].at(-1) });
  });

  it("finds a transfer again after a crash, even once Stripe has forgotten the key", async () => {
    const t = transfer("33.00");
    stripe.failNext("drop-after-accept", 1, isCreate);
    // The SDK itself retries a dropped connection once with the same key: make it drop twice.
    stripe.failNext("down", 1, isCreate);
    await expect(provider(1).send({ idempotencyKey: "unused", transfers: [t] })).rejects.toMatchObject({ kind: "retryable" });
    const made = [...stripe.transfers.values()].filter((x) => x.transfer_group === transferGroupOf(t.idempotencyKey));
    expect(made).toHaveLength(1);
    stripe.ageKeys(25 * 3_600_000);
    const [outcome] = (await provider().send({ idempotencyKey: "unused", transfers: [t] })).transfers;
    expect(outcome).toMatchObject({ status: "PAID", providerTransferId: made[0]!.id });
    expect([...stripe.transfers.values()].filter((x) => x.transfer_group === transferGroupOf(t.idempotencyKey))).toHaveLength(1);
    const [looked] = await provider().lookup({ transfers: [{ reference: t.reference, idempotencyKey: t.idempotencyKey }] });
    expect(looked!.providerTransferId).toBe(made[0]!.id);
  });

  it("replays errors under a key byte for byte, refuses other parameters under it, and reads a saved 500 as nothing sent", async () => {
    const form = new URLSearchParams({ amount: "500", currency: "usd", destination: account }).toString();
    const post = (body: string, key: string) =>
      fetch(`${stripe.url}/v1/transfers`, {
        method: "POST",
        headers: { authorization: `Bearer ${stripe.secretKey}`, "content-type": "application/x-www-form-urlencoded", "idempotency-key": key },
        body,
      });
    const key = `raw-${Date.now()}`;
    const first = await post(form, key);
    const second = await post(form, key);
    expect(await second.text()).toBe(await first.text());
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    const other = await post(form.replace("500", "501"), key);
    expect(other.status).toBe(400);
    expect(((await other.json()) as { error: { type: string } }).error.type).toBe("idempotency_error");

    const t = transfer("5.00");
    stripe.recordServerErrorNext();
    const before = stripe.transfers.size;
    const [outcome] = (await provider().send({ idempotencyKey: "unused", transfers: [t] })).transfers;
    expect(outcome).toMatchObject({ status: "FAILED", providerTransferId: null });
    expect(stripe.transfers.size).toBe(before);
  });

  it("rides out 5xx and 429 with backoff, and hands a longer outage back as retryable", async () => {
    stripe.failNext("503", 2, isCreate);
    expect((await provider().send({ idempotencyKey: "unused", transfers: [transfer("1.00")] })).transfers[0]!.status).toBe("PAID");
    stripe.failNext("429", 1, isCreate);
    expect((await provider().send({ idempotencyKey: "unused", transfers: [transfer("1.00")] })).transfers[0]!.status).toBe("PAID");
    const t = transfer("2.00");
    stripe.failNext("503", 3, isCreate);
    const error = await provider()
      .send({ idempotencyKey: "unused", transfers: [t] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaymentProviderError);
    expect((error as PaymentProviderError).kind).toBe("retryable");
    expect((await provider().send({ idempotencyKey: "unused", transfers: [t] })).transfers[0]!.status).toBe("PAID");
    expect([...stripe.transfers.values()].filter((x) => x.transfer_group === transferGroupOf(t.idempotencyKey))).toHaveLength(1);
  });

  it("hears reversals (partial, then the rest) and a connected account's payout paid then failed", async () => {
    const [outcome] = (await provider().send({ idempotencyKey: "unused", transfers: [transfer("100.00")] })).transfers;
    const id = outcome!.providerTransferId!;
    const heardBefore = listener.events().length;
    expect((await stripe.reverse(id, 2500)).status).toBe(200);
    expect((await stripe.reverse(id, 9000)).status).toBe(400);
    expect((await stripe.reverse(id)).status).toBe(200);
    const payoutId = await stripe.accountPayout(account, 7500, "usd", "paid");
    await stripe.accountPayout(account, 7500, "usd", "failed", payoutId);
    const events = listener.events().slice(heardBefore);
    expect(events.map((e) => [e.kind, e.subject, e.amount?.amount.toFixed(2), e.reason])).toEqual([
      ["returned", "transfer", "25.00", "reversed in part"],
      ["returned", "transfer", "100.00", "reversed in full"],
      ["paid", "account_payout", "75.00", undefined],
      ["failed", "account_payout", "75.00", "account_closed: The bank account has been closed."],
    ]);
    expect(events[2]!.account).toBe(account);
    expect(events[3]!.transferId).toBe(payoutId);
    const [looked] = await provider().lookup({ transfers: [{ reference: "x", providerTransferId: id }] });
    expect(looked).toMatchObject({ status: "RETURNED", reason: "reversed 100 USD (all of it)" });
  });

  it("accepts either signature while secrets rotate; refuses a bad or stale one; keeps the event id on redelivery", async () => {
    const event = stripe.emitted.at(-1)!;
    const pp = provider();
    const now = Math.floor(Date.now() / 1000);
    const rotated = stripe.signature(event.body, now, [`whsec_${"a".repeat(32)}`, stripe.webhookSecrets[0]!]);
    await expect(pp.parseWebhook(Buffer.from(event.body), { "stripe-signature": rotated })).resolves.toHaveLength(1);
    await expect(pp.parseWebhook(Buffer.from(event.body), { "stripe-signature": stripe.signature(event.body, now, [`whsec_${"b".repeat(32)}`]) })).rejects.toMatchObject({
      status: 401,
    });
    await expect(pp.parseWebhook(Buffer.from(event.body), { "stripe-signature": stripe.signature(event.body, now - 301) })).rejects.toMatchObject({ status: 401 });
    await expect(pp.parseWebhook(Buffer.from(event.body.replace("7500", "9999")), { "stripe-signature": stripe.signature(event.body, now) })).rejects.toMatchObject({
      status: 401,
    });
    await expect(pp.parseWebhook(Buffer.from(event.body), {})).rejects.toMatchObject({ status: 401 });
    await stripe.redeliver(event.id);
    const [a, b] = listener.heard.slice(-2).map((h) => h.events[0]!.eventId);
    expect(a).toBe(event.id);
    expect(b).toBe(event.id);
  });
});
