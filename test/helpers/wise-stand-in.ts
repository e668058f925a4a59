import { createSign, generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { Decimal } from "decimal.js";
import { isValidIBAN } from "ibantools";
import { deliver, startHttpStandIn, type Answer, type HttpStandIn, type Recorded } from "./stand-in-http.ts";

/**
 * The Wise Platform API's payout flow, as published. Each behaviour names its
 * source by the tags of shared/reference/payment-rails-api-facts.md §2
 * ([W1]…[W23]); test/fixtures/wise/README.md lists the pages.
 *
 * - Bearer token auth; `GET /v1/profiles` [W5]; `{error:"invalid_token"}` on
 *   a bad token [W22].
 * - Recipients `POST /v1/accounts` [W7][W8]: validated at once (IBAN check
 *   digits, sort code and UK account number, ABA routing check digit, email,
 *   the address an ACH recipient needs); a malformed one gets 422
 *   `{errors:[{code:"NOT_VALID", message, path, arguments}]}` and nothing is
 *   created; a missing top-level field 400.
 * - Quotes `POST /v3/profiles/{p}/quotes` [W6]: sourceAmount or
 *   targetAmount, never both; rate locked 30 minutes; paymentOptions with
 *   fee {transferwise, payIn, discount, partner, total} and price. The
 *   stand-in's tariff: 0.39 + 0.45% of the source amount, rounded half up.
 *   Versioned paths (`/2026Q3/profiles/…`) are accepted too [W3].
 * - Transfers `POST /v1/transfers` [W9][W5]: customerTransactionId must be a
 *   UUID; a repeat of one returns the first transfer and creates nothing
 *   (the reply to a repeat is unconfirmed; the reference says to return the
 *   original); one transfer per quote (a reused quote is refused: its error
 *   code is unconfirmed); status incoming_payment_waiting.
 * - Funding `POST /v3/profiles/{p}/transfers/{id}/payments` [W12]: 2xx with
 *   COMPLETED, or with REJECTED and errorCode
 *   "balance.payment-option-unavailable" when the balance is short;
 *   optional SCA: 403 with x-2fa-approval [W13].
 * - Cancel `PUT /v1/transfers/{id}/cancel` before funding only [W11].
 * - States [W14] move by simulation calls `GET /v1/simulation/transfers/{id}/
 *   {state}` [W15], each sending `transfers#state-change` (schema 2.0.0,
 *   previous_state) [W18]; returns after success (bounced_back,
 *   funds_refunded, charged_back) too.
 * - Webhooks [W19][W20]: the raw body signed SHA256withRSA with this
 *   stand-in's key (X-Signature-SHA256, base64), X-Delivery-Id per delivery;
 *   duplicates (one per subscription) and out-of-order delivery on demand.
 * - Faults: 500 `{timestamp, status, error, message, path}` [W22], 429 with
 *   Retry-After (Wise's 429 behaviour is unconfirmed [W23]), timeouts, a crash
 *   after accepting.
 */
interface Recipient {
  id: number;
  profile: number;
  accountHolderName: string;
  currency: string;
  type: string;
  details: Record<string, unknown>;
  active: boolean;
}
interface Quote {
  id: string;
  sourceCurrency: string;
  targetCurrency: string;
  sourceAmount: number;
  targetAmount: number;
  rate: number;
  fee: number;
  createdAt: number;
  usedBy?: number;
}
interface Transfer {
  id: number;
  user: number;
  targetAccount: number;
  sourceAccount: null;
  quote: null;
  quoteUuid: string;
  status: string;
  reference: string;
  rate: number;
  created: string;
  business: number;
  details: { reference: string };
  hasActiveIssues: boolean;
  sourceCurrency: string;
  sourceValue: number;
  targetCurrency: string;
  targetValue: number;
  customerTransactionId: string;
}

export interface WiseStandIn extends HttpStandIn {
  token: string;
  profileId: string;
  /** PEM of the key that verifies this stand-in's webhooks. */
  webhookPublicKey: string;
  recipients: Map<number, Recipient>;
  transfers: Map<number, Transfer>;
  quotes: Map<string, Quote>;
  /** Balances by currency, as decimal strings. */
  balances: Map<string, string>;
  requireSca: boolean;
  /** Where webhooks go; each event is sent once per subscription. */
  listener?: string;
  subscriptions: number;
  /** Held deliveries (out of order on purpose) go out when released. */
  holdDeliveries: boolean;
  deliveries: { deliveryId: string; status: number; body: string }[];
  releaseHeld(order?: "reverse"): Promise<void>;
  /** Moves a transfer the way Wise's simulation endpoint does, with its webhook. */
  simulate(transferId: number, state: string): Promise<void>;
  sign(body: string): string;
  transferByKey(customerTransactionId: string): Transfer | undefined;
}

const RATES: Record<string, number> = { "USD:EUR": 0.9123, "USD:GBP": 0.785, "EUR:GBP": 0.8604, "GBP:EUR": 1.1622, "EUR:USD": 1.0961, "GBP:USD": 1.2739 };
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ABA = [3, 7, 1, 3, 7, 1, 3, 7, 1];
const decimalsOf = (currency: string) => (["JPY", "HUF", "KRW"].includes(currency) ? 0 : 2);

export async function startWiseStandIn(): Promise<WiseStandIn> {
  const token = `wise-${randomBytes(16).toString("hex")}`;
  const profileId = String(16_000_000 + Math.floor(Math.random() * 1e6));
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const recipients = new Map<number, Recipient>();
  const transfers = new Map<number, Transfer>();
  const byCustomerTransactionId = new Map<string, number>();
  const quotes = new Map<string, Quote>();
  const balances = new Map<string, string>([
    ["USD", "100000.00"],
    ["EUR", "100000.00"],
    ["GBP", "100000.00"],
  ]);
  const held: string[] = [];
  let nextId = 50_000_000;
  let lastOccurred = 0;

  const errors = (status: number, list: { code: string; message: string; path?: string; arguments?: unknown[] }[]): Answer => ({ status, body: { errors: list } });
  const notValid = (path: string, message: string, value: unknown) => ({ code: "NOT_VALID", message, path, arguments: [path, value] });
  const system = (status: number, error: string, message: string, path: string): Answer => ({
    status,
    body: { timestamp: new Date().toISOString(), status, error, message, path },
  });
  const sign = (body: string) => createSign("RSA-SHA256").update(body).sign(privateKey, "base64");

  async function send(body: string): Promise<void> {
    if (!stand.listener) return;
    if (stand.holdDeliveries) return void held.push(body);
    // At least once, and once per subscription [W18].
    for (let i = 0; i < stand.subscriptions; i += 1) {
      const deliveryId = randomUUID();
      const answer = await deliver(stand.listener, body, { "x-signature-sha256": sign(body), "x-delivery-id": deliveryId });
      stand.deliveries.push({ deliveryId, status: answer.status, body });
    }
  }

  async function changeState(transfer: Transfer, state: string): Promise<void> {
    const previous = transfer.status;
    transfer.status = state;
    // Whole seconds, as Wise writes them; a later change is never stamped earlier than the one before.
    lastOccurred = Math.max(Math.floor(Date.now() / 1000) * 1000, lastOccurred + 1000);
    const occurredAt = new Date(lastOccurred).toISOString().replace(/\.\d{3}Z$/, "Z");
    await send(
      JSON.stringify({
        data: {
          resource: { type: "transfer", id: transfer.id, profile_id: Number(profileId), account_id: transfer.targetAccount },
          current_state: state,
          previous_state: previous,
          occurred_at: occurredAt,
        },
        subscription_id: "90aa8e14-4ef1-4a56-861c-f3c9cde097ea",
        event_type: "transfers#state-change",
        schema_version: "2.0.0",
        sent_at: occurredAt,
      }),
    );
  }

  function validateRecipient(body: any): Answer | undefined {
    const missing = ["currency", "type", "accountHolderName"].filter((key) => !body?.[key]);
    if (missing.length)
      return errors(
        400,
        missing.map((key) => ({ code: "NOT_VALID", message: `${key} is required`, path: key, arguments: [key] })),
      );
    const d = body.details ?? {};
    const problems: ReturnType<typeof notValid>[] = [];
    if (String(body.accountHolderName).trim().split(/\s+/).length < 2 && d.legalType !== "BUSINESS")
      problems.push(notValid("accountHolderName", "Please enter the recipient's first and last name.", body.accountHolderName));
    switch (body.type) {
      case "email":
        if (!emailPattern.test(String(d.email ?? ""))) problems.push(notValid("email", "Please specify a valid email.", d.email));
        break;
      case "iban":
        if (
          !isValidIBAN(
            String(d.IBAN ?? "")
              .replace(/\s/g, "")
              .toUpperCase(),
          )
        )
          problems.push(notValid("IBAN", "Please specify a valid IBAN.", d.IBAN));
        break;
      case "sort_code":
        if (body.currency !== "GBP") problems.push(notValid("currency", "Sort code recipients receive GBP.", body.currency));
        if (!/^\d{6}$/.test(String(d.sortCode ?? "").replace(/[-\s]/g, ""))) problems.push(notValid("sortCode", "Please specify a valid sort code.", d.sortCode));
        if (!/^\d{8}$/.test(String(d.accountNumber ?? ""))) problems.push(notValid("accountNumber", "Please specify a valid account number.", d.accountNumber));
        break;
      case "aba": {
        if (body.currency !== "USD") problems.push(notValid("currency", "ACH recipients receive USD.", body.currency));
        const routing = String(d.abartn ?? "");
        if (!/^\d{9}$/.test(routing) || ABA.reduce((sum, w, i) => sum + w * Number(routing[i]), 0) % 10 !== 0)
          problems.push(notValid("abartn", "Please specify a valid ACH routing number.", d.abartn));
        if (!/^\d{4,17}$/.test(String(d.accountNumber ?? ""))) problems.push(notValid("accountNumber", "Please specify a valid account number.", d.accountNumber));
        if (!["CHECKING", "SAVINGS"].includes(d.accountType)) problems.push(notValid("accountType", "Please choose checking or savings.", d.accountType));
        for (const key of ["country", "city", "postCode", "firstLine"])
          if (!d.address?.[key]) problems.push(notValid(`address.${key}`, `Please enter the recipient's ${key}.`, d.address?.[key]));
        break;
      }
      default:
        problems.push(notValid("type", `Recipient type ${body.type} is not supported here.`, body.type));
    }
    return problems.length ? errors(422, problems) : undefined;
  }

  function makeQuote(body: any): Answer {
    const { sourceCurrency, targetCurrency, sourceAmount, targetAmount } = body ?? {};
    if (sourceAmount != null && targetAmount != null)
      return errors(422, [{ code: "error.sourceAndTargetAmount", message: "Please provide either source or target amount, not both.", path: "sourceAmount" }]);
    if (!sourceCurrency || !targetCurrency || (sourceAmount == null && targetAmount == null))
      return errors(422, [{ code: "NOT_VALID", message: "sourceCurrency, targetCurrency and an amount are required.", path: "sourceAmount" }]);
    const rate = sourceCurrency === targetCurrency ? 1 : RATES[`${sourceCurrency}:${targetCurrency}`];
    if (!rate) return errors(422, [{ code: "error.route.not.supported", message: `We don't support ${sourceCurrency} to ${targetCurrency}.`, path: "targetCurrency" }]);
    const fee = (source: Decimal) => source.times("0.0045").plus("0.39").toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
    let source: Decimal;
    let target: Decimal;
    if (sourceAmount != null) {
      source = new Decimal(String(sourceAmount));
      target = source.minus(fee(source)).times(rate).toDecimalPlaces(decimalsOf(targetCurrency), Decimal.ROUND_HALF_UP);
    } else {
      target = new Decimal(String(targetAmount));
      source = target.dividedBy(rate).plus("0.39").dividedBy("0.9955").toDecimalPlaces(2, Decimal.ROUND_UP);
    }
    const quote: Quote = {
      id: randomUUID(),
      sourceCurrency,
      targetCurrency,
      sourceAmount: source.toNumber(),
      targetAmount: target.toNumber(),
      rate,
      fee: fee(source).toNumber(),
      createdAt: Date.now(),
    };
    quotes.set(quote.id, quote);
    return { status: 200, body: quoteBody(quote) };
  }

  function quoteBody(quote: Quote) {
    const expires = new Date(quote.createdAt + 30 * 60_000).toISOString();
    const option = (payIn: string, extra: number) => ({
      disabled: false,
      estimatedDelivery: new Date(quote.createdAt + 86_400_000).toISOString(),
      formattedEstimatedDelivery: "by tomorrow",
      estimatedDeliveryDelays: [],
      fee: { transferwise: quote.fee, payIn: extra, discount: 0, partner: 0, total: new Decimal(quote.fee).plus(extra).toNumber() },
      price: {
        priceSetId: 238,
        total: { type: "TOTAL", label: "Total fees", value: { amount: new Decimal(quote.fee).plus(extra).toNumber(), currency: quote.sourceCurrency, label: "" } },
        items: [],
      },
      sourceAmount: quote.sourceAmount,
      targetAmount: quote.targetAmount,
      sourceCurrency: quote.sourceCurrency,
      targetCurrency: quote.targetCurrency,
      payIn,
      payOut: "BANK_TRANSFER",
      allowedProfileTypes: ["PERSONAL", "BUSINESS"],
      payInProduct: "BALANCE",
      feePercentage: 0.0045,
    });
    return {
      id: quote.id,
      sourceCurrency: quote.sourceCurrency,
      targetCurrency: quote.targetCurrency,
      sourceAmount: quote.sourceAmount,
      targetAmount: quote.targetAmount,
      payOut: "BANK_TRANSFER",
      preferredPayIn: "BALANCE",
      rate: quote.rate,
      createdTime: new Date(quote.createdAt).toISOString(),
      user: 1,
      profile: Number(profileId),
      rateType: "FIXED",
      rateExpirationTime: expires,
      guaranteedTargetAmountAllowed: true,
      providedAmountType: "SOURCE",
      status: quote.usedBy ? "ACCEPTED" : "PENDING",
      expirationTime: expires,
      notices: [],
      paymentOptions: [option("BALANCE", 0), option("BANK_TRANSFER", 0.12)],
    };
  }

  async function handle(request: Recorded): Promise<Answer> {
    const method = request.method;
    // Versioned paths are the v3 ones under another name [W3].
    const path = request.path.replace(/^\/\d{4}Q[1-4]\//, "/v3/");
    if (request.headers.authorization !== `Bearer ${token}`) return { status: 401, body: { error: "invalid_token", error_description: "Invalid token" } };
    if (path === "/v1/profiles" && method === "GET") {
      return {
        status: 200,
        body: [
          { id: Number(profileId), type: "business", details: { name: "Acme Outdoor Ltd" } },
          { id: Number(profileId) + 1, type: "personal", details: { firstName: "Ada", lastName: "Admin" } },
        ],
      };
    }
    if (path === "/v1/accounts" && method === "POST") {
      const invalid = validateRecipient(request.body);
      if (invalid) return invalid;
      const recipient: Recipient = {
        id: (nextId += 1),
        profile: Number(profileId),
        accountHolderName: request.body.accountHolderName,
        currency: request.body.currency,
        type: request.body.type,
        details: request.body.details,
        active: true,
      };
      recipients.set(recipient.id, recipient);
      return { status: 200, body: { ...recipient, business: Number(profileId), country: request.body.details?.IBAN?.slice(0, 2) ?? null, user: 1 } };
    }
    let match = /^\/v3\/profiles\/(\d+)\/quotes(?:\/([^/]+))?$/.exec(path);
    if (match) {
      if (match[1] !== profileId) return system(403, "Forbidden", "Access denied", path);
      if (method === "POST" && !match[2]) return makeQuote(request.body);
      const quote = quotes.get(match[2] ?? "");
      return quote ? { status: 200, body: quoteBody(quote) } : system(404, "Not Found", "Quote not found", path);
    }
    if (path === "/v1/transfers" && method === "POST") {
      const b = request.body ?? {};
      if (!uuidPattern.test(String(b.customerTransactionId ?? "")))
        return errors(422, [notValid("customerTransactionId", "customerTransactionId must be a UUID.", b.customerTransactionId)]);
      const earlier = byCustomerTransactionId.get(b.customerTransactionId);
      // A repeat is the same transfer, whatever else the body says [W9][W10].
      if (earlier !== undefined) return { status: 200, body: transfers.get(earlier) };
      const quote = quotes.get(b.quoteUuid);
      if (!quote) return errors(422, [notValid("quoteUuid", "Quote not found.", b.quoteUuid)]);
      if (quote.usedBy)
        return errors(422, [{ code: "NOT_VALID", message: "This quote is already used by another transfer.", path: "quoteUuid", arguments: ["quoteUuid", b.quoteUuid] }]);
      if (Date.now() - quote.createdAt > 30 * 60_000)
        return errors(422, [{ code: "NOT_VALID", message: "This quote has expired.", path: "quoteUuid", arguments: ["quoteUuid", b.quoteUuid] }]);
      const recipient = recipients.get(Number(b.targetAccount));
      if (!recipient || recipient.currency !== quote.targetCurrency)
        return errors(422, [notValid("targetAccount", "The recipient does not receive this quote's currency.", b.targetAccount)]);
      const transfer: Transfer = {
        id: (nextId += 1),
        user: 1,
        targetAccount: recipient.id,
        sourceAccount: null,
        quote: null,
        quoteUuid: quote.id,
        status: "incoming_payment_waiting",
        reference: b.details?.reference ?? "",
        rate: quote.rate,
        created: new Date().toISOString().replace("T", " ").slice(0, 19),
        business: Number(profileId),
        details: { reference: b.details?.reference ?? "" },
        hasActiveIssues: false,
        sourceCurrency: quote.sourceCurrency,
        sourceValue: quote.sourceAmount,
        targetCurrency: quote.targetCurrency,
        targetValue: quote.targetAmount,
        customerTransactionId: b.customerTransactionId,
      };
      quote.usedBy = transfer.id;
      transfers.set(transfer.id, transfer);
      byCustomerTransactionId.set(b.customerTransactionId, transfer.id);
      return { status: 200, body: transfer };
    }
    match = /^\/v3\/profiles\/(\d+)\/transfers\/(\d+)\/payments$/.exec(path);
    if (match && method === "POST") {
      const transfer = transfers.get(Number(match[2]));
      if (!transfer || match[1] !== profileId) return system(404, "Not Found", "Transfer not found", path);
      if (stand.requireSca && !request.headers["x-signature"]) {
        return { ...system(403, "Forbidden", "You are forbidden to send this request", path), headers: { "x-2fa-approval-result": "REJECTED", "x-2fa-approval": randomUUID() } };
      }
      if (transfer.status !== "incoming_payment_waiting") return errors(409, [{ code: "transfer.already.funded", message: "This transfer is not waiting for a payment." }]);
      const balance = new Decimal(balances.get(transfer.sourceCurrency) ?? "0");
      if (balance.lessThan(String(transfer.sourceValue)))
        return { status: 201, body: { type: request.body?.type ?? "BALANCE", status: "REJECTED", errorCode: "balance.payment-option-unavailable" } };
      balances.set(transfer.sourceCurrency, balance.minus(String(transfer.sourceValue)).toFixed(2));
      await changeState(transfer, "processing");
      return { status: 201, body: { type: request.body?.type ?? "BALANCE", status: "COMPLETED", errorCode: null } };
    }
    match = /^\/v1\/transfers\/(\d+)(\/cancel)?$/.exec(path);
    if (match) {
      const transfer = transfers.get(Number(match[1]));
      if (!transfer) return system(404, "Not Found", "Transfer not found", path);
      if (match[2] && method === "PUT") {
        if (transfer.status !== "incoming_payment_waiting")
          return errors(409, [{ code: "transfer.cancellation.not.allowed", message: "Only unfunded transfers can be cancelled." }]);
        await changeState(transfer, "cancelled");
      }
      return { status: 200, body: transfer };
    }
    match = /^\/v1\/simulation\/transfers\/(\d+)\/([a-z_]+)$/.exec(path);
    if (match && method === "GET") {
      const transfer = transfers.get(Number(match[1]));
      if (!transfer) return system(404, "Not Found", "Transfer not found", path);
      await changeState(transfer, match[2]!);
      return { status: 200, body: transfer };
    }
    return system(404, "Not Found", "No message available", path);
  }

  const http = await startHttpStandIn(handle, (fault) =>
    fault === "429"
      ? {
          status: 429,
          body: { timestamp: new Date().toISOString(), status: 429, error: "Too Many Requests", message: "Rate limit exceeded", path: "" },
          headers: { "retry-after": "1" },
        }
      : system(Number(fault), fault === "500" ? "Internal Server Error" : "Service Unavailable", "Something went wrong", ""),
  );

  const stand: WiseStandIn = Object.assign(http, {
    token,
    profileId,
    webhookPublicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
    recipients,
    transfers,
    quotes,
    balances,
    requireSca: false,
    listener: undefined as string | undefined,
    subscriptions: 1,
    holdDeliveries: false,
    deliveries: [] as WiseStandIn["deliveries"],
    async releaseHeld(order?: "reverse") {
      const list = held.splice(0);
      stand.holdDeliveries = false;
      for (const body of order === "reverse" ? list.reverse() : list) await send(body);
    },
    async simulate(transferId: number, state: string) {
      await fetch(`${http.url}/v1/simulation/transfers/${transferId}/${state}`, { headers: { authorization: `Bearer ${token}` } });
    },
    sign,
    transferByKey: (id: string) => transfers.get(byCustomerTransactionId.get(id) ?? -1),
  });
  return stand;
}
