import { Repeater } from "@repeaterjs/repeater";
import type { ScopedPrisma } from "../db/tenant-scope.ts";
import type { CommittedEvent } from "../services/events.ts";
import { BoundedQueue } from "./bounded-queue.ts";
import type { EventBus } from "./event-bus.ts";

/** Why a feed ended before its client left. */
export type FeedEndReason = "TOKEN_EXPIRED" | "TOKEN_REVOKED";

/**
 * What a subscription yields: first `started` (the feed is live from
 * `cursor` on), then events, and possibly a last notice: the client fell
 * behind and must resume from `cursor`, or the feed ended and why.
 */
export type FeedItem =
  | { kind: "started"; cursor: string }
  | { kind: "event"; cursor: string; event: CommittedEvent }
  | { kind: "fell_behind"; cursor: string; reason: "QUEUE_FULL" | "FAN_OUT_INTERRUPTED"; dropped: number }
  | { kind: "ended"; cursor: string; reason: FeedEndReason };

export interface FeedStats {
  kind: "partner" | "program";
  queue: BoundedQueue<CommittedEvent>;
  delivered: number;
}

export interface FeedOptions {
  bus: EventBus;
  db: ScopedPrisma;
  programId: string;
  /** Live events queued per subscriber at most; beyond, the client is told it fell behind. */
  queueSize: number;
  /** Waits while the transport's send buffer is full (a client that does not read). */
  waitWritable?: () => Promise<void>;
  /** Ends the feed after this many milliseconds (the token's remaining life), with a last `ended` item. */
  endAfterMs?: number;
  /** Asked every `recheckMs` while the feed runs; the feed ends when it answers false (a revoked token), with a last `ended` item. */
  stillAllowed?: () => Promise<boolean>;
  recheckMs?: number;
  /**
   * How often the feed checks the event table for what it was not sent live
   * (a lost publish), and (program feed) moves its watermark. Partner feeds
   * given a `watch` are checked by it instead.
   */
  reconcileMs?: number;
  stats?: Set<FeedStats>;
}

/** How often a feed checks the event table when nothing else tells it to. */
export const RECONCILE_MS = 2_000;

export interface Steps {
  /** Reads the starting position (after the subscription is live, so nothing slips between). */
  start(): Promise<void>;
  replay(): AsyncIterable<CommittedEvent>;
  /** What to deliver for a live event: the events it skipped over (from the table), then itself; nothing if delivered already. */
  live(event: CommittedEvent): AsyncIterable<CommittedEvent>;
  /** The periodic check against the event table. */
  catchUp(): AsyncIterable<CommittedEvent>;
  /** Arranges for `due` to be called whenever catchUp should run; returns how to stop that. */
  schedule(due: () => void): () => void;
  /** Whether the client has this event already (the skip rule). */
  covered(event: CommittedEvent): boolean;
  delivered(event: CommittedEvent): void;
  cursor(): string;
}

/**
 * The engine of both feeds: subscribe to live events first and wait until
 * the subscription is live (Redis confirmed it), then read the starting
 * position and say `started` (the client's acknowledgement: anything
 * committed after it is delivered), then replay what the cursor has not seen
 * from the event table, then deliver live events (filling any gap from the
 * table first), and every period check the table for what was not sent live.
 * Every delivery goes through the skip rule, so an event reaching the feed
 * twice (live and from the table) is delivered once. Built on a Repeater so
 * that a client going away ends it at once, even while it waits for the next
 * event.
 */
export function feed(options: FeedOptions, kind: FeedStats["kind"], topic: string, steps: Steps): AsyncIterableIterator<FeedItem> {
  return new Repeater<FeedItem>(async (push, stop) => {
    const queue = new BoundedQueue<CommittedEvent>(options.queueSize);
    const stats: FeedStats = { kind, queue, delivered: 0 };
    options.stats?.add(stats);
    let interrupted = false;
    let stopped = false;
    let due = false;
    void stop.then(() => {
      stopped = true;
      queue.wake();
    });
    const subscription = options.bus.subscribe(topic, (event) => queue.push(event));
    const unwatch = options.bus.onDisruption(() => {
      interrupted = true;
      queue.wake();
    });
    let unschedule: (() => void) | undefined;
    let started = false;
    /** Ends the feed saying why, after what was already pushed (a client not reading never gets it, but the feed ends all the same). */
    const end = (reason: FeedEndReason) => {
      if (stopped) return;
      if (started) void push({ kind: "ended", cursor: steps.cursor(), reason });
      void stop();
    };
    const expiry = options.endAfterMs !== undefined ? setTimeout(() => end("TOKEN_EXPIRED"), Math.max(0, Math.min(options.endAfterMs, 2 ** 31 - 1))) : undefined;
    const { stillAllowed } = options;
    const recheck = stillAllowed
      ? setInterval(
          () =>
            void stillAllowed().then(
              (allowed) => allowed || end("TOKEN_REVOKED"),
              () => undefined,
            ),
          options.recheckMs ?? 30_000,
        )
      : undefined;
    const deliver = async (event: CommittedEvent) => {
      if (steps.covered(event)) return;
      await options.waitWritable?.();
      steps.delivered(event);
      stats.delivered += 1;
      await push({ kind: "event", cursor: steps.cursor(), event });
    };
    /** Delivers what `events` yields; false when the feed stopped meanwhile. */
    const deliverAll = async (events: AsyncIterable<CommittedEvent>): Promise<boolean> => {
      for await (const event of events) {
        if (stopped) return false;
        await deliver(event);
      }
      return !stopped;
    };
    try {
      await subscription.ready;
      if (stopped) return;
      await steps.start();
      if (stopped) return;
      started = true;
      await push({ kind: "started", cursor: steps.cursor() });
      if (!(await deliverAll(steps.replay()))) return;
      unschedule = steps.schedule(() => {
        due = true;
        queue.wake();
      });
      while (!stopped) {
        if (queue.overflowed || interrupted) {
          await options.waitWritable?.();
          await push({ kind: "fell_behind", cursor: steps.cursor(), reason: queue.overflowed ? "QUEUE_FULL" : "FAN_OUT_INTERRUPTED", dropped: queue.dropped });
          return;
        }
        if (due) {
          due = false;
          // A failed check (the database away) is tried again next period;
          // what it delivered before failing stays delivered.
          try {
            if (!(await deliverAll(steps.catchUp()))) return;
          } catch {
            // next period
          }
          continue;
        }
        const event = queue.shift();
        if (!event) {
          await queue.wait();
          continue;
        }
        try {
          if (!(await deliverAll(steps.live(event)))) return;
        } catch {
          // The gap before it could not be read: it is not delivered out of
          // order; the periodic check delivers it with the gap.
        }
      }
    } finally {
      clearTimeout(expiry);
      clearInterval(recheck);
      subscription.unsubscribe();
      unwatch();
      unschedule?.();
      options.stats?.delete(stats);
      stop();
    }
  });
}

/**
 * Runs a feed up to its `started` item before handing it over, so that the
 * subscription's acknowledgement (SSE's response headers, which follow the
 * subscribe resolver) comes after the feed's starting position was read, and
 * a feed that cannot start (the database away) is refused as the subscription
 * instead of ending right after it was accepted.
 */
export async function startFeed(feed: AsyncIterableIterator<FeedItem>): Promise<AsyncIterableIterator<FeedItem>> {
  return new StartedFeed(feed, await feed.next());
}

/** A feed whose first item was read already: it is handed out first. A class, so that an open feed holds no closures for it. */
class StartedFeed implements AsyncIterableIterator<FeedItem> {
  constructor(
    private readonly feed: AsyncIterableIterator<FeedItem>,
    private first: IteratorResult<FeedItem> | undefined,
  ) {}

  next(): Promise<IteratorResult<FeedItem>> {
    const result = this.first;
    this.first = undefined;
    return result ? Promise.resolve(result) : this.feed.next();
  }

  return(value?: unknown): Promise<IteratorResult<FeedItem>> {
    this.first = undefined;
    return this.feed.return ? this.feed.return(value) : Promise.resolve({ done: true, value: undefined });
  }

  throw(error?: unknown): Promise<IteratorResult<FeedItem>> {
    this.first = undefined;
    return this.feed.throw ? this.feed.throw(error) : Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<FeedItem> {
    return this;
  }
}
