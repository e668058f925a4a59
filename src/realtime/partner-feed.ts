import type { CommittedEvent } from "../services/events.ts";
import { encodePartnerCursor } from "./cursors.ts";
import { partnerTopic } from "./event-bus.ts";
import { committed, PAGE } from "./event-reads.ts";
import { feed, RECONCILE_MS, type Due, type Feed, type FeedOptions, type Steps } from "./feed-engine.ts";
import type { PartnerKey } from "./partner-sequences.ts";
import type { SequenceWatch, Watcher } from "./sequence-watch.ts";

type PartnerFeedOptions = FeedOptions & {
  partnerId: string;
  after: bigint | null;
  watch?: SequenceWatch;
  /** Partners' last committed sequences (Realtime.partnerSequence, shared); read through `db` without it. */
  sequences?: (key: PartnerKey) => Promise<bigint | null>;
};

/**
 * One partner's events, in its sequence (gap-free, in commit order). The
 * cursor is the last sequence delivered; without one the feed starts now.
 * Every period (through the shared `watch`, or on its own without one) it
 * checks for committed events it was not sent live.
 */
export function partnerFeed(options: PartnerFeedOptions): Feed {
  return feed(options, "partner", partnerTopic(options.programId, options.partnerId), new PartnerSteps(options));
}

/**
 * The partner feed's steps, and its watcher in the shared watch. A class, so
 * that an open feed holds its state and not a dozen closures of its own.
 */
class PartnerSteps implements Steps, Watcher {
  /** The last sequence delivered (-1: not started, without a cursor). */
  private position: bigint;
  /** The partner's last committed sequence when the feed started, if read: nothing to replay when the cursor has it. */
  private committedAtStart: bigint | undefined;
  private due: Due | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PartnerFeedOptions) {
    this.position = options.after ?? -1n;
  }

  async start(): Promise<void> {
    // Read after the live subscription is ready: what commits later comes live (or through the watch).
    const { options } = this;
    const committed = options.sequences
      ? ((await options.sequences(options)) ?? 0n)
      : ((await options.db.balance.findUnique({ where: { partnerId: options.partnerId }, select: { eventSequence: true } }))?.eventSequence ?? 0n);
    if (this.position < 0n) this.position = committed;
    this.committedAtStart = committed;
  }

  replay(): AsyncIterable<CommittedEvent> {
    return this.committedAtStart !== undefined && this.committedAtStart <= this.position ? none() : this.between(this.position);
  }

  async *live(event: CommittedEvent): AsyncIterable<CommittedEvent> {
    const sequence = BigInt(event.partnerSequence!);
    if (sequence <= this.position) return;
    // A later event arrived first (another instance published sooner): the
    // earlier ones are committed, since the later one waited for their lock.
    if (sequence > this.position + 1n) yield* this.between(this.position, sequence);
    yield event;
  }

  catchUp(): AsyncIterable<CommittedEvent> {
    return this.between(this.position);
  }

  schedule(feed: Due): void {
    const { options } = this;
    this.due = feed;
    if (options.watch) options.watch.watch(options.partnerId, this);
    else this.timer = setInterval(() => feed.due(), options.reconcileMs ?? RECONCILE_MS);
  }

  missed(feed: Due): void {
    // Through the shared watch: one read for all of this instance's partner feeds, and only those behind read the table.
    if (this.options.watch) this.options.watch.soon();
    else feed.due();
  }

  unschedule(): void {
    this.due = undefined;
    this.options.watch?.unwatch(this.options.partnerId, this);
    clearInterval(this.timer);
  }

  /** Watcher: the last sequence delivered. */
  last(): bigint {
    return this.position;
  }

  /** Watcher: a later sequence is committed. */
  behind(): void {
    this.due?.due();
  }

  covered(event: CommittedEvent): boolean {
    return BigInt(event.partnerSequence!) <= this.position;
  }

  delivered(event: CommittedEvent): void {
    this.position = BigInt(event.partnerSequence!);
  }

  cursor(): string {
    return encodePartnerCursor(this.options.partnerId, this.position);
  }

  private async *between(from: bigint, to?: bigint): AsyncGenerator<CommittedEvent> {
    const { options } = this;
    let cursor = from;
    for (;;) {
      const rows = await options.db.event.findMany({
        where: { partnerId: options.partnerId, partnerSequence: { gt: cursor, ...(to !== undefined ? { lt: to } : {}) } },
        orderBy: { partnerSequence: "asc" },
        take: PAGE,
      });
      for (const row of rows)
        yield committed({
          id: row.id,
          program_id: row.programId,
          partner_id: row.partnerId,
          partner_sequence: row.partnerSequence,
          type: row.type,
          entity_id: row.entityId,
          payload: row.payload,
          created_at: row.createdAt,
          xid: "0",
        });
      if (rows.length < PAGE) return;
      cursor = rows[rows.length - 1]!.partnerSequence!;
    }
  }
}

async function* none(): AsyncGenerator<CommittedEvent> {}
