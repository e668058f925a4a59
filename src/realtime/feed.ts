import { Repeater } from "@repeaterjs/repeater";
import type { ScopedPrisma } from "../db/tenant-scope.ts";
import type { CommittedEvent } from "../services/runtime.ts";
import { BoundedQueue } from "./bounded-queue.ts";
import { partnerTopic, programTopic, type EventBus } from "./event-bus.ts";
import type { XminSampler } from "./xmin-sampler.ts";

/** What a subscription yields: an event, or a notice that the client fell behind and must resume from `cursor`. */
export type FeedItem =
  | { kind: "event"; cursor: string; event: CommittedEvent }
  | { kind: "fell_behind"; cursor: string; reason: "QUEUE_FULL" | "FAN_OUT_INTERRUPTED"; dropped: number };

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
  /** Ends the feed after this many milliseconds (the token's remaining life). */
  endAfterMs?: number;
  /** Asked every `recheckMs` while the feed runs; the feed ends when it answers false (a revoked token). */
  stillAllowed?: () => Promise<boolean>;
  recheckMs?: number;
  stats?: Set<FeedStats>;
}

const PAGE = 200;

type EventRow = { id: bigint; partnerId: string | null; partnerSequence: bigint | null; type: string; entityId: string; payload: unknown; createdAt: Date; programId: string };

function committed(row: EventRow & { xid?: string }): CommittedEvent {
  return {
    id: row.id.toString(),
    programId: row.programId,
    partnerId: row.partnerId,
    partnerSequence: row.partnerSequence?.toString() ?? null,
    type: row.type,
    entityId: row.entityId,
    payload: row.payload,
    createdAt: row.createdAt.toISOString(),
    xid: row.xid ?? "0",
  };
}

/**
 * The engine of both feeds: subscribe to live events first, then replay what
 * the cursor has not seen from the event table, then deliver live events,
 * dropping those already delivered and filling any gap from the table.
 * Built on a Repeater so that a client going away ends it at once, even while
 * it waits for the next event.
 */
function feed(
  options: FeedOptions,
  kind: FeedStats["kind"],
  topic: string,
  steps: {
    /** Reads the starting position (after subscribing, so nothing slips between). */
    start(): Promise<void>;
    replay(): AsyncGenerator<CommittedEvent>;
    /** Whether a live event was delivered already; may fill gaps first (yielded before it). */
    before(event: CommittedEvent): Promise<{ skip: boolean; missed: CommittedEvent[] }>;
    delivered(event: CommittedEvent): void;
    cursor(): string;
    end?(): void;
  },
): AsyncIterableIterator<FeedItem> {
  return new Repeater<FeedItem>(async (push, stop) => {
    const queue = new BoundedQueue<CommittedEvent>(options.queueSize);
    const stats: FeedStats = { kind, queue, delivered: 0 };
    options.stats?.add(stats);
    let interrupted = false;
    let stopped = false;
    void stop.then(() => {
      stopped = true;
      queue.wake();
    });
    const unsubscribe = options.bus.subscribe(topic, (event) => queue.push(event));
    const unwatch = options.bus.onDisruption(() => {
      interrupted = true;
      queue.wake();
    });
    const expiry = options.endAfterMs !== undefined ? setTimeout(() => void stop(), Math.max(0, Math.min(options.endAfterMs, 2 ** 31 - 1))) : undefined;
    const { stillAllowed } = options;
    const recheck = stillAllowed
      ? setInterval(() => void stillAllowed().then((allowed) => allowed || stop(), () => undefined), options.recheckMs ?? 30_000)
      : undefined;
    const deliver = async (event: CommittedEvent) => {
      await options.waitWritable?.();
      steps.delivered(event);
      stats.delivered += 1;
      await push({ kind: "event", cursor: steps.cursor(), event });
    };
    try {
      await steps.start();
      for await (const event of steps.replay()) {
        if (stopped) return;
        await deliver(event);
      }
      while (!stopped) {
        if (queue.overflowed || interrupted) {
          await options.waitWritable?.();
          await push({ kind: "fell_behind", cursor: steps.cursor(), reason: queue.overflowed ? "QUEUE_FULL" : "FAN_OUT_INTERRUPTED", dropped: queue.dropped });
          return;
        }
        const event = queue.shift();
        if (!event) {
          await queue.wait();
          continue;
        }
        const { skip, missed } = await steps.before(event);
        for (const earlier of missed) await deliver(earlier);
        if (!skip) await deliver(event);
      }
    } finally {
      clearTimeout(expiry);
      clearInterval(recheck);
      unsubscribe();
      unwatch();
      options.stats?.delete(stats);
      steps.end?.();
      stop();
    }
  });
}

/**
 * One partner's events, in its sequence (gap-free, in commit order). The
 * cursor is the last sequence delivered; without one the feed starts now.
 */
export function partnerFeed(options: FeedOptions & { partnerId: string; after: bigint | null }): AsyncIterableIterator<FeedItem> {
  let last = options.after ?? -1n;
  const where = { partnerId: options.partnerId };
  async function* between(from: bigint, to?: bigint): AsyncGenerator<CommittedEvent> {
    let cursor = from;
    for (;;) {
      const rows = await options.db.event.findMany({
        where: { ...where, partnerSequence: { gt: cursor, ...(to !== undefined ? { lt: to } : {}) } },
        orderBy: { partnerSequence: "asc" },
        take: PAGE,
      });
      for (const row of rows) yield committed(row);
      if (rows.length < PAGE) return;
      cursor = rows[rows.length - 1]!.partnerSequence!;
    }
  }
  return feed(options, "partner", partnerTopic(options.programId, options.partnerId), {
    async start() {
      if (last >= 0n) return;
      const balance = await options.db.balance.findUnique({ where: { partnerId: options.partnerId }, select: { eventSequence: true } });
      last = balance?.eventSequence ?? 0n;
    },
    replay: () => between(last),
    async before(event) {
      const sequence = BigInt(event.partnerSequence!);
      if (sequence <= last) return { skip: true, missed: [] };
      const missed: CommittedEvent[] = [];
      // A later event arrived first (another instance published sooner): the
      // earlier ones are committed, since the later one waited for their lock.
      if (sequence > last + 1n) for await (const earlier of between(last, sequence)) missed.push(earlier);
      return { skip: false, missed };
    },
    delivered(event) {
      last = BigInt(event.partnerSequence!);
    },
    cursor: () => encodePartnerCursor(last),
  });
}

/**
 * A whole program's events. Live events arrive as they commit; the cursor is
 * a watermark (every event of a transaction older than it was delivered)
 * plus, per partner, the last sequence delivered above it. Replay hands out
 * only events older than the oldest running transaction (pg_snapshot_xmin),
 * so a transaction committing late is never skipped; the live feed is never
 * held back by one.
 */
export function programFeed(options: FeedOptions & { after: ProgramCursor | null; sampler: XminSampler }): AsyncIterableIterator<FeedItem> {
  let watermark = options.after ? BigInt(options.after.w) : -1n;
  /** Per partner: last sequence delivered, and the newest transaction it came from. */
  const seen = new Map<string, { sequence: bigint; xid: bigint }>(Object.entries(options.after?.p ?? {}).map(([id, seq]) => [id, { sequence: BigInt(seq), xid: BigInt(options.after!.w) }]));
  const lastOf = (partnerId: string) => seen.get(partnerId)?.sequence ?? -1n;
  async function* missedOf(partnerId: string, from: bigint, to: bigint): AsyncGenerator<CommittedEvent> {
    const rows = await options.db.event.findMany({ where: { partnerId, partnerSequence: { gt: from, lt: to } }, orderBy: { partnerSequence: "asc" } });
    const xids = await xidsOf(options.db, options.programId, rows.map((row) => row.id));
    for (const row of rows) yield committed({ ...row, xid: xids.get(row.id.toString()) });
  }
  const release = options.sampler.use();
  return feed(options, "program", programTopic(options.programId), {
    end: release,
    async start() {
      // Without a cursor the feed starts now: below the oldest running
      // transaction, everything counts as seen.
      if (watermark < 0n) watermark = await options.sampler.current();
    },
    async *replay() {
      const until = await options.sampler.current();
      let after: [bigint, bigint] = [watermark, -1n];
      for (;;) {
        const rows = await options.db.$queryRaw<(EventRow & { xid: string; partner_id: string | null; partner_sequence: bigint | null; entity_id: string; created_at: Date; program_id: string })[]>`
          SELECT id, program_id::text, partner_id::text, partner_sequence, type, entity_id::text, payload, created_at, xid::text
            FROM events
           WHERE program_id = ${options.programId}::uuid AND xid >= ${after[0].toString()}::xid8 AND xid < ${until.toString()}::xid8
             AND (xid, id) > (${after[0].toString()}::xid8, ${after[1]})
           ORDER BY xid, id LIMIT ${PAGE}`;
        for (const row of rows) {
          const event = committed({ id: row.id, programId: row.program_id, partnerId: row.partner_id, partnerSequence: row.partner_sequence, type: row.type, entityId: row.entity_id, payload: row.payload, createdAt: new Date(row.created_at), xid: row.xid });
          if (event.partnerId && BigInt(event.partnerSequence!) <= lastOf(event.partnerId)) continue;
          yield event;
        }
        if (rows.length < PAGE) break;
        const tail = rows[rows.length - 1]!;
        after = [BigInt(tail.xid), tail.id];
      }
      // Everything older than `until` is now delivered.
      watermark = until > watermark ? until : watermark;
    },
    async before(event) {
      if (!event.partnerId) return { skip: false, missed: [] };
      const sequence = BigInt(event.partnerSequence!);
      const last = lastOf(event.partnerId);
      if (sequence <= last) return { skip: true, missed: [] };
      const missed: CommittedEvent[] = [];
      if (last >= 0n && sequence > last + 1n) for await (const earlier of missedOf(event.partnerId, last, sequence)) missed.push(earlier);
      return { skip: false, missed };
    },
    delivered(event) {
      if (!event.partnerId) return;
      const xid = BigInt(event.xid);
      const previous = seen.get(event.partnerId);
      seen.set(event.partnerId, { sequence: BigInt(event.partnerSequence!), xid: previous && previous.xid > xid ? previous.xid : xid });
    },
    cursor() {
      // The watermark may advance to what was the oldest running transaction a
      // while ago: every event below it has had time to be delivered live (or
      // the client was told it fell behind). Partners wholly below it leave the cursor.
      const safe = options.sampler.settled();
      if (safe > watermark) watermark = safe;
      const p: Record<string, string> = {};
      for (const [partnerId, entry] of seen) {
        if (entry.xid >= watermark) p[partnerId] = entry.sequence.toString();
        else seen.delete(partnerId);
      }
      return encodeProgramCursor({ w: watermark.toString(), p });
    },
  });
}

async function xidsOf(db: ScopedPrisma, programId: string, ids: bigint[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.$queryRaw<{ id: bigint; xid: string }[]>`
    SELECT id, xid::text FROM events WHERE program_id = ${programId}::uuid AND id = ANY(${ids.map(String)}::bigint[])`;
  return new Map(rows.map((row) => [row.id.toString(), row.xid]));
}

export interface ProgramCursor {
  /** Watermark: a transaction id below which every event was delivered. */
  w: string;
  /** Per partner, the last sequence delivered from transactions at or above the watermark. */
  p: Record<string, string>;
}

export function encodePartnerCursor(sequence: bigint): string {
  return Buffer.from(`partner:${sequence}`).toString("base64url");
}

/** Sequences and transaction ids are PostgreSQL bigints: a cursor naming a larger number names nothing. */
const MAX_BIGINT = 2n ** 63n - 1n;
const bigintOf = (digits: string): bigint | undefined => (/^\d{1,19}$/.test(digits) && BigInt(digits) <= MAX_BIGINT ? BigInt(digits) : undefined);

export function decodePartnerCursor(cursor: string): bigint | undefined {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const match = /^partner:(\d+)$/.exec(text);
  return match ? bigintOf(match[1]!) : undefined;
}

export function encodeProgramCursor(cursor: ProgramCursor): string {
  return Buffer.from(`program:${JSON.stringify(cursor)}`).toString("base64url");
}

export function decodeProgramCursor(cursor: string): ProgramCursor | undefined {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  if (!text.startsWith("program:")) return undefined;
  try {
    const parsed = JSON.parse(text.slice("program:".length)) as ProgramCursor;
    if (typeof parsed.w !== "string" || bigintOf(parsed.w) === undefined || typeof parsed.p !== "object" || parsed.p === null) return undefined;
    for (const [id, seq] of Object.entries(parsed.p)) if (!/^[0-9a-f-]{36}$/.test(id) || typeof seq !== "string" || bigintOf(seq) === undefined) return undefined;
    return parsed;
  } catch {
    return undefined;
  }
}
