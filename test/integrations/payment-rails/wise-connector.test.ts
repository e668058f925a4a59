import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CurrencyCode } from "../../../src/domain/currency.ts";
import { Dec } from "../../../src/domain/money.ts";
import type { MethodToVerify, TransferInstruction } from "../../../src/integrations/payments/payout-provider.ts";
import { PaymentProviderError } from "../../../src/integrations/payments/provider-error.ts";
import { WISE_WEBHOOK_PUBLIC_KEYS } from "../../../src/integrations/payments/wise/wise-webhook.ts";
import { createWiseProvider, customerTransactionId } from "../../../src/integrations/payments/wise/wise-provider.ts";
import { startListener, type Listener } from "../../helpers/webhook-listener.ts";
import { startWiseStandIn, type WiseStandIn } from "../../helpers/wise-stand-in.ts";

const USD = "USD" as CurrencyCode;
const EUR = "EUR" as CurrencyCode;
const GBP = "GBP" as CurrencyCode;
let counter = 0;
const isTransferCreate = (r: { method: string; path: string }) => r.method === "POST" && r.path === "/v1/transfers";

describe("Wise connector against its stand-in", () => {
  let wise: WiseStandIn;
  let listener: Listener;
  const provider = (attempts = 3, webhookPublicKey = wise.webhookPublicKey) =>
    createWiseProvider(
      { apiToken: wise.token, profileId: wise.profileId },
      { baseUrl: wise.url, timeoutMs: 400, retry: { attempts, baseDelayMs: 5, maxDelayMs: 1500 }, webhookPublicKey },
    );
  const method = (account: Extract<MethodToVerify, { provider: "WISE" }>["account"], currency: CurrencyCode = EUR): MethodToVerify => ({
    provider: "WISE",
    currency,
    accountHolderName: "Ana Lima",
    legalType: "PRIVATE",
    account,
  });
  async function recipient(currency: CurrencyCode = EUR) {
    const verified = await provider().verifyMethod(method({ type: "iban", iban: "DE89370400440532013000" }, currency === EUR ? EUR : currency));
    if (!verified.ok) throw new Error(JSON.stringify(verified));
    return { kind: "wise" as const, recipientId: verified.recipientId!, currency };
  }
  const transfer = async (amount: string, currency: CurrencyCode = EUR): Promise<TransferInstruction> => {
    const reference = `payout-${(counter += 1)}-${Date.now()}`;
    return { reference, idempotencyKey: `${reference}:1`, amount: new Dec(amount), currency: USD, recipient: await recipient(currency), note: "Commissions" };
  };

  beforeAll(async () => {
    wise = await startWiseStandIn();
    listener = await startListener((raw, headers) => provider().parseWebhook(raw, headers));
    wise.listener = listener.url;
  });
  afterAll(async () => {
    await listener?.close();
    await wise?.close();
  });

  it("verifies Wise's own published, sandbox-signed sample with the sandbox key it ships", () => {
    const sample = JSON.parse(readFileSync(new URL("../../fixtures/wise/state-change-signed-sample.json", import.meta.url), "utf8")) as { body: string; signature: string };
    const sandbox = provider(3, WISE_WEBHOOK_PUBLIC_KEYS.SANDBOX);
    // incoming_payment_waiting is not news for a payout: verified, then nothing to report.
    return Promise.all([
      expect(sandbox.parseWebhook(Buffer.from(sample.body), { "x-signature-sha256": sample.signature })).resolves.toEqual([]),
      expect(sandbox.parseWebhook(Buffer.from(sample.body.replace("49983981", "49983982")), { "x-signature-sha256": sample.signature })).rejects.toMatchObject({ status: 401 }),
      expect(provider(3, WISE_WEBHOOK_PUBLIC_KEYS.LIVE).parseWebhook(Buffer.from(sample.body), { "x-signature-sha256": sample.signature })).rejects.toMatchObject({ status: 401 }),
    ]);
  });

  it("checks the credentials against the profile", async () => {
    await expect(provider().verifyCredentials()).resolves.toEqual({ accountLabel: `business profile ${wise.profileId}` });
    const other = createWiseProvider(
      { apiToken: wise.token, profileId: "1" },
      { baseUrl: wise.url, timeoutMs: 400, retry: { attempts: 1, baseDelayMs: 5, maxDelayMs: 5 }, webhookPublicKey: "" },
    );
    await expect(other.verifyCredentials()).rejects.toMatchObject({ kind: "permanent", code: "PROFILE_NOT_FOUND" });
    const wrong = createWiseProvider(
      { apiToken: "nope", profileId: wise.profileId },
      { baseUrl: wise.url, timeoutMs: 400, retry: { attempts: 1, baseDelayMs: 5, maxDelayMs: 5 }, webhookPublicKey: "" },
    );
    await expect(wrong.verifyCredentials()).rejects.toMatchObject({ kind: "unauthorized" });
  });

  it("has Wise validate recipients (IBAN, sort code, ACH, email), naming our fields in its refusals", async () => {
    const created = [
      await provider().verifyMethod(method({ type: "iban", iban: "DE89370400440532013000" })),
      await provider().verifyMethod(method({ type: "sort_code", sortCode: "231470", accountNumber: "28821822" }, GBP)),
      await provider().verifyMethod(
        method(
          {
            type: "aba",
            routingNumber: "111000025",
            accountNumber: "12345678",
            accountType: "CHECKING",
            address: { country: "US", city: "Austin", postCode: "78701", firstLine: "1 Main St", state: "TX" },
          },
          USD,
        ),
      ),
      await provider().verifyMethod(method({ type: "email", email: "ana@example.com" })),
    ];
    expect(created.every((c) => c.ok && c.recipientId)).toBe(true);
    const recipients = [...wise.recipients.values()].slice(-4);
    expect(recipients.map((r) => [r.type, r.currency])).toEqual([
      ["iban", "EUR"],
      ["sort_code", "GBP"],
      ["aba", "USD"],
      ["email", "EUR"],
    ]);
    expect(recipients[0]!.details).toEqual({ legalType: "PRIVATE", IBAN: "DE89370400440532013000" });

    const count = wise.recipients.size;
    expect(await provider().verifyMethod(method({ type: "iban", iban: "DE89370400440532013001" }))).toEqual({
      ok: false,
      problems: [{ field: "iban", message: "Please specify a valid IBAN." }],
    });
    expect(await provider().verifyMethod(method({ type: "sort_code", sortCode: "23147", accountNumber: "288218" }, GBP))).toEqual({
      ok: false,
      problems: [
        { field: "sortCode", message: "Please specify a valid sort code." },
        { field: "accountNumber", message: "Please specify a valid account number." },
      ],
    });
    const ach = await provider().verifyMethod(
      method(
        {
          type: "aba",
          routingNumber: "111000026",
          accountNumber: "12345678",
          accountType: "CHECKING",
          address: { country: "US", city: "", postCode: "78701", firstLine: "1 Main St" },
        },
        USD,
      ),
    );
    expect(ach).toEqual({
      ok: false,
      problems: [
        { field: "routingNumber", message: "Please specify a valid ACH routing number." },
        { field: "city", message: "Please enter the recipient's city." },
      ],
    });
    expect(wise.recipients.size).toBe(count);
  });

  it("quotes, transfers and funds, reporting Wise's fee, rate and what the recipient gets", async () => {
    const t = await transfer("250.00");
    const [outcome] = (await provider().send({ idempotencyKey: "unused", transfers: [t] })).transfers;
    // Fee 0.39 + 0.45% of 250.00 = 1.515 → 1.52 (half up); (250.00 − 1.52) × 0.9123 = 226.688… → 226.69 EUR.
    expect(outcome).toMatchObject({ reference: t.reference, status: "PROCESSING", reason: undefined });
    expect(outcome!.fee!.amount.toFixed(2)).toBe("1.52");
    expect(outcome!.fee!.currency).toBe("USD");
    expect(outcome!.sentAmount!.amount.toFixed(2)).toBe("226.69");
    expect(outcome!.sentAmount!.currency).toBe("EUR");
    expect(outcome!.rate!.toFixed()).toBe("0.9123");
    const made = wise.transferByKey(customerTransactionId(t.idempotencyKey))!;
    expect(String(made.id)).toBe(outcome!.providerTransferId);
    expect(made.status).toBe("processing");
    const quoteRequest = wise.requests.filter((r) => r.path.endsWith("/quotes")).at(-1)!;
    expect(quoteRequest.body).toMatchObject({ sourceCurrency: "USD", targetCurrency: "EUR", sourceAmount: 250, preferredPayIn: "BALANCE" });
    expect(quoteRequest.body.targetAmount).toBeUndefined();

    const heardBefore = listener.events().length;
    for (const state of ["funds_converted", "outgoing_payment_sent"]) await wise.simulate(made.id, state);
    expect(
      listener
        .events()
        .slice(heardBefore)
        .map((e) => [e.kind, e.transferId]),
    ).toEqual([["paid", String(made.id)]]);
    const [looked] = await provider().lookup({ transfers: [{ reference: t.reference, providerTransferId: outcome!.providerTransferId }] });
    expect(looked).toMatchObject({ status: "PAID" });
  });

  it("keeps each transfer's own outcome when 3 of 5 fail (short balance, a route Wise does not quote), cancelling unfunded ones", async () => {
    wise.balances.set("USD", "300.00");
    const transfers = [await transfer("100.00"), await transfer("500.00"), await transfer("150.00"), await transfer("20.00", "CHF" as CurrencyCode), await transfer("400.00")];
    const result = await provider().send({ idempotencyKey: "unused", transfers });
    expect(result.transfers.map((t) => t.status)).toEqual(["PROCESSING", "FAILED", "PROCESSING", "FAILED", "FAILED"]);
    expect(result.transfers[1]!.reason).toBe("Wise did not fund it (balance.payment-option-unavailable)");
    expect(result.transfers[3]!.reason).toBe("Wise would not quote it (error.route.not.supported: We don't support USD to CHF.)");
    expect(result.transfers[3]!.providerTransferId).toBeNull();
    for (const index of [1, 4]) expect(wise.transfers.get(Number(result.transfers[index]!.providerTransferId))!.status).toBe("cancelled");
    expect(wise.balances.get("USD")).toBe("50.00");
    wise.balances.set("USD", "100000.00");
  });

  it("after a timeout, the same customerTransactionId returns the first transfer: nothing is sent twice", async () => {
    const t = await transfer("80.00");
    wise.failNext("slow-after-accept", 1, isTransferCreate);
    const transfersBefore = wise.transfers.size;
    const [outcome] = (await provider().send({ idempotencyKey: "unused", transfers: [t] })).transfers;
    expect(wise.count((r) => isTransferCreate(r) && r.body.customerTransactionId === customerTransactionId(t.idempotencyKey))).toBe(2);
    expect(wise.transfers.size).toBe(transfersBefore + 1);
    expect(outcome).toMatchObject({ status: "PROCESSING", providerTransferId: String(wise.transferByKey(customerTransactionId(t.idempotencyKey))!.id) });
    // Priced from the quote the transfer was made on, not the one the retry asked for.
    expect(outcome!.fee!.amount.toFixed(2)).toBe("0.75"); // 0.39 + 0.45% of 80.00 = 0.75
  });

  it("finds a transfer again by its key after a crash before funding, and funds it once", async () => {
    const t = await transfer("60.00");
    wise.failNext("drop-after-accept", 1, isTransferCreate);
    await expect(provider(1).send({ idempotencyKey: "unused", transfers: [t] })).rejects.toMatchObject({ kind: "retryable" });
    const made = wise.transferByKey(customerTransactionId(t.idempotencyKey))!;
    expect(made.status).toBe("incoming_payment_waiting");
    const balance = wise.balances.get("USD");
    const [outcome] = (await provider().send({ idempotencyKey: "unused", transfers: [t] })).transfers;
    expect(outcome).toMatchObject({ status: "PROCESSING", providerTransferId: String(made.id) });
    expect([...wise.transfers.values()].filter((x) => x.customerTransactionId === made.customerTransactionId)).toHaveLength(1);
    expect(new Dec(balance!).minus(wise.balances.get("USD")!).toFixed(2)).toBe("60.00");
    // Sent again after it was funded: found, not funded twice.
    const [third] = (await provider().send({ idempotencyKey: "unused", transfers: [t] })).transfers;
    expect(third!.providerTransferId).toBe(String(made.id));
    expect(new Dec(balance!).minus(wise.balances.get("USD")!).toFixed(2)).toBe("60.00");
  });

  it("rides out an outage with backoff, and hands a longer one back as retryable", async () => {
    const t = await transfer("10.00");
    wise.failNext("500", 2, isTransferCreate);
    expect((await provider().send({ idempotencyKey: "unused", transfers: [t] })).transfers[0]!.status).toBe("PROCESSING");
    wise.failNext("429", 1, (r) => r.path.endsWith("/quotes"));
    expect((await provider().send({ idempotencyKey: "unused", transfers: [await transfer("11.00")] })).transfers[0]!.status).toBe("PROCESSING");
    const later = await transfer("12.00");
    wise.failNext("down", 3, isTransferCreate);
    const error = await provider()
      .send({ idempotencyKey: "unused", transfers: [later] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaymentProviderError);
    expect(wise.transferByKey(customerTransactionId(later.idempotencyKey))).toBeUndefined();
    await provider().send({ idempotencyKey: "unused", transfers: [later] });
    expect(wise.transferByKey(customerTransactionId(later.idempotencyKey))!.status).toBe("processing");
  });

  it("hears a bounce weeks after paid, duplicates with the same event id, and refuses bad signatures", async () => {
    const t = await transfer("40.00");
    const [outcome] = (await provider().send({ idempotencyKey: "unused", transfers: [t] })).transfers;
    const id = Number(outcome!.providerTransferId);
    wise.subscriptions = 2;
    const heardBefore = listener.heard.length;
    for (const state of ["funds_converted", "outgoing_payment_sent", "bounced_back", "cancelled", "funds_refunded"]) await wise.simulate(id, state);
    wise.subscriptions = 1;
    const events = listener.heard.slice(heardBefore).flatMap((h) => h.events);
    expect(events.map((e) => e.kind)).toEqual(["paid", "paid", "returned", "returned", "failed", "failed", "returned", "returned"]);
    // Each state reached once is one event, however many deliveries carry it.
    expect(new Set(events.map((e) => e.eventId)).size).toBe(4);
    expect(events[2]!.reason).toBe("outgoing_payment_sent → bounced_back");

    const body = wise.deliveries.at(-1)!.body;
    await expect(provider().parseWebhook(Buffer.from(body.replace("funds_refunded", "outgoing_payment_sent")), { "x-signature-sha256": wise.sign(body) })).rejects.toMatchObject({
      status: 401,
    });
    await expect(provider().parseWebhook(Buffer.from(body), {})).rejects.toMatchObject({ status: 401 });
    await expect(provider().parseWebhook(Buffer.from(body), { "x-signature-sha256": wise.sign(body) })).resolves.toHaveLength(1);
  });

  it("hands out-of-order deliveries over with their times, for the caller to order", async () => {
    const t = await transfer("20.00");
    const id = Number((await provider().send({ idempotencyKey: "unused", transfers: [t] })).transfers[0]!.providerTransferId);
    wise.holdDeliveries = true;
    await wise.simulate(id, "outgoing_payment_sent");
    await wise.simulate(id, "bounced_back");
    const heardBefore = listener.events().length;
    await wise.releaseHeld("reverse");
    const events = listener.events().slice(heardBefore);
    expect(events.map((e) => e.kind)).toEqual(["returned", "paid"]);
    expect(events[0]!.occurredAt.getTime()).toBeGreaterThan(events[1]!.occurredAt.getTime());
  });

  it("refuses to go on without strong customer authentication when Wise asks for it", async () => {
    wise.requireSca = true;
    const t = await transfer("5.00");
    await expect(provider().send({ idempotencyKey: "unused", transfers: [t] })).rejects.toMatchObject({ kind: "permanent", code: "SCA_REQUIRED" });
    wise.requireSca = false;
  });
});
