/**
 * How a provider call failed, sorted by what helps: "retryable" (an outage,
 * 429, 5xx, a timeout: the same request later, with the same idempotency
 * key), "unauthorized" (the credentials: an admin must reconnect) and
 * "permanent" (the request itself is wrong; retrying cannot help).
 */
export class PaymentProviderError extends Error {
  constructor(
    message: string,
    readonly kind: "retryable" | "unauthorized" | "permanent",
    readonly status?: number,
    /** What the provider asked for (Retry-After), when it did. */
    readonly retryAfterMs?: number,
    /** The provider's error code(s), for logs and reasons. */
    readonly code?: string,
  ) {
    super(message);
    this.name = "PaymentProviderError";
  }
}

/** A webhook that is not the provider's: 401 for a bad signature, 400 for a body we cannot read. */
export class WebhookRejected extends Error {
  constructor(
    message: string,
    readonly status: 400 | 401,
  ) {
    super(message);
    this.name = "WebhookRejected";
  }
}

export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
