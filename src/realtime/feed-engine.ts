import type { ScopedPrisma } from "../db/tenant-scope.ts";
import type { CommittedEvent } from "../services/events.ts";
import { BoundedQueue } from "./bounded-queue.ts";
import { deadlines, type Deadline } from "./deadlines.ts";
import type { BusSubscription, Disruption, EventBus } from "./event-bus.ts";

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

/** What a feed's steps call when its periodic check is due. */
export interface Due {
  due(): void;
}

export interface Steps {
  /** Reads the starting position (after the subscription is live, so nothing slips between). */
  start(): Promise<void>;
  replay(): AsyncIterable<CommittedEvent>;
  /** What to deliver for a live event: the events it skipped over (from the table), then itself; nothing if delivered already. */
  live(event: CommittedEvent): AsyncIterable<CommittedEvent>;
  /** The periodic check against the event table. */
  catchUp(): AsyncIterable<CommittedEvent>;
  /** Arranges for `feed.due()` to be called whenever catchUp should run, until `unschedule`. */
  schedule(feed: Due): void;
  /** Another instance could not fan out events of late (they are in the table): arranges for `feed.due()` soon, if the feed is behind. */
  missed(feed: Due): void;
  unschedule(): void;
  /** Whether the client has this event already (the skip rule). */
  covered(event: CommittedEvent): boolean;
  delivered(event: CommittedEvent): void;
  cursor(): string;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** Where a feed is: reading its start, replaying, live (and checking), or over. */
type Phase = "new" | "replaying" | "live" | "closed";

/** What a source being delivered is: a failed replay fails the feed, a failed live gap or check is tried again at the next check. */
type Source = { events: AsyncIterator<CommittedEvent>; replay: boolean };

/**
 * The engine of both feeds: subscribe to live events first and wait until
 * the subscription is live (Redis confirmed it), then read the starting
 * position and say `started` (the client's acknowledgement: anything
 * committed after it is delivered), then replay what the cursor has not seen
 * from the event table, then deliver live events (filling any gap from the
 * table first), and every period check the table for what was not sent live.
 * Every delivery goes through the skip rule, so an event reaching the feed
 * twice (live and from the table) is delivered once.
 *
 * One object per subscription, pulled by its consumer (graphql-ws's loop,
 * one `next()` at a time): the next item is worked out when asked for, so a
 * client that does not read holds the feed still while live events fill its
 * bounded queue. A client going away (`return()`) ends it at once, even while
 * it waits for the next event; so do the token's expiry (on the process's
 * shared deadlines, not a timer of its own) and its revocation.
 */
export class Feed implements AsyncIterableIterator<FeedItem>, FeedStats, Deadline {
  readonly queue: BoundedQueue<CommittedEvent>;
  delivered = 0;
  /** Deadline: when the token expires, and the feed's place in the shared schedule. */
  at = 0;
  slot = -1;
  private phase: Phase = "new";
  private checkDue = false;
  private interrupted = false;
  /** The item handed out first (startFeed read it already). */
  private first: IteratorResult<FeedItem> | undefined;
  /** The last item, handed out after the feed closed (`ended`). */
  private last: FeedItem | undefined;
  private source: Source | undefined;
  private readonly subscription: BusSubscription;
  private readonly unwatch: () => void;
  private readonly recheck: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: FeedOptions,
    readonly kind: FeedStats["kind"],
    topic: string,
    private readonly steps: Steps,
  ) {
    this.queue = new BoundedQueue<CommittedEvent>(options.queueSize);
    options.stats?.add(this);
    const listeners = listen(this);
    this.subscription = options.bus.subscribe(topic, listeners.event);
    this.unwatch = options.bus.onDisruption(listeners.disruption);
    if (options.endAfterMs !== undefined) deadlines.add(this, options.endAfterMs);
    const { stillAllowed } = options;
    if (stillAllowed) this.recheck = setInterval(() => void stillAllowed().then((allowed) => allowed || this.end("TOKEN_REVOKED"), ignore), options.recheckMs ?? 30_000);
  }

  /** Reads the feed up to its `started` item, which is handed out first. */
  async begin(): Promise<this> {
    this.first = await this.next();
    return this;
  }

  next(): Promise<IteratorResult<FeedItem>> {
    const first = this.first;
    if (first) {
      this.first = undefined;
      return Promise.resolve(first);
    }
    return this.produce().then(resultOf);
  }

  return(): Promise<IteratorResult<FeedItem>> {
    this.first = undefined;
    this.last = undefined;
    this.close();
    return Promise.resolve(DONE);
  }

  throw(error?: unknown): Promise<IteratorResult<FeedItem>> {
    this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Deadline: the token expired. */
  expire(): void {
    this.end("TOKEN_EXPIRED");
  }

  /** Due: the periodic check against the event table should run. */
  due(): void {
    this.checkDue = true;
    this.queue.wake();
  }

  /** A live event (the bus). */
  receive(event: CommittedEvent): void {
    this.queue.push(event);
  }

  /** Another instance's fan-out missed events: the feed checks the table (live: as its steps arrange), and the client notices nothing. */
  missed(): void {
    if (this.phase === "live") this.steps.missed(this);
    else this.due();
  }

  /** This instance's fan-out may have lost events: the client is told to resume from its cursor. */
  disrupted(): void {
    this.interrupted = true;
    this.queue.wake();
  }

  /** Ends the feed saying why, after what was already handed out (a client not reading never gets it, but the feed ends all the same). */
  private end(reason: FeedEndReason): void {
    if (this.phase === "closed") return;
    if (this.phase !== "new") this.last = { kind: "ended", cursor: this.steps.cursor(), reason };
    this.close();
  }

  private close(): void {
    if (this.phase === "closed") return;
    const scheduled = this.phase === "live";
    this.phase = "closed";
    deadlines.remove(this);
    clearInterval(this.recheck);
    this.subscription.unsubscribe();
    this.unwatch();
    if (scheduled) this.steps.unschedule();
    this.options.stats?.delete(this);
    void this.source?.events.return?.()?.catch(ignore);
    this.source = undefined;
    this.queue.wake();
  }

  /** Whether the feed closed (a method, so that it is read again after every await). */
  private over(): boolean {
    return this.phase === "closed";
  }

  /** After the feed closed: its last item, once, then nothing. */
  private closed(): FeedItem | undefined {
    const last = this.last;
    this.last = undefined;
    return last;
  }

  /** The next item, or undefined when the feed is over; a feed that fails is closed. */
  private async produce(): Promise<FeedItem | undefined> {
    try {
      const { steps, queue } = this;
      if (this.phase === "new") {
        await this.subscription.ready;
        if (this.over()) return this.closed();
        await steps.start();
        if (this.over()) return this.closed();
        this.phase = "replaying";
        this.source = { events: steps.replay()[Symbol.asyncIterator](), replay: true };
        return { kind: "started", cursor: steps.cursor() };
      }
      for (;;) {
        if (this.over()) return this.closed();
        const source = this.source;
        if (source) {
          let result: IteratorResult<CommittedEvent>;
          try {
            result = await source.events.next();
          } catch (error) {
            // A failed replay fails the feed. A failed check (the database
            // away) is tried again next period, and a live event whose gap
            // could not be read is not delivered out of order: the periodic
            // check delivers it with the gap. What was delivered stays so.
            if (source.replay) throw error;
            if (this.source === source) this.source = undefined;
            continue;
          }
          if (this.over()) return this.closed();
          if (result.done) {
            this.source = undefined;
            if (source.replay) {
              this.phase = "live";
              steps.schedule(this);
            }
            continue;
          }
          const event = result.value;
          if (steps.covered(event)) continue;
          await this.options.waitWritable?.();
          if (this.over()) return this.closed();
          steps.delivered(event);
          this.delivered += 1;
          return { kind: "event", cursor: steps.cursor(), event };
        }
        if (queue.overflowed || this.interrupted) {
          await this.options.waitWritable?.();
          if (this.over()) return this.closed();
          const item: FeedItem = { kind: "fell_behind", cursor: steps.cursor(), reason: queue.overflowed ? "QUEUE_FULL" : "FAN_OUT_INTERRUPTED", dropped: queue.dropped };
          this.close();
          return item;
        }
        if (this.checkDue) {
          this.checkDue = false;
          this.source = { events: steps.catchUp()[Symbol.asyncIterator](), replay: false };
          continue;
        }
        const event = queue.shift();
        if (event) this.source = { events: steps.live(event)[Symbol.asyncIterator](), replay: false };
        else await queue.wait();
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }
}

/** The feed's two listeners, made in a scope that holds the feed only. */
function listen(feed: Feed) {
  return {
    event: (event: CommittedEvent) => feed.receive(event),
    disruption: (what: Disruption) => (what === "missed" ? feed.missed() : feed.disrupted()),
  };
}

function resultOf(item: FeedItem | undefined): IteratorResult<FeedItem> {
  return item ? { done: false, value: item } : DONE;
}

function ignore(): undefined {
  return undefined;
}

export function feed(options: FeedOptions, kind: FeedStats["kind"], topic: string, steps: Steps): Feed {
  return new Feed(options, kind, topic, steps);
}

/**
 * Runs a feed up to its `started` item before handing it over, so that the
 * subscription's acknowledgement (SSE's response headers, which follow the
 * subscribe resolver) comes after the feed's starting position was read, and
 * a feed that cannot start (the database away) is refused as the subscription
 * instead of ending right after it was accepted.
 */
export function startFeed(feed: Feed): Promise<Feed> {
  return feed.begin();
}
