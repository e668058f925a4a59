import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as z from "zod";
import type { QuickBooksClient } from "../integrations/quickbooks/client.ts";
import { completeQuickBooksConnect } from "../integrations/quickbooks/connection.ts";
import { CHECK_BILL_PAYMENT, enqueue } from "../services/accounting/enqueue.ts";
import type { ServiceDeps } from "../services/deps.ts";
import { transact } from "../services/transact.ts";

const MAX_WEBHOOK_BYTES = 1024 * 1024;

function page(res: ServerResponse, status: number, title: string, text: string): void {
  res.statusCode = status;
  res.setHeader("content-type", "text/html; charset=utf-8");
  res.setHeader("cache-control", "no-store");
  const html = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res.end(`<!doctype html><meta charset="utf-8"><title>${html(title)}</title><h1>${html(title)}</h1><p>${html(text)}</p>`);
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_WEBHOOK_BYTES) throw new Error("too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** intuit-signature: base64 of HMAC-SHA256 over the raw body with the app's verifier token. */
export function verifyIntuitSignature(raw: Buffer, signature: string | undefined, verifierToken: string): boolean {
  if (!signature) return false;
  const expected = createHmac("sha256", verifierToken).update(raw).digest();
  const given = Buffer.from(signature, "base64");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Intuit's change notification, as much of it as we read; a signed body of any other shape is refused (400). */
const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((value) => !value.includes("\0"), "contains a NUL character");
const WebhookPayload = z.object({
  eventNotifications: z
    .array(
      z.object({
        realmId: text(30).optional(),
        dataChangeEvent: z.object({ entities: z.array(z.object({ name: text(100).optional(), id: text(100).optional(), operation: text(100).optional() })).optional() }).optional(),
      }),
    )
    .optional(),
});

/**
 * /integrations/quickbooks/callback: where Intuit sends the admin back with
 * the authorization code. /webhooks/quickbooks: QuickBooks' signed change
 * notifications; a BillPayment queues a check (answered at once, the work
 * happens in the outbox, as Intuit asks).
 */
export function createQuickBooksHandler(deps: ServiceDeps, qbo: QuickBooksClient, verifierToken: string | undefined) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://quickbooks");
    try {
      if (url.pathname === "/integrations/quickbooks/callback" && req.method === "GET") {
        const code = url.searchParams.get("code");
        const state = url.searchParams.get("state");
        const realmId = url.searchParams.get("realmId");
        if (url.searchParams.get("error")) return page(res, 400, "QuickBooks was not connected", `Intuit answered: ${url.searchParams.get("error")}`);
        if (!code || !state || !realmId) return page(res, 400, "QuickBooks was not connected", "The link is missing its code, state or company.");
        const result = await completeQuickBooksConnect(deps, qbo, { code, state, realmId });
        if (!result.ok) return page(res, 400, "QuickBooks was not connected", result.errors[0]!.message);
        return page(res, 200, "QuickBooks is connected", "Approved payouts will be booked as bills. You can close this window.");
      }
      if (url.pathname === "/webhooks/quickbooks" && req.method === "POST") {
        if (!verifierToken) {
          res.statusCode = 404;
          return void res.end();
        }
        const raw = await body(req);
        if (!verifyIntuitSignature(raw, req.headers["intuit-signature"] as string | undefined, verifierToken)) {
          res.statusCode = 401;
          return void res.end();
        }
        const parsed = WebhookPayload.safeParse(JSON.parse(raw.toString("utf8")));
        if (!parsed.success) {
          res.statusCode = 400;
          return void res.end("not a QuickBooks change notification");
        }
        const payload = parsed.data;
        for (const notification of payload.eventNotifications ?? []) {
          const ids = (notification.dataChangeEvent?.entities ?? []).filter((e) => e.name === "BillPayment" && e.id && e.operation !== "Delete").map((e) => e.id!);
          if (!notification.realmId || ids.length === 0) continue;
          const connections = await deps.prisma.accountingConnection.findMany({ where: { realmId: notification.realmId, status: "CONNECTED" }, select: { programId: true } });
          for (const { programId } of connections) {
            await transact(deps, { role: "system", id: "quickbooks-webhook", programId }, (tx) => enqueue(tx, CHECK_BILL_PAYMENT, ids));
          }
        }
        res.statusCode = 200;
        return void res.end();
      }
      res.statusCode = 404;
      res.end();
    } catch (error) {
      deps.logger.error({ err: (error as Error).message, path: url.pathname }, "quickbooks endpoint failed");
      if (!res.headersSent) {
        res.statusCode = error instanceof SyntaxError ? 400 : 500;
        res.end();
      }
    }
  };
}
