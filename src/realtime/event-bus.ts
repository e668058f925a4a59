import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import { Redis } from "ioredis";
import type { Logger } from "../logger.ts";
import type { CommittedEvent, EventPublisher } from "../services/runtime.ts";

/** Topics are per partner and per program; an event goes to both. */
export const partnerTopic = (programId: string, partnerId: string) => `accrue:partner:${programId}:${partnerId}`;
export const programTopic = (programId: string) => `accrue:program:${programId}`;

export type Disruption = "down" | "up";

export interface EventBus extends EventPublisher {
  /** Calls `listener` for every event published on `topic` (on any instance, with Redis). */
  subscribe(topic: string, listener: (event: CommittedEvent) => void): () => void;
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

function busOver(target: Target, disruptions: Set<(what: Disruption) => void>, close: () => Promise<void>): EventBus {
  return {
    publish(events) {
      for (const event of events) {
        // JSON on both paths, so in-process subscribers see what Redis ones see.
        const detail = JSON.parse(JSON.stringify(event)) as CommittedEvent;
        if (event.partnerId) target.dispatchEvent(new CustomEvent(partnerTopic(event.programId, event.partnerId), { detail }));
        target.dispatchEvent(new CustomEvent(programTopic(event.programId), { detail }));
      }
    },
    subscribe(topic, listener) {
      const handler = (event: Event) => listener((event as CustomEvent<CommittedEvent>).detail);
      target.addEventListener(topic, handler);
      return () => target.removeEventListener(topic, handler);
    },
    onDisruption(listener) {
      disruptions.add(listener);
      return () => disruptions.delete(listener);
    },
    close,
  };
}

/** In one process: events reach this instance's subscribers only. */
export function createInProcessEventBus(): EventBus {
  return busOver(new EventTarget(), new Set(), async () => {});
}

/**
 * Across instances through Redis pub/sub (@graphql-yoga/redis-event-target),
 * wired to survive Redis going away: the event target neither awaits nor
 * catches its publish/subscribe calls, and ioredis's defaults would turn a
 * long outage into unhandled rejections that end the process. Here publishes
 * fail fast while Redis is down (the events stay in the event table, and
 * subscribers are told to catch up), the subscriber connection retries
 * forever and resubscribes when Redis is back.
 */
export function createRedisEventBus(url: string, logger: Logger): EventBus {
  const publisher = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
  const subscriber = new Redis(url, { maxRetriesPerRequest: null, enableOfflineQueue: true });
  const disruptions = new Set<(what: Disruption) => void>();
  const tell = (what: Disruption) => {
    for (const listener of disruptions) listener(what);
  };
  let connected = false;
  publisher.on("error", (error) => logger.debug({ err: error }, "redis publisher error"));
  subscriber.on("error", (error) => logger.debug({ err: error }, "redis subscriber error"));
  subscriber.on("ready", () => {
    if (connected) return;
    connected = true;
    logger.info("redis fan-out connected");
    tell("up");
  });
  subscriber.on("close", () => {
    if (!connected) return;
    connected = false;
    logger.warn("redis fan-out lost; subscribers will catch up from the event table");
    tell("down");
  });

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
      subscribe: (channel: string) => subscriber.subscribe(channel).catch((error: unknown) => logger.warn({ err: error, channel }, "redis subscribe failed")),
      unsubscribe: (channel: string) => subscriber.unsubscribe(channel).catch(() => undefined),
    } as unknown as Redis,
  }) as unknown as Target;

  return busOver(target, disruptions, async () => {
    publisher.disconnect();
    subscriber.disconnect();
  });
}
