import type { Decimal } from "decimal.js";
import * as z from "zod";
import { dec } from "../../domain/money.ts";
import type { Config } from "../../config.ts";

/**
 * A small client for the QuickBooks Online Accounting API (v3, JSON) and
 * Intuit's OAuth 2.0 endpoints, shaped by shared/reference: POSTs carry a
 * `requestid` so a retry returns the original response instead of creating
 * a duplicate; every call pins `minorversion`; faults are sorted into what a
 * retry may fix (429, 5xx, timeouts, the network), what a token refresh may
 * fix (401), and what it cannot (400 validation faults).
 */
export type QuickBooksConfig = Omit<Config["quickbooks"], "webhookVerifierToken">;

export interface QboFault {
  code: string;
  message: string;
  detail?: string;
}

export class QuickBooksError extends Error {
  constructor(
    message: string,
    readonly kind: "retryable" | "unauthorized" | "permanent",
    readonly status?: number,
    readonly retryAfterMs?: number,
    readonly faults: QboFault[] = [],
  ) {
    super(message);
    this.name = "QuickBooksError";
  }
}

export interface QboTokens {
  accessToken: string;
  refreshToken: string;
  /** Seconds the access token lives (about an hour). */
  expiresIn: number;
  /** Seconds the refresh token lives (about 100 days). */
  refreshTokenExpiresIn?: number;
}

/**
 * QuickBooks' JSON wants amounts as JSON numbers. Our amounts have at most 4
 * places and 15 digits, which a double prints back exactly; this checks it
 * rather than trusting it, at the one place a number is made.
 */
export function wireAmount(amount: Decimal): number {
  const value = Number(amount.toFixed());
  if (!dec(String(value)).equals(amount)) throw new Error(`amount ${amount.toFixed()} cannot travel as a JSON number exactly`);
  return value;
}

const SCOPE = "com.intuit.quickbooks.accounting";

/** Intuit's token endpoint's answer (authorization code and refresh alike). */
const TokenAnswer = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires_in: z.number().positive(),
  x_refresh_token_expires_in: z.number().positive().optional(),
});

function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

async function faultOf(response: Response): Promise<QuickBooksError> {
  const status = response.status;
  let faults: QboFault[] = [];
  try {
    const body = (await response.json()) as { Fault?: { Error?: { code?: string; Message?: string; Detail?: string }[] }; error?: string };
    faults = (body.Fault?.Error ?? []).map((e) => ({ code: String(e.code ?? ""), message: e.Message ?? "", detail: e.Detail }));
    if (faults.length === 0 && body.error) faults = [{ code: body.error, message: body.error }];
  } catch {
    // Not JSON: keep the status only.
  }
  const summary = faults.map((f) => `${f.code} ${f.message}${f.detail ? `: ${f.detail}` : ""}`).join("; ") || `HTTP ${status}`;
  if (status === 401) return new QuickBooksError(`QuickBooks refused the access token (${summary})`, "unauthorized", status, undefined, faults);
  if (status === 429 || status >= 500)
    return new QuickBooksError(`QuickBooks is unavailable (${summary})`, "retryable", status, retryAfter(response.headers.get("retry-after")), faults);
  return new QuickBooksError(`QuickBooks refused the request (${summary})`, "permanent", status, undefined, faults);
}

export function createQuickBooksClient(config: QuickBooksConfig, fetchImpl: typeof fetch = fetch) {
  async function send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetchImpl(url, { ...init, signal: AbortSignal.timeout(config.timeoutMs) });
    } catch (error) {
      // A timeout or a broken connection: the request may or may not have
      // been applied, which is why every create carries a requestid.
      throw new QuickBooksError(`QuickBooks did not answer (${(error as Error).name})`, "retryable");
    }
  }

  function basic(): string {
    if (!config.clientId || !config.clientSecret) throw new QuickBooksError("QuickBooks is not configured (QBO_CLIENT_ID, QBO_CLIENT_SECRET)", "permanent");
    return `Basic ${Buffer.from(`${config.clientId}:${config.clientSecret}`).toString("base64")}`;
  }

  async function token(form: Record<string, string>): Promise<QboTokens> {
    const response = await send(config.tokenUrl, {
      method: "POST",
      headers: { authorization: basic(), accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    });
    if (!response.ok) {
      const error = await faultOf(response);
      // A refused refresh token cannot be fixed by retrying: the admin must connect again.
      throw response.status === 400 || response.status === 401 ? new QuickBooksError(error.message, "permanent", response.status, undefined, error.faults) : error;
    }
    // Checked, not trusted: tokens that are not there must never be sealed and stored as `undefined`.
    const answer = TokenAnswer.safeParse(await response.json().catch(() => null));
    if (!answer.success) throw new QuickBooksError("QuickBooks answered the token request without tokens", "retryable", response.status);
    const body = answer.data;
    return { accessToken: body.access_token, refreshToken: body.refresh_token, expiresIn: body.expires_in, refreshTokenExpiresIn: body.x_refresh_token_expires_in };
  }

  return {
    configured: Boolean(config.clientId && config.clientSecret),
    authorizeUrl(state: string): string {
      const url = new URL(config.authorizeUrl);
      url.search = new URLSearchParams({ client_id: config.clientId ?? "", response_type: "code", scope: SCOPE, redirect_uri: config.redirectUri, state }).toString();
      return url.toString();
    },
    exchangeCode: (code: string) => token({ grant_type: "authorization_code", code, redirect_uri: config.redirectUri }),
    refresh: (refreshToken: string) => token({ grant_type: "refresh_token", refresh_token: refreshToken }),
    async revoke(tokenValue: string): Promise<void> {
      const response = await send(config.revokeUrl, {
        method: "POST",
        headers: { authorization: basic(), accept: "application/json", "content-type": "application/json" },
        body: JSON.stringify({ token: tokenValue }),
      });
      if (!response.ok) throw await faultOf(response);
    },
    /** The company's API with an access token. */
    company(realmId: string, accessToken: string) {
      const base = `${config.apiBaseUrl}/v3/company/${encodeURIComponent(realmId)}`;
      const headers = { authorization: `Bearer ${accessToken}`, accept: "application/json" };
      const withVersion = (params: Record<string, string>) => new URLSearchParams({ ...params, minorversion: String(config.minorVersion) }).toString();
      const post = (url: string, body: unknown) => send(url, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });
      const json = async <T>(response: Response): Promise<T> => {
        if (!response.ok) throw await faultOf(response);
        return (await response.json()) as T;
      };
      return {
        query: async <T>(sql: string): Promise<T> => json<T>(await send(`${base}/query?${withVersion({ query: sql })}`, { headers })),
        read: async <T>(entity: string, id: string): Promise<T> => json<T>(await send(`${base}/${entity}/${encodeURIComponent(id)}?${withVersion({})}`, { headers })),
        create: async <T>(entity: string, body: unknown, requestId: string): Promise<T> => json<T>(await post(`${base}/${entity}?${withVersion({ requestid: requestId })}`, body)),
        /** Deletes a transaction (QuickBooks wants its Id and current SyncToken; linked payments must go first). */
        remove: async <T>(entity: string, body: { Id: string; SyncToken: string }, requestId: string): Promise<T> =>
          json<T>(await post(`${base}/${entity}?${withVersion({ operation: "delete", requestid: requestId })}`, body)),
        changesSince: async <T>(entities: string[], since: Date): Promise<T> =>
          json<T>(await send(`${base}/cdc?${withVersion({ entities: entities.join(","), changedSince: since.toISOString() })}`, { headers })),
      };
    },
  };
}

export type QuickBooksClient = ReturnType<typeof createQuickBooksClient>;
