import type { IncomingMessage, ServerResponse } from "node:http";
import type { PaymentProviderName } from "../integrations/payments/payout-provider.ts";
import { WebhookRejected } from "../integrations/payments/provider-error.ts";
import { receiveProviderEvents } from "../services/payment-providers/receive-provider-events.ts";
import type { ServiceDeps } from "../services/deps.ts";

/**
 * POST /webhooks/{paypal|wise|stripe}/<connection id>: each program's
 * provider connection has its own listener URL (shown to its admin), because
 * the signature is checked with that connection's secrets (PayPal's webhook
 * id, Stripe's signing secret; Wise's key is Wise's own).
 *
 * The answer tells the provider whether to deliver again: 200 once the
 * events are stored (a duplicate is stored once and still answered 200),
 * 401 for a signature that does not verify, 400 for a body that is not the
 * provider's, 404 for no such connected listener, 500 when we could not
 * store them (the provider retries).
 */
const PATH = /^\/webhooks\/(paypal|wise|stripe)\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i;
const MAX_BYTES = 1024 * 1024;

export function isPaymentWebhook(url: string | undefined): boolean {
  return /^\/webhooks\/(paypal|wise|stripe)(\/|\?|$)/.test(url ?? "");
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function answer(res: ServerResponse, status: number, body?: unknown): void {
  res.statusCode = status;
  res.setHeader("cache-control", "no-store");
  if (body === undefined) return void res.end();
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(body));
}

export async function handlePaymentWebhook(deps: ServiceDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://webhooks");
  const match = PATH.exec(url.pathname);
  try {
    if (req.method !== "POST") return answer(res, 405, { error: "webhooks are POSTed" });
    if (!match || !deps.paymentRails) return answer(res, 404, { error: "no such listener" });
    const provider = match[1]!.toUpperCase() as PaymentProviderName;
    const connection = await deps.prisma.paymentProviderConnection.findFirst({
      where: { id: match[2]!.toLowerCase(), provider, status: "CONNECTED" },
      select: { id: true, programId: true, provider: true, environment: true, credentials: true },
    });
    if (!connection) return answer(res, 404, { error: "no such listener" });
    const raw = await readBody(req);
    if (!raw) return answer(res, 413, { error: "too large" });
    let events;
    try {
      events = await deps.paymentRails.forConnection(connection).parseWebhook(raw, req.headers);
    } catch (error) {
      if (error instanceof WebhookRejected) return answer(res, error.status, { error: error.message });
      if (error instanceof SyntaxError) return answer(res, 400, { error: "not JSON" });
      throw error;
    }
    const { stored, duplicates } = await receiveProviderEvents(deps, connection, events);
    return answer(res, 200, { received: events.length, stored, duplicates });
  } catch (error) {
    deps.logger.error({ err: (error as Error).message, path: url.pathname }, "payment webhook failed");
    if (!res.headersSent) answer(res, 500);
  }
}
