import { createClient as createFeedClient, MessageType, type Client as FeedClient, type Message } from "graphql-ws";
import { cacheExchange, Client, fetchExchange } from "urql";

export type ConnectionState = "connecting" | "live" | "reconnecting";

export interface ApiClients {
  api: Client;
  feed: FeedClient;
}

/**
 * One HTTP client for queries and mutations and one graphql-ws socket for the
 * live feed, both on accrue's public /graphql endpoint, both reading the
 * current token when they send (so a refreshed token is used at once).
 *
 * The state is "live" once a feed on the socket has said STARTED, not when
 * the socket connects: a feed's position is read after its subscribe
 * message, and only what commits after STARTED is sure to arrive (README,
 * "Every subscription begins with a STARTED event"). Until then, and again
 * after the socket drops until the resumed feed has started, it is
 * "connecting" or "reconnecting".
 */
export function createApiClients(getToken: () => string, onState: (state: ConnectionState) => void): ApiClients {
  const api = new Client({
    url: "/graphql",
    exchanges: [cacheExchange, fetchExchange],
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { authorization: `Bearer ${getToken()}` } }),
  });
  const wsUrl = `${window.location.protocol === "https:" ? "wss" : "ws"}://${window.location.host}/graphql`;
  let everConnected = false;
  const feed = createFeedClient({
    url: wsUrl,
    lazy: true,
    connectionParams: () => ({ authorization: `Bearer ${getToken()}` }),
    // Keep trying: the feed resumes from its cursor, so nothing is lost while away.
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** retries, 8_000) * (0.75 + Math.random() / 2))),
    on: {
      connecting: () => onState(everConnected ? "reconnecting" : "connecting"),
      connected: () => {
        everConnected = true;
      },
      message: (message) => {
        if (startedIn(message)) onState("live");
      },
      closed: () => {
        if (everConnected) onState("reconnecting");
      },
    },
  });
  return { api, feed };
}

/** A feed's event in a result: its subscription field's first and only value. */
function eventIn<T>(data: Record<string, T> | null | undefined): T | undefined {
  return data ? Object.values(data)[0] : undefined;
}

/** Whether a message from the server is a feed's STARTED event. */
function startedIn(message: Message): boolean {
  if (message.type !== MessageType.Next) return false;
  return (eventIn(message.payload.data) as Partial<FeedEventLike> | null | undefined)?.type === "STARTED";
}

export interface FeedEventLike {
  type: string;
  cursor: string;
}

/**
 * Runs a subscription that resumes where it left off: every event's cursor
 * becomes the `after` of the subscribe message graphql-ws sends again when
 * it reconnects (it re-sends this same payload object), and a FELL_BEHIND
 * event, which ends the subscription, starts it again from its cursor. An
 * ENDED event (the token expired or was revoked) stops it. `onStarted` runs
 * when a feed that began without a cursor says STARTED: what committed
 * between the page's first reads and that point comes in no event, so the
 * page reads again.
 */
export function followFeed<T extends FeedEventLike>(
  feed: FeedClient,
  query: string,
  variables: Record<string, unknown>,
  onEvent: (event: T) => void,
  onError: (message: string) => void,
  onStarted: () => void = () => {},
): () => void {
  const payload = { query, variables: { ...variables, after: null as string | null } };
  let dispose = () => {};
  let stopped = false;
  const start = () => {
    dispose = feed.subscribe<Record<string, T>>(payload, {
      next: (result) => {
        const event = eventIn(result.data);
        if (event) {
          // STARTED comes first: `after` is still what this subscription was sent with.
          if (event.type === "STARTED" && payload.variables.after === null) onStarted();
          payload.variables.after = event.cursor;
          // STARTED only marks where the feed began; ENDED means the server
          // ended it for good (the token expired or was revoked): resubscribing
          // with the same token would be refused, so stop and say why.
          if (event.type === "ENDED") {
            stopped = true;
            onError("The live feed ended: sign in again to resume it.");
          } else if (event.type !== "FELL_BEHIND" && event.type !== "STARTED") onEvent(event);
        }
        if (result.errors?.length) onError(result.errors.map((error) => error.message).join("; "));
      },
      error: (error) => onError(error instanceof Error ? error.message : "The live feed stopped."),
      complete: () => {
        if (!stopped) start();
      },
    });
  };
  start();
  return () => {
    stopped = true;
    dispose();
  };
}
