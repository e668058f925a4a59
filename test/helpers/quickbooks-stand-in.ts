import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for QuickBooks Online (Accounting API v3 and Intuit OAuth
 * 2.0), answering with the fixtures' JSON shapes and keeping what it was
 * sent. It follows the published behaviour that matters to accrue: a
 * `requestid` replay returns the first response without creating anything,
 * DisplayNames are unique (fault 6240), `minorversion` is pinned, tokens
 * expire and rotate, BillPayments reduce their bill's Balance, and a delete
 * needs the current SyncToken and a bill without payments. Faults on
 * demand: 500, 429 with Retry-After, a timeout, and a crash after creating
 * (the entity exists, the response never comes).
 */
export const MINOR_VERSION = "75";
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/quickbooks/${name}.json`, import.meta.url), "utf8"));

type Fault = "500" | "429" | "timeout" | "crash-after-create";

export interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  body: any;
}

export interface StandIn {
  url: string;
  realmId: string;
  env: Record<string, string>;
  requests: Recorded[];
  vendors: Map<string, any>;
  bills: Map<string, any>;
  billPayments: Map<string, any>;
  vendorCredits: Map<string, any>;
  /** Names taken by customers and employees (DisplayName is unique across all). */
  takenNames: Set<string>;
  refuseNegativeLines: boolean;
  /** Runs after a create or delete is applied and before its answer goes back (what happens meanwhile elsewhere). */
  beforeAnswer?: (request: Recorded) => Promise<void>;
  refreshes: number;
  accessToken: string;
  refreshToken: string;
  /** The code Intuit's consent screen would hand back. */
  issueCode(): string;
  /** The next `count` requests matching `match` meet `fault`. */
  failNext(fault: Fault, count?: number, match?: (r: Recorded) => boolean): void;
  /** A permanent validation fault for requests matching `match`. */
  refuse(match: (r: Recorded) => boolean): void;
  expireAccessToken(): void;
  /** Someone pays a bill in QuickBooks. */
  payBill(billId: string, options?: { amount?: number; docNumber?: string; txnDate?: string }): any;
  /** Sends a signed change notification to `target`. */
  notify(target: string, entities: { name: string; id: string; operation?: string }[], signature?: string): Promise<Response>;
  close(): Promise<void>;
}

export async function startQuickBooksStandIn(): Promise<StandIn> {
  const clientId = "accrue-test-client";
  const clientSecret = "accrue-test-secret";
  const verifierToken = "accrue-test-verifier";
  const realmId = String(9130350000000000 + Math.floor(Math.random() * 1e6));
  let nextId = 100;
  const codes = new Set<string>();
  const replays = new Map<string, { status: number; body: unknown }>();
  const faults: { fault: Fault; match: (r: Recorded) => boolean; left: number }[] = [];
  const refusals: ((r: Recorded) => boolean)[] = [];
  const now = () => new Date().toISOString();
  const meta = () => ({ CreateTime: now(), LastUpdatedTime: now() });

  const state: Omit<StandIn, "url" | "env" | "issueCode" | "failNext" | "refuse" | "expireAccessToken" | "payBill" | "notify" | "close"> = {
    realmId,
    requests: [],
    vendors: new Map(),
    bills: new Map(),
    billPayments: new Map(),
    vendorCredits: new Map(),
    takenNames: new Set(),
    refuseNegativeLines: false,
    refreshes: 0,
    accessToken: "",
    refreshToken: "",
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };
  const faultBody = (name: string) => ({ ...fixture(name), time: now() });

  function tokens() {
    state.accessToken = `at-${randomBytes(12).toString("hex")}`;
    state.refreshToken = `rt-${randomBytes(12).toString("hex")}`;
    return { ...fixture("token"), access_token: state.accessToken, refresh_token: state.refreshToken };
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  function create(entity: string, body: any): { status: number; body: unknown } {
    const id = String((nextId += 1));
    switch (entity) {
      case "vendor": {
        const name = String(body.DisplayName ?? "");
        const taken = state.takenNames.has(name) || [...state.vendors.values()].some((v) => v.DisplayName === name);
        if (!name || taken) return { status: 400, body: faultBody("fault-duplicate-name") };
        const vendor = { ...fixture("vendor").Vendor, Id: id, DisplayName: name, MetaData: meta() };
        state.vendors.set(id, vendor);
        return { status: 200, body: { Vendor: vendor, time: now() } };
      }
      case "bill":
      case "vendorcredit": {
        if (!state.vendors.has(body?.VendorRef?.value)) return { status: 400, body: faultBody("fault-validation") };
        const lines = (body.Line ?? []) as { Amount: number }[];
        if (entity === "bill" && state.refuseNegativeLines && lines.some((l) => l.Amount < 0)) return { status: 400, body: faultBody("fault-negative-line") };
        const total = Math.round(lines.reduce((sum, l) => sum + l.Amount * 100, 0)) / 100;
        const key = entity === "bill" ? "Bill" : "VendorCredit";
        const record = { ...fixture(entity === "bill" ? "bill" : "vendor-credit")[key], ...body, Id: id, TotalAmt: total, Balance: total, MetaData: meta() };
        (entity === "bill" ? state.bills : state.vendorCredits).set(id, record);
        return { status: 200, body: { [key]: record, time: now() } };
      }
      case "billpayment": {
        for (const line of body.Line ?? []) {
          for (const linked of line.LinkedTxn ?? []) {
            const target = linked.TxnType === "Bill" ? state.bills.get(linked.TxnId) : state.vendorCredits.get(linked.TxnId);
            if (!target) return { status: 400, body: faultBody("fault-validation") };
            target.Balance = Math.round((target.Balance - line.Amount) * 100) / 100;
            target.SyncToken = String(Number(target.SyncToken) + 1);
            target.MetaData.LastUpdatedTime = now();
          }
        }
        const payment = { ...fixture("bill-payment").BillPayment, ...body, Id: id, MetaData: meta() };
        state.billPayments.set(id, payment);
        return { status: 200, body: { BillPayment: payment, time: now() } };
      }
      default:
        return { status: 400, body: faultBody("fault-validation") };
    }
  }

  /** `POST /<entity>?operation=delete` with the Id and current SyncToken; a bill with payments cannot go. */
  function remove(entity: string, body: any): { status: number; body: unknown } {
    const [key, store] = entity === "bill" ? ["Bill", state.bills] : entity === "vendorcredit" ? ["VendorCredit", state.vendorCredits] : [];
    const record = store?.get(String(body?.Id));
    if (!key || !store || !record) return { status: 400, body: faultBody("fault-validation") };
    if (String(body.SyncToken) !== record.SyncToken) return { status: 400, body: faultBody("fault-stale-object") };
    if (record.Balance !== record.TotalAmt) return { status: 400, body: faultBody("fault-linked-payments") };
    store.delete(record.Id);
    return { status: 200, body: { [key]: { ...fixture("bill-deleted").Bill, Id: record.Id }, time: now() } };
  }

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const raw = await readBody(req);
    const query = Object.fromEntries(url.searchParams);
    let body: any = raw;
    try {
      body = raw && req.headers["content-type"]?.includes("json") ? JSON.parse(raw) : raw;
    } catch {
      // keep the text
    }
    const recorded: Recorded = { method: req.method ?? "GET", path: url.pathname, query, body };
    state.requests.push(recorded);

    // OAuth 2.0
    if (url.pathname === "/oauth2/v1/tokens/bearer") {
      if (req.headers.authorization !== `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`) return send(res, 401, { error: "invalid_client" });
      const form = new URLSearchParams(raw);
      if (form.get("grant_type") === "authorization_code" && codes.delete(form.get("code") ?? "")) return send(res, 200, tokens());
      if (form.get("grant_type") === "refresh_token" && form.get("refresh_token") === state.refreshToken) {
        state.refreshes += 1;
        return send(res, 200, tokens());
      }
      return send(res, 400, { error: "invalid_grant" });
    }
    if (url.pathname === "/v2/oauth2/tokens/revoke") return send(res, 200, {});

    // Accounting API
    const match = /^\/v3\/company\/(\d+)\/(\w+)(?:\/(\w+))?$/.exec(url.pathname);
    if (!match || match[1] !== realmId) return send(res, 404, faultBody("fault-validation"));
    if (req.headers.authorization !== `Bearer ${state.accessToken}`) return send(res, 401, faultBody("fault-authentication"));
    if (query.minorversion !== MINOR_VERSION) return send(res, 400, faultBody("fault-validation"));
    const fault = faults.find((f) => f.left > 0 && f.match(recorded));
    if (fault) fault.left -= 1;
    if (fault?.fault === "500") return send(res, 500, faultBody("fault-system"));
    if (fault?.fault === "429") return send(res, 429, faultBody("fault-throttled"), { "retry-after": "2" });
    if (fault?.fault === "timeout") {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return send(res, 503, faultBody("fault-system"));
    }
    if (refusals.some((refuse) => refuse(recorded))) return send(res, 400, faultBody("fault-validation"));
    const [, , entity, id] = match;
    if (req.method === "POST") {
      const requestId = query.requestid;
      const operation = query.operation === "delete" ? "delete" : "create";
      const replay = requestId ? replays.get(`${entity}:${operation}:${requestId}`) : undefined;
      const result = replay ?? (operation === "delete" ? remove(entity!, body) : create(entity!, body));
      if (requestId && !replay) replays.set(`${entity}:${operation}:${requestId}`, result);
      await state.beforeAnswer?.(recorded);
      if (fault?.fault === "crash-after-create") return req.socket.destroy();
      return send(res, result.status, result.body);
    }
    if (entity === "query") {
      // `select * from <Entity> where <Field> = '<value>'`, the one form accrue sends.
      const parsed = /^select \* from (\w+) where (\w+) = '([^']*)'$/i.exec(query.query ?? "");
      const tables: Record<string, Map<string, any>> = { Vendor: state.vendors, Bill: state.bills, VendorCredit: state.vendorCredits };
      const table = parsed ? tables[parsed[1]!] : undefined;
      if (!parsed || !table) return send(res, 400, faultBody("fault-validation"));
      const rows = [...table.values()].filter((row) => String(row[parsed[2]!]) === parsed[3]);
      // QuickBooks answers an empty result with an empty QueryResponse.
      const { Vendor: _rows, ...paging } = fixture("query-vendor").QueryResponse;
      return send(res, 200, { QueryResponse: rows.length ? { [parsed[1]!]: rows, ...paging, maxResults: rows.length } : {}, time: now() });
    }
    if (entity === "cdc") {
      const since = Date.parse(query.changedSince ?? "");
      const changed = [...state.billPayments.values()].filter((p) => Date.parse(p.MetaData.LastUpdatedTime) >= since);
      const cdc = fixture("cdc");
      cdc.CDCResponse[0].QueryResponse[0] = { ...cdc.CDCResponse[0].QueryResponse[0], BillPayment: changed, maxResults: changed.length, totalCount: changed.length };
      return send(res, 200, { ...cdc, time: now() });
    }
    const stores: Record<string, [string, Map<string, any>]> = {
      bill: ["Bill", state.bills],
      billpayment: ["BillPayment", state.billPayments],
      vendor: ["Vendor", state.vendors],
      vendorcredit: ["VendorCredit", state.vendorCredits],
    };
    const store = stores[entity!];
    if (store && id && store[1].has(id)) return send(res, 200, { [store[0]]: store[1].get(id), time: now() });
    return send(res, 400, faultBody("fault-validation"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return Object.assign(state, {
    url,
    env: {
      QBO_CLIENT_ID: clientId,
      QBO_CLIENT_SECRET: clientSecret,
      QBO_API_BASE_URL: url,
      QBO_AUTHORIZE_URL: `${url}/connect/oauth2`,
      QBO_TOKEN_URL: `${url}/oauth2/v1/tokens/bearer`,
      QBO_REVOKE_URL: `${url}/v2/oauth2/tokens/revoke`,
      QBO_WEBHOOK_VERIFIER_TOKEN: verifierToken,
      QBO_MINOR_VERSION: MINOR_VERSION,
      QBO_TIMEOUT_MS: "800",
      ACCRUE_SCHEDULER: "0",
    },
    issueCode() {
      const code = `code-${randomBytes(6).toString("hex")}`;
      codes.add(code);
      return code;
    },
    failNext(fault: Fault, count = 1, match: (r: Recorded) => boolean = () => true) {
      faults.push({ fault, match, left: count });
    },
    refuse(match: (r: Recorded) => boolean) {
      refusals.push(match);
    },
    expireAccessToken() {
      state.accessToken = `expired-${randomBytes(4).toString("hex")}`;
    },
    payBill(billId: string, options: { amount?: number; docNumber?: string; txnDate?: string } = {}) {
      const bill = state.bills.get(billId)!;
      const amount = options.amount ?? bill.Balance;
      const result = create("billpayment", {
        VendorRef: bill.VendorRef,
        PayType: "Check",
        TotalAmt: amount,
        TxnDate: options.txnDate ?? new Date().toISOString().slice(0, 10),
        DocNumber: options.docNumber ?? "CHK-1001",
        Line: [{ Amount: amount, LinkedTxn: [{ TxnId: billId, TxnType: "Bill" }] }],
      });
      return (result.body as { BillPayment: unknown }).BillPayment;
    },
    async notify(target: string, entities: { name: string; id: string; operation?: string }[], signature?: string) {
      const payload = JSON.stringify({
        eventNotifications: [{ realmId, dataChangeEvent: { entities: entities.map((e) => ({ operation: "Create", lastUpdated: now(), ...e })) } }],
      });
      return fetch(target, {
        method: "POST",
        headers: { "content-type": "application/json", "intuit-signature": signature ?? createHmac("sha256", verifierToken).update(payload).digest("base64") },
        body: payload,
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
