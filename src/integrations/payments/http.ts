import { PaymentProviderError, retryAfterMs } from "./provider-error.ts";

/**
 * The HTTP plumbing the PayPal and Wise connectors share (Stripe's SDK has its
 * own): a timeout on every request, errors sorted into PaymentProviderError
 * kinds, and bounded retries with backoff that keep the idempotency key.
 */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  /** Longest wait between tries; a Retry-After above it is left to the caller (the outbox), not slept through. */
  maxDelayMs: number;
}

export interface ConnectorOptions {
  baseUrl: string;
  timeoutMs: number;
  retry: RetryPolicy;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 500, maxDelayMs: 5_000 };

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with jitter: between half and one and a half of base·2^(attempt−1), capped. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.min(policy.maxDelayMs, Math.round(exponential * (0.5 + random())));
}

/**
 * Runs `call` until it succeeds, fails for a reason a retry cannot fix, or
 * has been tried `policy.attempts` times. Every try is the same request
 * (same idempotency key), so a try that reached the provider before its
 * answer was lost is answered from the provider's record, not done again.
 */
export async function withRetries<T>(options: Pick<ConnectorOptions, "retry" | "sleep" | "random">, call: (attempt: number) => Promise<T>): Promise<T> {
  const sleep = options.sleep ?? realSleep;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call(attempt);
    } catch (error) {
      if (!(error instanceof PaymentProviderError) || error.kind !== "retryable" || attempt >= options.retry.attempts) throw error;
      if (error.retryAfterMs !== undefined && error.retryAfterMs > options.retry.maxDelayMs) throw error;
      await sleep(Math.max(error.retryAfterMs ?? 0, backoffMs(options.retry, attempt, options.random)));
    }
  }
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: any;
}

/** One request with a timeout; a timeout or a broken connection is retryable (the request may or may not have been applied). */
export async function send(options: ConnectorOptions, provider: string, path: string, init: RequestInit): Promise<HttpAnswer> {
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(`${options.baseUrl}${path}`, { ...init, signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (error) {
    throw new PaymentProviderError(`${provider} did not answer (${(error as Error).name})`, "retryable");
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw new PaymentProviderError(`${provider}'s answer was cut off (${(error as Error).name})`, "retryable", response.status);
  }
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: response.status, headers: response.headers, body };
}

/** An error answer as a PaymentProviderError: 401 unauthorized; 408, 409, 429 and 5xx retryable; other 4xx permanent. */
export function errorOf(provider: string, answer: HttpAnswer, summary: string, code?: string): PaymentProviderError {
  const { status } = answer;
  if (status === 401) return new PaymentProviderError(`${provider} refused the credentials (${summary})`, "unauthorized", status, undefined, code);
  if (status === 408 || status === 409 || status === 429 || status >= 500) {
    return new PaymentProviderError(`${provider} is unavailable (${summary})`, "retryable", status, retryAfterMs(answer.headers.get("retry-after")), code);
  }
  return new PaymentProviderError(`${provider} refused the request (${summary})`, "permanent", status, undefined, code);
}
