import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CurrencyCode } from "../../src/domain/currency.ts";
import { Dec } from "../../src/domain/money.ts";
import { createPaymentRails } from "../../src/integrations/payments/payment-rails.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { ConnectProviderDoc, connectProvider, credentialsFor, DisconnectProviderDoc, ProviderConnectionsDoc, railsEnv, type RailStandIns } from "../helpers/payment-rails-docs.ts";
import { startPayPalStandIn } from "../helpers/paypal-stand-in.ts";
import { startStripeStandIn } from "../helpers/stripe-stand-in.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";
import { startWiseStandIn } from "../helpers/wise-stand-in.ts";

describe.each(databaseTargets())("payment providers on %s", (target) => {
  let t: TestApp;
  let s: RailStandIns;
  let acme: ProgramFixture;
  let other: ProgramFixture;
  const connections: Record<string, { webhookPath: string }> = {};

  const row = (programId: string, provider: "PAYPAL" | "WISE" | "STRIPE") =>
    t.app.db.prisma.paymentProviderConnection.findUniqueOrThrow({ where: { programId_provider: { programId, provider } } });
  const storedEvents = (programId: string) => t.app.db.prisma.providerEvent.findMany({ where: { programId }, orderBy: { receivedAt: "asc" } });
  const post = (path: string, body: string, headers: Record<string, string>) =>
    fetch(`${t.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body }).then(async (r) => ({ status: r.status, body: await r.text() }));

  beforeAll(async () => {
    s = { paypal: await startPayPalStandIn(), wise: await startWiseStandIn(), stripe: await startStripeStandIn() };
    // No scheduler timer: the stored events stay unapplied (processedAt null) while this file looks at them.
    t = await startTestApp(target, { env: { ...railsEnv(s), ACCRUE_SCHEDULER: "0" } });
    // Quick retries: outages here are the stand-ins' faults, not waits worth sitting through.
    Object.assign(t.app.deps, { paymentRails: createPaymentRails(t.app.config.payments, t.app.deps.secrets, { attempts: 2, baseDelayMs: 5, maxDelayMs: 1500 }) });
    acme = await createProgramFixture(t, { name: "Acme" });
    other = await createProgramFixture(t, { name: "Other" });
  });
  afterAll(async () => {
    await t?.stop();
    await Promise.all([s?.paypal.close(), s?.wise.close(), s?.stripe.close()]);
  });

  it("connects PayPal, Wise and Stripe with credentials the providers accept, keeping them sealed and out of every answer", async () => {
    for (const provider of ["PAYPAL", "WISE", "STRIPE"] as const) {
      const response = await t.gql(ConnectProviderDoc, { input: { provider, environment: "SANDBOX", ...credentialsFor(s)[provider] } }, acme.adminToken);
      const connection = dataOf(response).connectPaymentProvider.connection!;
      expect(connection).toMatchObject({ provider, environment: "SANDBOX", status: "CONNECTED", connectedBy: "admin@acme.test", disconnectedAt: null });
      expect(connection.webhookPath).toMatch(new RegExp(`^/webhooks/${provider.toLowerCase()}/[0-9a-f-]{36}$`));
      connections[provider] = connection;
      const secrets = (Object.values(Object.values(credentialsFor(s)[provider])[0]!) as string[]).filter((v) => v.length > 12 && !/^\d+$/.test(v) && !v.startsWith("WH-"));
      const stored = await row(acme.rawId, provider);
      for (const secret of secrets) {
        expect(JSON.stringify(response)).not.toContain(secret);
        expect(stored.credentials).not.toContain(secret);
      }
      expect(JSON.parse(t.app.deps.secrets.open(stored.credentials))).toEqual(Object.values(credentialsFor(s)[provider])[0]);
    }
    expect(dataOf(await t.gql(ProviderConnectionsDoc, {}, acme.adminToken)).paymentProviderConnections.map((c) => [c.provider, c.accountLabel])).toEqual([
      ["PAYPAL", "APP-80W284485P519543T"],
      ["WISE", `business profile ${s.wise.profileId}`],
      ["STRIPE", `${s.stripe.platformAccount} Acme Outdoor`],
    ]);
    const fields = await t.raw({ query: '{ __type(name: "PaymentProviderConnection") { fields { name } } }' }, acme.adminToken);
    expect(JSON.stringify(fields)).not.toMatch(/secret|token|credential|password/i);
    const audits = await t.app.db.prisma.auditEntry.findMany({ where: { programId: acme.rawId, action: "payment_provider.connect" } });
    expect(audits).toHaveLength(3);
    expect(JSON.stringify(audits)).not.toContain(s.paypal.clientSecret);
    expect(JSON.stringify(audits)).not.toContain(s.stripe.secretKey);
  });

  it("refuses credentials the provider refuses, and malformed ones, storing nothing", async () => {
    const connect = (input: Record<string, unknown>) => t.gql(ConnectProviderDoc, { input } as never, other.adminToken).then((r) => dataOf(r).connectPaymentProvider);
    const wrongSecret = await connect({ provider: "PAYPAL", environment: "SANDBOX", paypal: { ...credentialsFor(s).PAYPAL.paypal, clientSecret: "not-it" } });
    expect(wrongSecret.userErrors).toEqual([
      { code: "PROVIDER_REJECTED", message: "PayPal refused the program's credentials; an admin must reconnect PayPal", field: ["input", "paypal"] },
    ]);
    const liveKey = await connect({ provider: "STRIPE", environment: "SANDBOX", stripe: { secretKey: "sk_live_123", webhookSecret: "nope" } });
    expect(liveKey.userErrors.map((e) => [e.code, e.field])).toEqual([
      ["INVALID_INPUT", ["input", "stripe", "secretKey"]],
      ["INVALID_INPUT", ["input", "stripe", "webhookSecret"]],
    ]);
    const crossed = await connect({ provider: "PAYPAL", environment: "SANDBOX", ...credentialsFor(s).WISE });
    expect(crossed.userErrors.map((e) => e.field)).toEqual([
      ["input", "wise"],
      ["input", "paypal"],
    ]);
    const profile = await connect({ provider: "WISE", environment: "SANDBOX", wise: { apiToken: s.wise.token, profileId: "999" } });
    expect(profile.userErrors).toEqual([{ code: "PROVIDER_REJECTED", message: "this Wise token has no profile 999", field: ["input", "wise"] }]);
    s.wise.failNext("down", 2, (r) => r.path === "/v1/profiles");
    const down = await connect({ provider: "WISE", environment: "SANDBOX", ...credentialsFor(s).WISE });
    expect(down.userErrors.map((e) => e.code)).toEqual(["PROVIDER_UNAVAILABLE"]);
    expect(await t.app.db.prisma.paymentProviderConnection.count({ where: { programId: other.rawId } })).toBe(0);
  });

  it("lets only the program's admin see, connect or disconnect a provider", async () => {
    const partner = await createPartnerFixture(t, acme);
    const integration = await acme.integrationToken([
      "PARTNERS_READ",
      "PARTNERS_WRITE",
      "PAYOUTS_READ",
      "PAYOUTS_WRITE",
      "COMMISSIONS_READ",
      "CONVERSIONS_READ",
      "CONVERSIONS_WRITE",
    ]);
    const connect = { input: { provider: "PAYPAL" as const, environment: "SANDBOX" as const, ...credentialsFor(s).PAYPAL } };
    for (const token of [acme.financeToken, acme.analystToken, partner.token, integration]) {
      expect((await t.gql(ProviderConnectionsDoc, {}, token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      expect((await t.gql(ConnectProviderDoc, connect, token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      expect((await t.gql(DisconnectProviderDoc, { input: { provider: "PAYPAL", confirm: true } }, token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    }
    const anonymous = await t.gql(ProviderConnectionsDoc, {}, null);
    expect([anonymous.status, anonymous.errors?.[0]?.extensions?.code]).toEqual([401, "UNAUTHENTICATED"]);
    // Another program's admin sees its own (none) and cannot reach Acme's.
    expect(dataOf(await t.gql(ProviderConnectionsDoc, {}, other.adminToken)).paymentProviderConnections).toEqual([]);
    const elsewhere = dataOf(await t.gql(DisconnectProviderDoc, { input: { provider: "PAYPAL", confirm: true } }, other.adminToken)).disconnectPaymentProvider;
    expect(elsewhere.userErrors.map((e) => e.code)).toEqual(["NOT_CONNECTED"]);
    expect((await row(acme.rawId, "PAYPAL")).status).toBe("CONNECTED");
  });

  it("stores each PayPal item event its signed webhook brings once, and refuses forged or misaddressed ones", async () => {
    s.paypal.listener = `${t.url}${connections.PAYPAL!.webhookPath}`;
    const paypal = t.app.deps.paymentRails!.forConnection(await row(acme.rawId, "PAYPAL"));
    const sent = await paypal.send({
      idempotencyKey: `acme-run-${Date.now()}`,
      transfers: [
        { reference: "payout-a", idempotencyKey: "payout-a:1", amount: new Dec("12.34"), currency: "USD" as CurrencyCode, recipient: { kind: "paypal", email: "ana@example.com" } },
        { reference: "payout-b", idempotencyKey: "payout-b:1", amount: new Dec("5.00"), currency: "USD" as CurrencyCode, recipient: { kind: "paypal", email: "gone@example.com" } },
      ],
    });
    s.paypal.fates.set("gone@example.com", "FAILED");
    await s.paypal.settle(sent.batchId!);
    expect(s.paypal.deliveries.slice(-2).map((d) => d.status)).toEqual([200, 200]);
    const events = await storedEvents(acme.rawId);
    expect(events.map((e) => [e.provider, e.kind, e.reference, e.amount?.toFixed(2), e.currency])).toEqual([
      ["PAYPAL", "PAID", "payout-a", "12.34", "USD"],
      ["PAYPAL", "FAILED", "payout-b", "5.00", "USD"],
    ]);
    expect(events[1]!.reason).toContain("RECEIVER_ACCOUNT_LOCKED");
    expect(events.every((e) => e.processedAt === null && e.connectionId)).toBe(true);

    const last = s.paypal.deliveries.at(-1)!;
    await s.paypal.redeliver(last.eventId);
    expect(s.paypal.deliveries.at(-1)!.status).toBe(200);
    expect(await storedEvents(acme.rawId)).toHaveLength(2);

    const path = connections.PAYPAL!.webhookPath;
    expect((await post(path, last.body.replace("RECEIVER_ACCOUNT_LOCKED", "ALL_GOOD"), s.paypal.sign(last.body))).status).toBe(401);
    expect((await post(path, last.body, {})).status).toBe(401);
    expect((await post(path, "{not json", s.paypal.sign("{not json"))).status).toBe(400);
    expect((await post(path.replace(/[0-9a-f-]{36}$/, "00000000-0000-4000-8000-000000000000"), last.body, s.paypal.sign(last.body))).status).toBe(404);
    expect((await post(path.replace("/paypal/", "/stripe/"), last.body, s.paypal.sign(last.body))).status).toBe(404);
    expect((await fetch(`${t.url}${path}`)).status).toBe(405);
    expect(await storedEvents(acme.rawId)).toHaveLength(2);
  });

  it("stores Wise state changes once however many deliveries carry them, and Stripe events by their id", async () => {
    s.wise.listener = `${t.url}${connections.WISE!.webhookPath}`;
    s.wise.subscriptions = 2;
    const wise = t.app.deps.paymentRails!.forConnection(await row(acme.rawId, "WISE"));
    const recipient = await wise.verifyMethod({
      provider: "WISE",
      currency: "EUR" as CurrencyCode,
      accountHolderName: "Ana Lima",
      legalType: "PRIVATE",
      account: { type: "iban", iban: "DE89370400440532013000" },
    });
    if (!recipient.ok) throw new Error("recipient");
    const [transfer] = (
      await wise.send({
        idempotencyKey: "unused",
        transfers: [
          {
            reference: "payout-w",
            idempotencyKey: `payout-w:${Date.now()}`,
            amount: new Dec("100.00"),
            currency: "USD" as CurrencyCode,
            recipient: { kind: "wise", recipientId: recipient.recipientId!, currency: "EUR" as CurrencyCode },
          },
        ],
      })
    ).transfers;
    const before = (await storedEvents(acme.rawId)).length;
    for (const state of ["funds_converted", "outgoing_payment_sent", "bounced_back"]) await s.wise.simulate(Number(transfer!.providerTransferId), state);
    s.wise.subscriptions = 1;
    expect(s.wise.deliveries.slice(-6).map((d) => d.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const wiseEvents = (await storedEvents(acme.rawId)).slice(before);
    expect(wiseEvents.map((e) => [e.provider, e.kind, e.transferId])).toEqual([
      ["WISE", "PAID", transfer!.providerTransferId],
      ["WISE", "RETURNED", transfer!.providerTransferId],
    ]);
    const body = s.wise.deliveries.at(-1)!.body;
    expect((await post(connections.WISE!.webhookPath, body, { "x-signature-sha256": s.wise.sign(body.replace("bounced_back", "x")) })).status).toBe(401);

    s.stripe.listener = `${t.url}${connections.STRIPE!.webhookPath}`;
    s.stripe.connectedAccounts.set("acct_1Ana", { transfers: "active" });
    const stripe = t.app.deps.paymentRails!.forConnection(await row(acme.rawId, "STRIPE"));
    const [paid] = (
      await stripe.send({
        idempotencyKey: "unused",
        transfers: [
          {
            reference: "payout-s",
            idempotencyKey: `payout-s:${Date.now()}`,
            amount: new Dec("20.00"),
            currency: "USD" as CurrencyCode,
            recipient: { kind: "stripe", accountId: "acct_1Ana" },
          },
        ],
      })
    ).transfers;
    await s.stripe.reverse(paid!.providerTransferId!, 500);
    await s.stripe.redeliver(s.stripe.emitted.at(-1)!.id);
    const stripeEvents = (await storedEvents(acme.rawId)).filter((e) => e.provider === "STRIPE");
    expect(stripeEvents.map((e) => [e.kind, e.reference, e.amount?.toFixed(2) ?? null])).toEqual([
      ["PAID", "payout-s", null],
      ["RETURNED", "payout-s", "5.00"],
    ]);
    const event = s.stripe.emitted.at(-1)!;
    expect(
      (await post(connections.STRIPE!.webhookPath, event.body, { "stripe-signature": s.stripe.signature(event.body, Math.floor(Date.now() / 1000), ["whsec_other"]) })).status,
    ).toBe(401);
  });

  it("refuses a disconnected provider's webhooks and forgets its credentials", async () => {
    const result = dataOf(await t.gql(DisconnectProviderDoc, { input: { provider: "STRIPE", confirm: true } }, acme.adminToken)).disconnectPaymentProvider;
    expect(result.connection).toMatchObject({ provider: "STRIPE", status: "DISCONNECTED" });
    expect((await row(acme.rawId, "STRIPE")).credentials).toBe("");
    const event = s.stripe.emitted.at(-1)!;
    expect((await post(connections.STRIPE!.webhookPath, event.body, { "stripe-signature": s.stripe.signature(event.body) })).status).toBe(404);
    const again = dataOf(await t.gql(DisconnectProviderDoc, { input: { provider: "STRIPE", confirm: true } }, acme.adminToken)).disconnectPaymentProvider;
    expect(again.userErrors.map((e) => e.code)).toEqual(["NOT_CONNECTED"]);
    // Connecting again brings the same listener back.
    expect((await connectProvider(t, acme, s, "STRIPE")).webhookPath).toBe(connections.STRIPE!.webhookPath);
  });

  it("takes PayPal's later retry of a delivery it refused while disconnected", async () => {
    dataOf(await t.gql(DisconnectProviderDoc, { input: { provider: "PAYPAL", confirm: true } }, acme.adminToken));
    const paypal = t.app.deps.paymentRails!.connector("PAYPAL", "SANDBOX", credentialsFor(s).PAYPAL.paypal);
    const sent = await paypal.send({
      idempotencyKey: `acme-late-${Date.now()}`,
      transfers: [
        {
          reference: "payout-late",
          idempotencyKey: "payout-late:1",
          amount: new Dec("9.99"),
          currency: "USD" as CurrencyCode,
          recipient: { kind: "paypal", email: "ana@example.com" },
        },
      ],
    });
    await s.paypal.settle(sent.batchId!);
    expect(s.paypal.deliveries.at(-1)!.status).toBe(404);
    await connectProvider(t, acme, s, "PAYPAL");
    expect(await s.paypal.redeliverFailed()).toBe(1);
    expect(s.paypal.deliveries.at(-1)!.status).toBe(200);
    expect((await storedEvents(acme.rawId)).filter((e) => e.reference === "payout-late").map((e) => e.kind)).toEqual(["PAID"]);
    expect(await s.paypal.redeliverFailed()).toBe(0);
  });
});
