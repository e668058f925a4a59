import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { graphql } from "../../src/generated/gql/index.ts";

export interface Subscription<T> {
  /** What the feed sent after its STARTED event. */
  items: T[];
  errors: unknown[];
  /**
   * The feed's acknowledgement: resolves with the STARTED event's cursor
   * (everything committed from then on arrives); rejects if the
   * subscription ends or fails first.
   */
  started: Promise<string>;
  /** Resolves once `count` items arrived (rejects after `ms`). */
  waitFor(count: number, ms?: number): Promise<T[]>;
  done: Promise<void>;
  stop(): void;
}

/** A graphql-ws client on the server's /graphql, with a token in connectionParams. */
export function feedClient(url: string, token: string, options: { retryAttempts?: number; onClose?: (code: number) => void } = {}): Client {
  return createClient({
    url: url.replace(/^http/, "ws") + "/graphql",
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: options.retryAttempts ?? 0,
    lazy: true,
    on: { closed: (event) => options.onClose?.((event as { code: number }).code) },
  });
}

export function subscribe<T, V>(client: Client, document: TypedDocumentNode<T, V>, variables: V): Subscription<T> {
  const items: T[] = [];
  const errors: unknown[] = [];
  const waiters: { count: number; resolve: (items: T[]) => void }[] = [];
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let acknowledge!: (cursor: string) => void;
  let refuse!: (error: Error) => void;
  const started = new Promise<string>((resolve, reject) => ((acknowledge = resolve), (refuse = reject)));
  started.catch(() => undefined); // awaited only by tests that expect a start
  void done.then(() => refuse(new Error(`the subscription ended before it started: ${JSON.stringify(errors)}`)));
  const stop = client.subscribe<T>(
    { query: print(document), variables: variables as Record<string, unknown> },
    {
      next: (value) => {
        if (value.errors) errors.push(...value.errors);
        const event = value.data ? (Object.values(value.data)[0] as { type?: string; cursor?: string } | null) : null;
        if (event?.type === "STARTED") return acknowledge(event.cursor!);
        if (value.data) items.push(value.data as T);
        for (const waiter of [...waiters]) {
          if (items.length >= waiter.count) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(items);
          }
        }
      },
      error: (error) => {
        errors.push(error);
        finish();
      },
      complete: () => finish(),
    },
  );
  return {
    items,
    errors,
    started,
    done,
    stop,
    waitFor(count, ms = 10_000) {
      if (items.length >= count) return Promise.resolve(items);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${count} items, got ${items.length}: ${JSON.stringify(errors)}`)), ms);
        waiters.push({ count, resolve: (got) => (clearTimeout(timer), resolve(got)) });
      });
    },
  };
}

export const PartnerFeedDoc = graphql(`
  subscription PartnerFeed($partnerId: ID, $after: String) {
    partnerEvents(partnerId: $partnerId, after: $after) {
      type cursor sequence partnerId
      commission { id status amount { amount currency } }
      balance { pending { amount } payable { amount } lifetimeEarned { amount } }
      payout { id status }
      fellBehind { reason dropped }
      ended { reason }
    }
  }
`);

export const ProgramFeedDoc = graphql(`
  subscription ProgramFeed($after: String) {
    programEvents(after: $after) { type cursor sequence partnerId commission { id status } balance { pending { amount } } fellBehind { reason } }
  }
`);

export interface SseSubscription {
  response: Response;
  /** The next event's `data` (a GraphQL result), or undefined when the stream ends. */
  next(): Promise<{ data?: any; errors?: unknown[] } | undefined>;
  close(): void;
}

/** A subscription over server-sent events (POST with `accept: text/event-stream`), read one event at a time. */
export async function sseSubscribe(url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<SseSubscription> {
  const controller = new AbortController();
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  const reader = response.body?.getReader();
  let buffer = "";
  return {
    response,
    async next() {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split("\n");
          const kind = lines
            .find((line) => line.startsWith("event:"))
            ?.slice(6)
            .trim();
          const data = lines
            .filter((line) => line.startsWith("data:"))
            .map((line) => line.slice(5).trim())
            .join("\n");
          if (kind === "complete") return undefined;
          if (data) return JSON.parse(data);
          continue; // a comment (keep-alive)
        }
        const chunk = await reader?.read();
        if (!chunk || chunk.done) return undefined;
        buffer += Buffer.from(chunk.value).toString();
      }
    },
    close: () => controller.abort(),
  };
}
