import { createHash, createHmac, randomBytes } from "node:crypto";
import { deliver, startHttpStandIn, type Answer, type HttpStandIn, type Recorded } from "./stand-in-http.ts";

/**
 * Stripe's API for Connect transfers and its webhooks, as published, for
 * Stripe's own SDK to talk to (as stripe-mock is used). Each behaviour names
 * its source by the tags of shared/reference/payment-rails-api-facts.md §3
 * ([S1]…[S14]); test/fixtures/stripe/README.md lists the pages.
 *
 * - Secret keys as Bearer tokens; test keys only (sk_test_…) [S1]; form-
 *   encoded bodies, JSON answers; errors `{error:{type, code, message,
 *   param}}` [S7].
 * - `POST /v1/transfers` [S3]: integer minor-unit amount, lowercase
 *   currency, a destination among the connected accounts, the platform
 *   balance must cover it ("insufficient funds": balance_insufficient); the
 *   reply is the synchronous tr_… object with no status field.
 * - Idempotency-Key [S5][S6][S8]: the first answer (success or error) is
 *   saved and replayed byte for byte for the same key and parameters
 *   (Idempotent-Replayed: true); other parameters under the key: 400
 *   idempotency_error with the recorded message; a request while another
 *   with the key is in flight: 409; keys are forgotten after 24 hours
 *   (`ageKeys`); GET ignores keys.
 * - `GET /v1/transfers?transfer_group=` and `/v1/transfers/{id}`;
 *   reversals [S4] (partial, repeatable until the whole, more is an error;
 *   amount_reversed and reversed follow) with `transfer.reversed` [S10].
 * - `GET /v1/account` (the platform) and `/v1/accounts/{id}` (connected
 *   accounts with their transfers capability) [S2].
 * - Connected accounts' bank payouts: `payout.paid`, later `payout.failed`
 *   for the same payout, with the event's `account` set [S10][S11][S12].
 * - Webhooks [S13][S14]: `Stripe-Signature: t=…,v1=…` (one v1 per secret
 *   while rotating), HMAC-SHA256 hex over `t.body`.
 * - Faults: 429 (code rate_limit; no Retry-After, which Stripe does not
 *   promise), 500/503 with Stripe-Should-Retry: true when nothing ran, a 500
 *   saved under its key and replayed with Stripe-Should-Retry: false
 *   (`recordServerErrorNext`), timeouts and a crash after accepting.
 */
interface Transfer {
  id: string;
  object: "transfer";
  amount: number;
  amount_reversed: number;
  balance_transaction: string;
  created: number;
  currency: string;
  description: string | null;
  destination: string;
  destination_payment: string;
  livemode: false;
  metadata: Record<string, string>;
  reversals: { object: "list"; data: unknown[]; has_more: false; total_count: number; url: string };
  reversed: boolean;
  source_transaction: null;
  source_type: "card";
  transfer_group: string | null;
}

export interface StripeStandIn extends HttpStandIn {
  secretKey: string;
  /** Signing secrets of our endpoint (two while rotating). */
  webhookSecrets: string[];
  platformAccount: string;
  connectedAccounts: Map<string, { transfers: "active" | "inactive" | "pending" }>;
  transfers: Map<string, Transfer>;
  /** Platform balance by lowercase currency, in minor units. */
  balances: Map<string, bigint>;
  listener?: string;
  deliveries: { eventId: string; type: string; status: number }[];
  /** The next transfer create saves a 500 under its key (replayed for that key). */
  recordServerErrorNext(): void;
  /** Makes every saved idempotency key older by `ms` (keys older than 24 h are forgotten). */
  ageKeys(ms: number): void;
  reverse(transferId: string, amount?: number): Promise<Answer>;
  accountPayout(account: string, amount: number, currency: string, outcome: "paid" | "failed", payoutId?: string): Promise<string>;
  /** A Stripe-Signature header for `body` (at `timestamp`, seconds). */
  signature(body: string, timestamp?: number, secrets?: string[]): string;
  emitted: { id: string; type: string; body: string }[];
  redeliver(eventId: string): Promise<{ status: number }>;
}

const DAY_MS = 86_400_000;
const id = (prefix: string) => `${prefix}_${randomBytes(12).toString("base64url").replace(/[-_]/g, "x")}`;

/** Stripe's form encoding, one level of brackets (metadata[key]=value). */
function parseForm(raw: string): Record<string, unknown> {
  const out: Record<string, any> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    const nested = /^([^[]+)\[([^\]]+)\]$/.exec(key);
    if (nested) (out[nested[1]!] ??= {})[nested[2]!] = value;
    else out[key] = value;
  }
  return out;
}

export async function startStripeStandIn(): Promise<StripeStandIn> {
  const secretKey = `sk_test_${randomBytes(18).toString("hex")}`;
  const platformAccount = id("acct");
  const keys = new Map<string, { hash: string; status: number; text: string; savedAt: number }>();
  const inFlight = new Set<string>();
  let keyAgeMs = 0;
  let recordNext500 = false;
  const events = new Map<string, string>();

  const error = (status: number, type: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Answer => ({
    status,
    body: { error: { type, message, ...extra, doc_url: extra.code ? `https://docs.stripe.com/error-codes/${String(extra.code).replace(/_/g, "-")}` : undefined } },
    headers: { "request-id": id("req"), ...headers },
  });

  function signature(body: string, timestamp = Math.floor(Date.now() / 1000), secrets = stand.webhookSecrets): string {
    return [`t=${timestamp}`, ...secrets.map((secret) => `v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`)].join(",");
  }

  async function emit(type: string, object: unknown, account?: string, previous?: unknown): Promise<string> {
    const eventId = id("evt");
    const body = JSON.stringify({
      id: eventId,
      object: "event",
      api_version: "2026-10-28.endive",
      created: Math.floor(Date.now() / 1000),
      data: { object, ...(previous ? { previous_attributes: previous } : {}) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: id("req"), idempotency_key: null },
      type,
      ...(account ? { account } : {}),
    });
    events.set(eventId, body);
    stand.emitted.push({ id: eventId, type, body });
    await send(eventId);
    return eventId;
  }

  async function send(eventId: string): Promise<{ status: number }> {
    const body = events.get(eventId)!;
    if (!stand.listener) return { status: 0 };
    const answer = await deliver(stand.listener, body, { "stripe-signature": signature(body) });
    stand.deliveries.push({ eventId, type: JSON.parse(body).type, status: answer.status });
    return answer;
  }

  async function createTransfer(params: Record<string, any>): Promise<Answer> {
    const amount = String(params.amount ?? "");
    if (!/^[1-9]\d*$/.test(amount)) return error(400, "invalid_request_error", "Invalid positive integer", { param: "amount", code: "parameter_invalid_integer" });
    const currency = String(params.currency ?? "");
    if (!/^[a-z]{3}$/.test(currency)) return error(400, "invalid_request_error", `Invalid currency: ${currency}.`, { param: "currency" });
    const destination = String(params.destination ?? "");
    if (!stand.connectedAccounts.has(destination))
      return error(400, "invalid_request_error", `No such destination: '${destination}'`, { param: "destination", code: "resource_missing" });
    const balance = stand.balances.get(currency) ?? 0n;
    if (balance < BigInt(amount)) {
      return error(400, "invalid_request_error", "You have insufficient available funds in your Stripe account. Try adding funds directly to your available balance.", {
        code: "balance_insufficient",
      });
    }
    stand.balances.set(currency, balance - BigInt(amount));
    const transferId = id("tr");
    const transfer: Transfer = {
      id: transferId,
      object: "transfer",
      amount: Number(amount),
      amount_reversed: 0,
      balance_transaction: id("txn"),
      created: Math.floor(Date.now() / 1000),
      currency,
      description: params.description ?? null,
      destination,
      destination_payment: id("py"),
      livemode: false,
      metadata: params.metadata ?? {},
      reversals: { object: "list", data: [], has_more: false, total_count: 0, url: `/v1/transfers/${transferId}/reversals` },
      reversed: false,
      source_transaction: null,
      source_type: "card",
      transfer_group: params.transfer_group ?? null,
    };
    stand.transfers.set(transferId, transfer);
    await emit("transfer.created", transfer);
    return { status: 200, body: transfer };
  }

  async function reverse(transferId: string, amountParam?: number): Promise<Answer> {
    const transfer = stand.transfers.get(transferId);
    if (!transfer) return error(404, "invalid_request_error", `No such transfer: '${transferId}'`, { param: "id", code: "resource_missing" });
    const left = transfer.amount - transfer.amount_reversed;
    const amount = amountParam ?? left;
    if (!Number.isSafeInteger(amount) || amount <= 0 || amount > left) {
      return error(400, "invalid_request_error", `Refund amount (${amount}) is greater than unrefunded amount on transfer (${left})`, { param: "amount" });
    }
    const reversal = {
      id: id("trr"),
      object: "transfer_reversal",
      amount,
      balance_transaction: id("txn"),
      created: Math.floor(Date.now() / 1000),
      currency: transfer.currency,
      destination_payment_refund: id("pyr"),
      metadata: {},
      source_refund: null,
      transfer: transfer.id,
    };
    transfer.amount_reversed += amount;
    transfer.reversed = transfer.amount_reversed === transfer.amount;
    transfer.reversals.data.unshift(reversal);
    transfer.reversals.total_count += 1;
    stand.balances.set(transfer.currency, (stand.balances.get(transfer.currency) ?? 0n) + BigInt(amount));
    await emit("transfer.reversed", transfer, undefined, { amount_reversed: transfer.amount_reversed - amount, reversed: false });
    return { status: 200, body: reversal };
  }

  async function handle(request: Recorded): Promise<Answer> {
    const { method, path } = request;
    const auth = String(request.headers.authorization ?? "");
    if (auth !== `Bearer ${secretKey}`) {
      return error(401, "invalid_request_error", `Invalid API Key provided: ${auth.slice(7, 15)}${"*".repeat(Math.max(0, auth.length - 19))}${auth.slice(-4)}`);
    }
    if (path === "/v1/account" && method === "GET") {
      return { status: 200, body: { id: platformAccount, object: "account", country: "US", default_currency: "usd", settings: { dashboard: { display_name: "Acme Outdoor" } } } };
    }
    let match = /^\/v1\/accounts\/([^/]+)$/.exec(path);
    if (match && method === "GET") {
      const account = stand.connectedAccounts.get(match[1]!);
      if (!account) return error(404, "invalid_request_error", `No such account: '${match[1]}'`, { param: "account", code: "resource_missing" });
      return {
        status: 200,
        body: {
          id: match[1],
          object: "account",
          type: "express",
          capabilities: { transfers: account.transfers },
          payouts_enabled: account.transfers === "active",
          default_currency: "usd",
        },
      };
    }
    if (path === "/v1/transfers" && method === "GET") {
      const list = [...stand.transfers.values()].filter((t) => !request.query.transfer_group || t.transfer_group === request.query.transfer_group).reverse();
      const limit = Number(request.query.limit ?? 10);
      return { status: 200, body: { object: "list", data: list.slice(0, limit), has_more: list.length > limit, url: "/v1/transfers" } };
    }
    match = /^\/v1\/transfers\/([^/]+)(\/reversals)?$/.exec(path);
    if (match && method === "GET" && !match[2]) {
      const transfer = stand.transfers.get(match[1]!);
      return transfer ? { status: 200, body: transfer } : error(404, "invalid_request_error", `No such transfer: '${match[1]}'`, { param: "id", code: "resource_missing" });
    }
    if (method !== "POST") return error(404, "invalid_request_error", `Unrecognized request URL (${method}: ${path}).`);

    // POSTs: the Idempotency-Key decides whether anything runs [S5].
    const key = request.headers["idempotency-key"] as string | undefined;
    const hash = createHash("sha256").update(`${path}\n${request.raw}`).digest("hex");
    if (key) {
      const saved = keys.get(key);
      if (saved && Date.now() + keyAgeMs - saved.savedAt > DAY_MS) keys.delete(key);
      else if (saved) {
        if (saved.hash !== hash) {
          return error(
            400,
            "idempotency_error",
            `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          );
        }
        return {
          status: saved.status,
          text: saved.text,
          headers: { "idempotency-key": key, "idempotent-replayed": "true", ...(saved.status >= 500 ? { "stripe-should-retry": "false" } : {}) },
        };
      }
      if (inFlight.has(key)) return error(409, "idempotency_error", "There is currently another in-progress request using this Stripe key. Retry after it completes.");
      inFlight.add(key);
    }
    try {
      let answer: Answer;
      if (path === "/v1/transfers" && recordNext500) {
        recordNext500 = false;
        answer = error(500, "api_error", "An unknown error occurred");
      } else if (path === "/v1/transfers") {
        answer = await createTransfer(request.body);
      } else if ((match = /^\/v1\/transfers\/([^/]+)\/reversals$/.exec(path))) {
        answer = await reverse(match[1]!, request.body.amount === undefined ? undefined : Number(request.body.amount));
      } else {
        answer = error(404, "invalid_request_error", `Unrecognized request URL (POST: ${path}).`);
      }
      const text = JSON.stringify(answer.body);
      // Requests that fail validation before running are not saved [S5]; what ran is, errors included.
      const ran = answer.status < 400 || answer.status >= 500 || (answer.body as any)?.error?.code === "balance_insufficient";
      if (key && ran) keys.set(key, { hash, status: answer.status, text, savedAt: Date.now() + keyAgeMs });
      return { ...answer, text, headers: { ...answer.headers, ...(key ? { "idempotency-key": key } : {}), ...(answer.status >= 500 ? { "stripe-should-retry": "false" } : {}) } };
    } finally {
      if (key) inFlight.delete(key);
    }
  }

  const http = await startHttpStandIn(
    handle,
    (fault) =>
      fault === "429"
        ? error(429, "invalid_request_error", "Too many requests hit the API too quickly.", { code: "rate_limit" })
        : error(Number(fault), "api_error", "Stripe is temporarily unavailable.", {}, { "stripe-should-retry": "true" }),
    (raw) => parseForm(raw),
  );

  const stand: StripeStandIn = Object.assign(http, {
    secretKey,
    webhookSecrets: [`whsec_${randomBytes(24).toString("base64")}`],
    platformAccount,
    connectedAccounts: new Map<string, { transfers: "active" | "inactive" | "pending" }>(),
    transfers: new Map<string, Transfer>(),
    balances: new Map<string, bigint>([
      ["usd", 10_000_000n],
      ["eur", 10_000_000n],
      ["jpy", 10_000_000n],
      ["isk", 10_000_000n],
    ]),
    listener: undefined as string | undefined,
    deliveries: [] as StripeStandIn["deliveries"],
    emitted: [] as StripeStandIn["emitted"],
    recordServerErrorNext: () => {
      recordNext500 = true;
    },
    ageKeys: (ms: number) => {
      keyAgeMs += ms;
    },
    reverse,
    async accountPayout(account: string, amount: number, currency: string, outcome: "paid" | "failed", payoutId = id("po")) {
      const payout = {
        id: payoutId,
        object: "payout",
        amount,
        arrival_date: Math.floor(Date.now() / 1000),
        currency,
        destination: id("ba"),
        failure_code: outcome === "failed" ? "account_closed" : null,
        failure_message: outcome === "failed" ? "The bank account has been closed." : null,
        livemode: false,
        method: "standard",
        status: outcome,
        type: "bank_account",
      };
      await emit(`payout.${outcome}`, payout, account);
      return payoutId;
    },
    signature,
    redeliver: (eventId: string) => send(eventId),
  });
  return stand;
}
