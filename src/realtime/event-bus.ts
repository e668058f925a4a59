import { randomUUID } from "node:crypto";
import { createPubSub, type PubSub, type PubSubEventTarget } from "graphql-yoga";
import type { Redis } from "ioredis";
import type { Logger } from "../logger.ts";
import type { CommittedEvent, EventPublisher } from "../services/events.ts";

/**
 * The bus's two channels, typed for graphql-yoga's createPubSub: the partner
 * channel is keyed by "<program>:<partner>", the program channel by the
 * program, so the topics on the event targets (and Redis channels) read
 * accrue:partner:<program>:<partner> and accrue:program:<program>. An event
 * goes to both (one without a partner to its program's only).
 */
type Channels<T> = {
  "accrue:partner": [id: `${string}:${string}`, payload: T];
  "accrue:program": [id: string, payload: T];
};

export const partnerTopic = (programId: string, partnerId: string) => `accrue:partner:${programId}:${partnerId}` as const;
export const programTopic = (programId: string) => `accrue:program:${programId}` as const;

/**
 * What a feed is told of fan-out: "down" and "up" when this instance's own
 * subscription to Redis went away or came back (either may have lost events:
 * its clients resume from their cursors); "missed" when another instance
 * could not fan out some events it committed and can again (they are in the
 * event table: the feed checks it now, and its client notices nothing).
 */
export type Disruption = "down" | "up" | "missed";

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
   * Told when fan-out may have lost events (Redis went away or came back,
   * or another instance could not publish): live subscribers then catch up
   * from the event table.
   */
  onDisruption(listener: (what: Disruption) => void): () => void;
  close(): Promise<void>;
}

type Target<T> = PubSubEventTarget<Channels<T>>;

/** What subscribing needs of a Target (stated apart: TypeScript cannot resolve the pubsub's detail type for a generic T). */
interface Listenable<T> {
  addEventListener(topic: string, listener: (event: { detail: T }) => void): void;
  removeEventListener(topic: string, listener: (event: { detail: T }) => void): void;
}

/** Each event to its partner's topic (when it has a partner) and its program's, carrying `detail`. */
function publishTo<T>(pubsub: PubSub<Channels<T>>, event: CommittedEvent, detail: T): void {
  if (event.partnerId) pubsub.publish("accrue:partner", `${event.programId}:${event.partnerId}`, detail);
  pubsub.publish("accrue:program", event.programId, detail);
}

/** JSON on every path, so in-process subscribers see what Redis ones see. */
const asJson = (event: CommittedEvent) => JSON.parse(JSON.stringify(event)) as CommittedEvent;

/**
 * Subscribing listens on the event target directly rather than through
 * pubsub.subscribe: that returns a Repeater which attaches its listener only
 * once iterated, and buffers without bound, while a feed needs its listener
 * attached before it reads its starting position, and its own bounded queue
 * (BoundedQueue) to tell a client that fell behind.
 */
function subscribeTo<T>(target: Listenable<T>, topic: string, listener: (detail: T) => void): () => void {
  const handler = (event: { detail: T }) => listener(event.detail);
  target.addEventListener(topic, handler);
  return () => target.removeEventListener(topic, handler);
}

const nothing = () => undefined;

/**
 * In one process: events reach this instance's subscribers only. An event
 * neither of whose topics has a subscriber here is not copied nor
 * dispatched: nobody could receive it (a batch of 500 sales publishes 550).
 */
export function createInProcessEventBus(): EventBus {
  const local: Target<CommittedEvent> = new EventTarget();
  const pubsub = createPubSub<Channels<CommittedEvent>>({ eventTarget: local });
  /** Subscriptions per topic. */
  const listening = new Map<string, number>();
  const heard = (event: CommittedEvent) =>
    listening.has(programTopic(event.programId)) || (event.partnerId ? listening.has(partnerTopic(event.programId, event.partnerId)) : false);
  return {
    publish(events) {
      for (const event of events) if (heard(event)) publishTo(pubsub, event, asJson(event));
    },
    subscribe(topic, listener) {
      listening.set(topic, (listening.get(topic) ?? 0) + 1);
      const stop = subscribeTo(local, topic, listener);
      let subscribed = true;
      return {
        ready: Promise.resolve(),
        unsubscribe() {
          if (!subscribed) return;
          subscribed = false;
          stop();
          const left = listening.get(topic)! - 1;
          if (left > 0) listening.set(topic, left);
          else listening.delete(topic);
        },
      };
    },
    onDisruption: () => nothing,
    close: async () => {},
  };
}

/** The channel on which an instance whose publishes failed says, once it can publish again, that the others should check the event table. */
const RESYNC = "accrue:resync";

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
 *
 * The two connections come back on their own back-off (up to 2 s apart), and
 * an instance can lose Redis while the others keep it: an instance's
 * subscriber can be up while another's publisher is still down, and then
 * nothing tells its feeds of the events that publisher could not send. So an
 * instance whose publish failed says so on RESYNC once its publisher is back,
 * and every other instance's feeds check the event table (`missed`).
 */
export async function createRedisEventBus(url: string, logger: Logger): Promise<EventBus> {
  // Loaded only with REDIS_URL: a single instance never holds Redis's client (BENCHMARKS.md, "Idle server").
  const [{ Redis }, { createRedisEventTarget }] = await Promise.all([import("ioredis"), import("@graphql-yoga/redis-event-target")]);
  const origin = randomUUID();
  const local: Target<CommittedEvent> = new EventTarget();
  const localPubSub = createPubSub<Channels<CommittedEvent>>({ eventTarget: local });
  const publisher = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
  const subscriber = new Redis(url, { maxRetriesPerRequest: null, enableOfflineQueue: true });
  /** Whether a publish failed since the publisher was last (re)connected: the other instances are owed a RESYNC. */
  let missed = false;
  const disruptions = new Set<(what: Disruption) => void>();
  const tell = (what: Disruption) => {
    for (const listener of disruptions) listener(what);
  };
  /** "connecting" until the first connection; a first connection loses nothing, so only later ones are told. */
  let state: "connecting" | "up" | "down" = "connecting";
  /**
   * Subscriptions waiting for Redis to confirm their channel, each released
   * by the confirmation or, all at once, when fan-out goes down (nothing
   * waits on an outage). Only those still waiting are held: racing each
   * subscription's confirmation against one long-lived "down" promise left
   * a reaction on that promise for every subscription ever made while Redis
   * stayed up (about 350 bytes each, never freed: test/realtime/event-bus.test.ts).
   */
  const waiting = new Set<() => void>();
  publisher.on("error", (error) => logger.debug({ err: error }, "redis publisher error"));
  publisher.on("ready", () => {
    if (!missed) return;
    missed = false;
    logger.info("redis publishing is back; telling the other instances to check the event table");
    publisher.publish(RESYNC, origin).catch(() => (missed = true));
  });
  // Subscribed apart from the event target: its messages are not events. ioredis subscribes again on reconnect.
  subscriber.subscribe(RESYNC).catch((error: unknown) => logger.warn({ err: error }, "redis subscribe failed"));
  subscriber.on("message", (channel: string, from: string) => {
    if (channel === RESYNC && from !== origin) tell("missed");
  });
  subscriber.on("error", (error) => logger.debug({ err: error }, "redis subscriber error"));
  subscriber.on("ready", () => {
    if (state === "up") return;
    const was = state;
    state = "up";
    logger.info("redis fan-out connected");
    if (was === "down") tell("up");
  });
  subscriber.on("close", () => {
    if (state === "down") return;
    const was = state;
    state = "down";
    for (const release of waiting) release();
    waiting.clear();
    if (was === "up") {
      logger.warn("redis fan-out lost; subscribers will catch up from the event table");
      tell("down");
    }
  });

  /** Per channel, Redis's confirmation of the SUBSCRIBE sent for it. */
  const confirmed = new Map<string, Promise<unknown>>();
  const target: Target<Envelope> = createRedisEventTarget<CustomEvent<Envelope>>({
    publishClient: {
      publish: (channel: string, message: string) =>
        publisher.publish(channel, message).catch((error: unknown) => {
          logger.debug({ err: error, channel }, "redis publish failed; the event stays in the event table");
          missed = true;
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
  });
  const remote = createPubSub<Channels<Envelope>>({ eventTarget: target });

  return {
    publish(events) {
      for (const event of events) {
        const detail = asJson(event);
        publishTo(localPubSub, event, detail);
        publishTo(remote, event, { origin, event: detail });
      }
    },
    subscribe(topic, listener) {
      const stopLocal = subscribeTo(local, topic, listener);
      const stopRemote = subscribeTo(target, topic, (envelope) => {
        if (envelope.origin !== origin) listener(envelope.event);
      });
      const confirmation = confirmed.get(topic);
      const ready =
        state === "down" || !confirmation
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              const release = () => {
                waiting.delete(release);
                resolve();
              };
              waiting.add(release);
              void confirmation.then(release);
            });
      return {
        ready,
        unsubscribe() {
          stopLocal();
          stopRemote();
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
