import { randomUUID } from "node:crypto";
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import { Redis } from "ioredis";
import type { Logger } from "../logger.ts";
import type { CommittedEvent, EventPublisher } from "../services/events.ts";

/** Topics are per partner and per program; an event goes to both. */
export const partnerTopic = (programId: string, partnerId: string) => `accrue:partner:${programId}:${partnerId}`;
export const programTopic = (programId: string) => `accrue:program:${programId}`;

export type Disruption = "down" | "up";

export interface BusSubscription {
  /**
   * Resolves once the subscription is live everywhere it can be: at once in
   * one process; with Redis, when Redis has confirmed it, or when fan-out is
   * (or goes) down, so that nothing waits on an outage. A feed reads its
   * starting position only after this: an event another instance publishes
   * after that read reaches it.
   */
  ready: Promise<void>;
  unsubscribe(): void;
}

export interface EventBus extends EventPublisher {
  /** Calls `listener` once for every event published on `topic` (on any instance, with Redis). */
  subscribe(topic: string, listener: (event: CommittedEvent) => void): BusSubscription;
  /**
   * Told when fan-out may have lost events (Redis went away, or came back):
   * live subscribers then catch up from the event table.
   */
  onDisruption(listener: (what: Disruption) => void): () => void;
  close(): Promise<void>;
}

interface Target {
  addEventListener(topic: string, listener: (event: Event) => void): void;
  removeEventListener(topic: string, listener: (event: Event) => void): void;
  dispatchEvent(event: Event): boolean;
}

/** Each event to its partner's topic (when it has a partner) and its program's. */
function topicsOf(event: CommittedEvent): string[] {
  return event.partnerId ? [partnerTopic(event.programId, event.partnerId), programTopic(event.programId)] : [programTopic(event.programId)];
}

/** JSON on every path, so in-process subscribers see what Redis ones see. */
const asJson = (event: CommittedEvent) => JSON.parse(JSON.stringify(event)) as CommittedEvent;

function subscribeTo(target: Target, topic: string, listener: (event: CommittedEvent) => void): () => void {
  const handler = (event: Event) => listener((event as CustomEvent<CommittedEvent>).detail);
  target.addEventListener(topic, handler);
  return () => target.removeEventListener(topic, handler);
}

/** In one process: events reach this instance's subscribers only. */
export function createInProcessEventBus(): EventBus {
  const local = new EventTarget();
  return {
    publish(events) {
      for (const event of events) {
        const detail = asJson(event);
        for (const topic of topicsOf(event)) local.dispatchEvent(new CustomEvent(topic, { detail }));
      }
    },
    subscribe: (topic, listener) => ({ ready: Promise.resolve(), unsubscribe: subscribeTo(local, topic, listener) }),
    onDisruption: () => () => undefined,
    close: async () => {},
  };
}

/** A promise and its resolve (Promise.withResolvers is Node 22). */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

/** What goes over Redis: the event and the instance that published it (which has delivered it already). */
interface Envelope {
  origin: string;
  event: CommittedEvent;
}

/**
 * Across instances through Redis pub/sub (@graphql-yoga/redis-event-target).
 * An instance delivers its own events to its own subscribers directly, Redis
 * or not, and fans them out through Redis for the others; what comes back
 * from Redis with its own mark is dropped, so nothing is delivered twice.
 *
 * Wired to survive Redis going away: the event target neither awaits nor
 * catches its publish/subscribe calls, and ioredis's defaults would turn a
 * long outage into unhandled rejections that end the process. Here publishes
 * fail fast while Redis is down (the events stay in the event table, and
 * subscribers are told to catch up), the subscriber connection retries
 * forever and resubscribes when Redis is back.
 */
export function createRedisEventBus(url: string, logger: Logger): EventBus {
  const origin = randomUUID();
  const local = new EventTarget();
  const publisher = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
  const subscriber = new Redis(url, { maxRetriesPerRequest: null, enableOfflineQueue: true });
  const disruptions = new Set<(what: Disruption) => void>();
  const tell = (what: Disruption) => {
    for (const listener of disruptions) listener(what);
  };
  /** "connecting" until the first connection; a first connection loses nothing, so only later ones are told. */
  let state: "connecting" | "up" | "down" = "connecting";
  /** Resolved while fan-out is down: subscriptions stop waiting for Redis to confirm them. */
  let down = signal();
  publisher.on("error", (error) => logger.debug({ err: error }, "redis publisher error"));
  subscriber.on("error", (error) => logger.debug({ err: error }, "redis subscriber error"));
  subscriber.on("ready", () => {
    if (state === "up") return;
    const was = state;
    state = "up";
    down = signal();
    logger.info("redis fan-out connected");
    if (was === "down") tell("up");
  });
  subscriber.on("close", () => {
    if (state === "down") return;
    const was = state;
    state = "down";
    down.resolve();
    if (was === "up") {
      logger.warn("redis fan-out lost; subscribers will catch up from the event table");
      tell("down");
    }
  });

  /** Per channel, Redis's confirmation of the SUBSCRIBE sent for it. */
  const confirmed = new Map<string, Promise<unknown>>();
  const target = createRedisEventTarget({
    publishClient: {
      publish: (channel: string, message: string) =>
        publisher.publish(channel, message).catch((error: unknown) => {
          logger.debug({ err: error, channel }, "redis publish failed; the event stays in the event table");
          return 0;
        }),
    } as unknown as Redis,
    subscribeClient: {
      on: (event: string, listener: (...args: unknown[]) => void) => subscriber.on(event, listener),
      subscribe: (channel: string) => {
        const done = subscriber.subscribe(channel).catch((error: unknown) => logger.warn({ err: error, channel }, "redis subscribe failed"));
        confirmed.set(channel, done);
        return done;
      },
      unsubscribe: (channel: string) => {
        confirmed.delete(channel);
        return subscriber.unsubscribe(channel).catch(() => undefined);
      },
    } as unknown as Redis,
  }) as unknown as Target;

  return {
    publish(events) {
      for (const event of events) {
        const detail = asJson(event);
        for (const topic of topicsOf(event)) {
          local.dispatchEvent(new CustomEvent(topic, { detail }));
          target.dispatchEvent(new CustomEvent(topic, { detail: { origin, event: detail } satisfies Envelope }));
        }
      }
    },
    subscribe(topic, listener) {
      const stopLocal = subscribeTo(local, topic, listener);
      const handler = (message: Event) => {
        const envelope = (message as CustomEvent<Envelope>).detail;
        if (envelope.origin !== origin) listener(envelope.event);
      };
      target.addEventListener(topic, handler);
      const ready = state === "down" ? Promise.resolve() : Promise.race([confirmed.get(topic), down.promise]).then(() => undefined);
      return {
        ready,
        unsubscribe() {
          stopLocal();
          target.removeEventListener(topic, handler);
        },
      };
    },
    onDisruption(listener) {
      disruptions.add(listener);
      return () => disruptions.delete(listener);
    },
    async close() {
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
