import type { CommittedEvent } from "../services/events.ts";
import { encodePartnerCursor } from "./cursors.ts";
import { partnerTopic } from "./event-bus.ts";
import { committed, PAGE } from "./event-reads.ts";
import { feed, RECONCILE_MS, type FeedItem, type FeedOptions } from "./feed-engine.ts";
import type { SequenceWatch } from "./sequence-watch.ts";

/**
 * One partner's events, in its sequence (gap-free, in commit order). The
 * cursor is the last sequence delivered; without one the feed starts now.
 * Every period (through the shared `watch`, or on its own without one) it
 * checks for committed events it was not sent live.
 */
export function partnerFeed(
  options: FeedOptions & {
    partnerId: string;
    after: bigint | null;
    watch?: SequenceWatch;
    /** The partner's last committed sequence (Realtime.partnerSequence); read through `db` without it. */
    committed?: () => Promise<bigint | null>;
  },
): AsyncIterableIterator<FeedItem> {
  let last = options.after ?? -1n;
  /** The partner's last committed sequence when the feed started, if read: nothing to replay when the cursor has it. */
  let committedAtStart: bigint | undefined;
  const where = { partnerId: options.partnerId };
  async function* between(from: bigint, to?: bigint): AsyncGenerator<CommittedEvent> {
    let cursor = from;
    for (;;) {
      const rows = await options.db.event.findMany({
        where: { ...where, partnerSequence: { gt: cursor, ...(to !== undefined ? { lt: to } : {}) } },
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
  async function* none(): AsyncGenerator<CommittedEvent> {}
  return feed(options, "partner", partnerTopic(options.programId, options.partnerId), {
    async start() {
      // Read after the live subscription is ready: what commits later comes live (or through the watch).
      const committed = options.committed
        ? ((await options.committed()) ?? 0n)
        : ((await options.db.balance.findUnique({ where: { partnerId: options.partnerId }, select: { eventSequence: true } }))?.eventSequence ?? 0n);
      if (last < 0n) last = committed;
      committedAtStart = committed;
    },
    replay: () => (committedAtStart !== undefined && committedAtStart <= last ? none() : between(last)),
    async *live(event) {
      const sequence = BigInt(event.partnerSequence!);
      if (sequence <= last) return;
      // A later event arrived first (another instance published sooner): the
      // earlier ones are committed, since the later one waited for their lock.
      if (sequence > last + 1n) yield* between(last, sequence);
      yield event;
    },
    catchUp: () => between(last),
    schedule(due) {
      if (options.watch) return options.watch.watch(options.partnerId, { last: () => last, behind: due });
      const timer = setInterval(due, options.reconcileMs ?? RECONCILE_MS);
      return () => clearInterval(timer);
    },
    covered: (event) => BigInt(event.partnerSequence!) <= last,
    delivered(event) {
      last = BigInt(event.partnerSequence!);
    },
    cursor: () => encodePartnerCursor(options.partnerId, last),
  });
}
