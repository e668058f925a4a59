import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * What the payment-rail stand-ins (paypal-, wise-, stripe-stand-in.ts) share:
 * a real HTTP server on a random port, a record of every request, and faults
 * on demand. A fault applies to the next `count` requests that match:
 * - "500", "503", "429": answered with that status (and the provider's error
 *   body, Retry-After on 429) without doing anything;
 * - "down": the connection is cut before the request is read (nothing done);
 * - "drop-after-accept": the request is carried out, then the connection is
 *   cut before the answer (the crash that idempotency keys exist for);
 * - "slow-after-accept": carried out, and the answer held until the client
 *   gives up (a timeout on the client's side, however slow the machine).
 */
export type Fault = "500" | "503" | "429" | "down" | "drop-after-accept" | "slow-after-accept";

export interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: any;
}

export interface Answer {
  status: number;
  body?: unknown;
  /** Sent as is (byte-identical replays). */
  text?: string;
  headers?: Record<string, string>;
}

export interface HttpStandIn {
  url: string;
  requests: Recorded[];
  /** The next `count` requests matching `match` meet `fault`. */
  failNext(fault: Fault, count?: number, match?: (r: Recorded) => boolean): void;
  /** How many requests matching `match` were made. */
  count(match: (r: Recorded) => boolean): number;
  close(): Promise<void>;
}

export async function startHttpStandIn(
  handle: (request: Recorded) => Promise<Answer> | Answer,
  errorAnswer: (fault: "500" | "503" | "429") => Answer,
  parseBody: (raw: string, contentType: string) => unknown = (raw, type) => (raw && type.includes("json") ? JSON.parse(raw) : raw),
): Promise<HttpStandIn> {
  const requests: Recorded[] = [];
  const faults: { fault: Fault; match: (r: Recorded) => boolean; left: number }[] = [];

  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: unknown = raw;
    try {
      body = parseBody(raw, String(req.headers["content-type"] ?? ""));
    } catch {
      // keep the text: the handler answers it as malformed
    }
    const recorded: Recorded = { method: req.method ?? "GET", path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, raw, body };
    requests.push(recorded);
    const fault = faults.find((f) => f.left > 0 && f.match(recorded));
    if (fault) fault.left -= 1;
    const write = (answer: Answer) => {
      res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      res.end(answer.text ?? (answer.body === undefined ? "" : JSON.stringify(answer.body)));
    };
    if (fault?.fault === "down") return void req.socket.destroy();
    if (fault?.fault === "500" || fault?.fault === "503" || fault?.fault === "429") return write(errorAnswer(fault.fault));
    let answer: Answer;
    try {
      answer = await handle(recorded);
    } catch (error) {
      answer = { status: 500, body: { error: `stand-in failed: ${(error as Error).message}` } };
    }
    if (fault?.fault === "drop-after-accept") return void req.socket.destroy();
    if (fault?.fault === "slow-after-accept") {
      if (!req.socket.destroyed) await once(req.socket, "close");
      return;
    }
    write(answer);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    failNext(fault, count = 1, match = () => true) {
      faults.push({ fault, match, left: count });
    },
    count: (match) => requests.filter(match).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Posts a webhook the way a provider does, answering with what the listener said. */
export async function deliver(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  return { status: response.status, text: await response.text() };
}
