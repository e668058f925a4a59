import { createVerify, X509Certificate } from "node:crypto";
import { crc32 } from "node:zlib";
import { WebhookRejected } from "../provider-error.ts";
import type { WebhookHeaders } from "../payout-provider.ts";

/**
 * PayPal's webhook signature, checked here without a call to PayPal
 * (reference [P10], the self-verification PayPal's SDKs did before they
 * called verify-webhook-signature [P11]): PayPal signs
 * `transmission_id|transmission_time|webhook_id|crc32(raw body)` (the CRC as
 * an unsigned decimal) with SHA256withRSA, under the certificate at
 * PAYPAL-CERT-URL. The webhook id is our listener's, so an event signed for
 * another listener does not verify here.
 *
 * The certificate URL comes from the request, so it is trusted only on
 * PayPal's own API hosts (anyone can host a certificate elsewhere); the
 * certificate must be current. Certificates are cached by URL.
 */
export interface PayPalSignatureOptions {
  webhookId: string;
  /** Origins a certificate may come from (PayPal's API hosts for the environment). */
  certOrigins: readonly string[];
  fetch?: typeof fetch;
  now?: () => Date;
  timeoutMs?: number;
}

const certificates = new Map<string, X509Certificate>();

const header = (headers: WebhookHeaders, name: string): string | undefined => {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
};

async function certificateAt(url: string, options: PayPalSignatureOptions): Promise<X509Certificate> {
  const cached = certificates.get(url);
  if (cached) return cached;
  let pem: string;
  try {
    const response = await (options.fetch ?? fetch)(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    pem = await response.text();
  } catch (error) {
    // Not the sender's fault, and PayPal retries a delivery we do not acknowledge.
    throw new Error(`PayPal's signing certificate could not be fetched (${(error as Error).message})`);
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    throw new WebhookRejected("PAYPAL-CERT-URL does not hold a certificate", 401);
  }
  if (certificates.size > 50) certificates.clear();
  certificates.set(url, certificate);
  return certificate;
}

export async function verifyPayPalSignature(raw: Buffer, headers: WebhookHeaders, options: PayPalSignatureOptions): Promise<void> {
  const transmissionId = header(headers, "paypal-transmission-id");
  const transmissionTime = header(headers, "paypal-transmission-time");
  const signature = header(headers, "paypal-transmission-sig");
  const certUrl = header(headers, "paypal-cert-url");
  const algorithm = header(headers, "paypal-auth-algo");
  if (!transmissionId || !transmissionTime || !signature || !certUrl || !algorithm) throw new WebhookRejected("PayPal's signature headers are missing", 401);
  if (algorithm !== "SHA256withRSA") throw new WebhookRejected(`unsupported PAYPAL-AUTH-ALGO ${algorithm}`, 401);
  let url: URL;
  try {
    url = new URL(certUrl);
  } catch {
    throw new WebhookRejected("PAYPAL-CERT-URL is not a URL", 401);
  }
  if (!options.certOrigins.includes(url.origin) || !url.pathname.startsWith("/v1/notifications/certs/") || url.search || url.username) {
    throw new WebhookRejected("PAYPAL-CERT-URL is not on PayPal's API host", 401);
  }
  const certificate = await certificateAt(url.toString(), options);
  const now = (options.now ?? (() => new Date()))();
  if (now < new Date(certificate.validFrom) || now > new Date(certificate.validTo)) throw new WebhookRejected("PayPal's signing certificate is not valid now", 401);
  const message = `${transmissionId}|${transmissionTime}|${options.webhookId}|${crc32(raw)}`;
  const valid = createVerify("RSA-SHA256").update(message).verify(certificate.publicKey, signature, "base64");
  if (!valid) throw new WebhookRejected("PayPal's signature does not match", 401);
}
