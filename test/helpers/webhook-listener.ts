import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ProviderEvent, WebhookHeaders } from "../../src/integrations/payments/payout-provider.ts";
import { WebhookRejected } from "../../src/integrations/payments/provider-error.ts";

/**
 * A bare webhook listener for connector tests: it hands each delivery to a
 * connector's parseWebhook and answers as accrue's endpoint does (200, or the
 * rejection's 400/401), keeping what it heard.
 */
export interface Listener {
  url: string;
  heard: { status: number; events: ProviderEvent[]; error?: string }[];
  events(): ProviderEvent[];
  close(): Promise<void>;
}

export async function startListener(parse: (raw: Buffer, headers: WebhookHeaders) => Promise<ProviderEvent[]>): Promise<Listener> {
  const heard: Listener["heard"] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const events = await parse(Buffer.concat(chunks), req.headers);
      heard.push({ status: 200, events });
      res.statusCode = 200;
    } catch (error) {
      const status = error instanceof WebhookRejected ? error.status : 500;
      heard.push({ status, events: [], error: (error as Error).message });
      res.statusCode = status;
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`,
    heard,
    events: () => heard.flatMap((h) => h.events),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
