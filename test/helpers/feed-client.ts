import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { graphql } from "../../src/generated/gql/index.ts";

export interface Subscription<T> {
  items: T[];
  errors: unknown[];
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
  const stop = client.subscribe<T>(
    { query: print(document), variables: variables as Record<string, unknown> },
    {
      next: (value) => {
        if (value.errors) errors.push(...value.errors);
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
    }
  }
`);
