import { Repeater } from "@repeaterjs/repeater";
import type { ScopedPrisma } from "../db/tenant-scope.ts";
import type { CommittedEvent } from "../services/runtime.ts";
import { BoundedQueue } from "./bounded-queue.ts";
import { partnerTopic, programTopic, type EventBus } from "./event-bus.ts";
import type { SequenceWatch } from "./sequence-watch.ts";

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

const PAGE = 200;
const RECONCILE_MS = 2_000;
/** Partners whose last delivered sequence a program feed remembers beyond its cursor (a cache: forgetting costs a query). */
const KNOWN_PARTNERS = 10_000;

type Row = {
  id: bigint;
  program_id: string;
  partner_id: string | null;
  partner_sequence: bigint | null;
  type: string;
  entity_id: string;
  payload: unknown;
  created_at: Date;
  xid: string;
};

function committed(row: Row): CommittedEvent {
  return {
    id: row.id.toString(),
    programId: row.program_id,
    partnerId: row.partner_id,
    partnerSequence: row.partner_sequence?.toString() ?? null,
    type: row.type,
    entityId: row.entity_id,
    payload: row.payload,
    createdAt: new Date(row.created_at).toISOString(),
    xid: row.xid,
  };
}

/**
 * One partner's events with sequences lo..hi (inclusive), in order, a page at
 * a time. Callers only ask for ranges below a sequence known to be committed:
 * those are all committed (each waited for the previous one's lock), so the
 * range has no holes.
 */
async function* range(db: ScopedPrisma, programId: string, partnerId: string, lo: bigint, hi: bigint): AsyncGenerator<CommittedEvent> {
  for (let from = lo; from <= hi; from += BigInt(PAGE)) {
    const to = from + BigInt(PAGE) - 1n < hi ? from + BigInt(PAGE) - 1n : hi;
    const rows = await db.$queryRaw<Row[]>`
      SELECT id, program_id::text, partner_id::text, partner_sequence, type, entity_id::text, payload, created_at, xid::text
        FROM events
       WHERE program_id = ${programId}::uuid AND partner_id = ${partnerId}::uuid
         AND partner_sequence BETWEEN ${from.toString()}::bigint AND ${to.toString()}::bigint
       ORDER BY partner_sequence`;
    for (const row of rows) yield committed(row);
  }
}

interface Steps {
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
function feed(options: FeedOptions, kind: FeedStats["kind"], topic: string, steps: Steps): AsyncIterableIterator<FeedItem> {
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
      ? setInterval(() => void stillAllowed().then((allowed) => allowed || end("TOKEN_REVOKED"), () => undefined), options.recheckMs ?? 30_000)
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
 * One partner's events, in its sequence (gap-free, in commit order). The
 * cursor is the last sequence delivered; without one the feed starts now.
 * Every period (through the shared `watch`, or on its own without one) it
 * checks for committed events it was not sent live.
 */
export function partnerFeed(options: FeedOptions & { partnerId: string; after: bigint | null; watch?: SequenceWatch }): AsyncIterableIterator<FeedItem> {
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
  return feed(options, "partner", partnerTopic(options.programId, options.partnerId), {
    async start() {
      if (last >= 0n) return;
      const balance = await options.db.balance.findUnique({ where: { partnerId: options.partnerId }, select: { eventSequence: true } });
      last = balance?.eventSequence ?? 0n;
    },
    replay: () => between(last),
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

/**
 * A whole program's events. The cursor is (W, P): a transaction-id watermark
 * W and, per partner, the last sequence delivered P[p]. Invariant: the client
 * has every event whose transaction id is below W, and every event of p with
 * a sequence up to P[p]; a partner's events reach it in sequence order, with
 * no gaps. So an event was delivered already iff xid < W or seq <= P[p], and
 * for a partner outside P what the client has is exactly its events below W
 * (a prefix of its sequence).
 *
 * Subscribing replays, partner by partner in sequence order, every committed
 * event the rule does not cover (never in transaction-id order: a transaction
 * can take its id before it waits for a partner's lock, so per partner the
 * two orders differ). Live events then pass the same rule; one that skips
 * over sequences is preceded by them, read from the table.
 *
 * W moves in one way only: every period, one statement reads x, the oldest
 * transaction still running (pg_snapshot_xmin of its own snapshot), and in
 * that snapshot every committed event with W <= xid < x the rule does not
 * cover; those are delivered (per partner, in sequence order), then W = x, and
 * partners none of whose delivered events is at or above the new W leave P.
 * That check also delivers events whose publish was lost.
 */
export function programFeed(options: FeedOptions & { after: ProgramCursor | null }): AsyncIterableIterator<FeedItem> {
  const { db, programId } = options;
  let watermark = options.after ? BigInt(options.after.w) : -1n;
  /** Per partner, the last sequence delivered, where known (P's partners always; others while remembered). */
  const last = new Map<string, bigint>();
  /** P's partners: those with an event delivered at or above the watermark. */
  const held = new Set<string>();
  /** Per partner in P, the newest transaction id among its delivered events. */
  const newest = new Map<string, bigint>();

  const remember = (partnerId: string, sequence: bigint) => {
    last.delete(partnerId);
    last.set(partnerId, sequence);
    if (last.size <= KNOWN_PARTNERS) return;
    for (const id of last.keys()) {
      if (held.has(id)) continue;
      last.delete(id);
      if (last.size <= KNOWN_PARTNERS) return;
    }
  };

  /**
   * The last sequence the client has of a partner. Outside P that is its
   * last event below the watermark (the client has exactly those, a prefix
   * of its sequence): found by walking down from `below` on the partner's
   * sequence index, past the few recent events at or above the watermark.
   */
  async function lastOf(partnerId: string, below: bigint): Promise<bigint> {
    const known = last.get(partnerId);
    if (known !== undefined) return known;
    const [row] = await db.$queryRaw<{ partner_sequence: bigint }[]>`
      SELECT partner_sequence FROM events
       WHERE partner_id = ${partnerId}::uuid AND program_id = ${programId}::uuid
         AND partner_sequence < ${below.toString()}::bigint AND xid < ${watermark.toString()}::xid8
       ORDER BY partner_sequence DESC LIMIT 1`;
    const sequence = row ? BigInt(row.partner_sequence) : 0n;
    remember(partnerId, sequence);
    return sequence;
  }

  return feed(options, "program", programTopic(programId), {
    async start() {
      if (options.after) {
        for (const [partnerId, sequence] of Object.entries(options.after.p)) {
          held.add(partnerId);
          remember(partnerId, BigInt(sequence));
        }
        return;
      }
      // Without a cursor the feed starts now: in one snapshot, W is the
      // oldest running transaction, and each partner with committed events at
      // or above it counts as delivered up to its last committed sequence.
      const rows = await db.$queryRaw<{ x: string; partner_id: string | null; sequence: bigint | null; newest: string | null }[]>`
        WITH s AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS x),
             d AS (SELECT partner_id, max(xid) AS newest FROM events
                    WHERE program_id = ${programId}::uuid AND xid >= (SELECT x FROM s) AND partner_id IS NOT NULL
                    GROUP BY partner_id)
        SELECT (SELECT x::text FROM s) AS x, d.partner_id::text AS partner_id, b.event_sequence AS sequence, d.newest::text AS newest
          FROM (SELECT 1) AS one LEFT JOIN (d JOIN balances b ON b.partner_id = d.partner_id) ON true`;
      watermark = BigInt(rows[0]!.x);
      for (const row of rows) {
        if (!row.partner_id) continue;
        held.add(row.partner_id);
        remember(row.partner_id, BigInt(row.sequence!));
        newest.set(row.partner_id, BigInt(row.newest!));
      }
    },
    async *replay() {
      if (!options.after) return;
      // Per partner: the committed events the rule does not cover (a run of
      // its sequence), and, for partners in P, the newest transaction among
      // those the client has at or above the watermark.
      const ids = [...held];
      const rows = await db.$queryRaw<{ partner_id: string; lo: bigint | null; hi: bigint | null; newest: string | null }[]>`
        WITH k AS (SELECT * FROM unnest(${ids}::uuid[], ${ids.map((id) => last.get(id)!.toString())}::bigint[]) AS k(pid, seq))
        SELECT e.partner_id::text AS partner_id,
               min(e.partner_sequence) FILTER (WHERE k.seq IS NULL OR e.partner_sequence > k.seq) AS lo,
               max(e.partner_sequence) FILTER (WHERE k.seq IS NULL OR e.partner_sequence > k.seq) AS hi,
               (max(e.xid) FILTER (WHERE e.partner_sequence <= k.seq))::text AS newest
          FROM events e LEFT JOIN k ON k.pid = e.partner_id
         WHERE e.program_id = ${programId}::uuid AND e.xid >= ${watermark.toString()}::xid8 AND e.partner_id IS NOT NULL
         GROUP BY e.partner_id
         ORDER BY e.partner_id`;
      for (const row of rows) if (row.newest !== null) newest.set(row.partner_id, BigInt(row.newest));
      // Partners in P with nothing delivered at or above W leave P at the first check.
      for (const id of ids) if (!newest.has(id)) newest.set(id, -1n);
      const runs = rows.filter((row) => row.hi !== null).map((row) => ({ partnerId: row.partner_id, lo: last.has(row.partner_id) ? last.get(row.partner_id)! + 1n : BigInt(row.lo!), hi: BigInt(row.hi!) }));
      // Several partners' runs per statement, about a page of rows each.
      for (let i = 0; i < runs.length; ) {
        const batch: typeof runs = [];
        let size = 0n;
        while (i < runs.length && (batch.length === 0 || size + runs[i]!.hi - runs[i]!.lo + 1n <= BigInt(PAGE))) {
          size += runs[i]!.hi - runs[i]!.lo + 1n;
          batch.push(runs[i++]!);
        }
        if (batch.length === 1) {
          const run = batch[0]!;
          yield* range(db, programId, run.partnerId, run.lo, run.hi);
          continue;
        }
        const events = await db.$queryRaw<Row[]>`
          SELECT e.id, e.program_id::text, e.partner_id::text, e.partner_sequence, e.type, e.entity_id::text, e.payload, e.created_at, e.xid::text
            FROM unnest(${batch.map((run) => run.partnerId)}::uuid[], ${batch.map((run) => run.lo.toString())}::bigint[], ${batch.map((run) => run.hi.toString())}::bigint[]) AS r(pid, lo, hi)
            JOIN events e ON e.partner_id = r.pid AND e.partner_sequence BETWEEN r.lo AND r.hi
           WHERE e.program_id = ${programId}::uuid
           ORDER BY e.partner_id, e.partner_sequence`;
        for (const row of events) yield committed(row);
      }
    },
    async *live(event) {
      const xid = BigInt(event.xid);
      if (xid < watermark) return;
      if (!event.partnerId) {
        yield event;
        return;
      }
      const sequence = BigInt(event.partnerSequence!);
      const known = await lastOf(event.partnerId, sequence);
      if (sequence <= known) return;
      // The earlier ones are committed: this one waited for their lock.
      if (sequence > known + 1n) yield* range(db, programId, event.partnerId, known + 1n, sequence - 1n);
      yield event;
    },
    async *catchUp() {
      const ids = [...held];
      const rows = await db.$queryRaw<{ x: string; partner_id: string | null; upto: bigint | null }[]>`
        WITH s AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS x),
             k AS (SELECT * FROM unnest(${ids}::uuid[], ${ids.map((id) => last.get(id)!.toString())}::bigint[]) AS k(pid, seq)),
             d AS (SELECT e.partner_id, max(e.partner_sequence) AS upto
                     FROM events e LEFT JOIN k ON k.pid = e.partner_id
                    WHERE e.program_id = ${programId}::uuid AND e.xid >= ${watermark.toString()}::xid8 AND e.xid < (SELECT x FROM s)
                      AND e.partner_id IS NOT NULL AND (k.seq IS NULL OR e.partner_sequence > k.seq)
                    GROUP BY e.partner_id)
        SELECT (SELECT x::text FROM s) AS x, d.partner_id::text AS partner_id, d.upto
          FROM (SELECT 1) AS one LEFT JOIN d ON true
         ORDER BY d.partner_id`;
      const x = BigInt(rows[0]!.x);
      for (const row of rows) {
        if (!row.partner_id) continue;
        const upto = BigInt(row.upto!);
        // Everything of this partner up to `upto` is committed (visible in that snapshot, and each event waited for the one before).
        const known = await lastOf(row.partner_id, upto);
        if (upto > known) yield* range(db, programId, row.partner_id, known + 1n, upto);
      }
      if (x <= watermark) return;
      // Every committed event below x has now been delivered.
      watermark = x;
      for (const id of held) {
        if ((newest.get(id) ?? -1n) >= watermark) continue;
        held.delete(id);
        newest.delete(id);
      }
    },
    schedule(due) {
      due(); // right after replay
      const timer = setInterval(due, options.reconcileMs ?? RECONCILE_MS);
      return () => clearInterval(timer);
    },
    covered(event) {
      if (BigInt(event.xid) < watermark) return true;
      if (!event.partnerId) return false;
      const known = last.get(event.partnerId);
      return known !== undefined && BigInt(event.partnerSequence!) <= known;
    },
    delivered(event) {
      if (!event.partnerId) return;
      const xid = BigInt(event.xid);
      held.add(event.partnerId);
      remember(event.partnerId, BigInt(event.partnerSequence!));
      const previous = newest.get(event.partnerId);
      if (previous === undefined || xid > previous) newest.set(event.partnerId, xid);
    },
    cursor() {
      const p: Record<string, string> = {};
      for (const id of held) p[id] = last.get(id)!.toString();
      return encodeProgramCursor({ g: programId, w: watermark.toString(), p });
    },
  });
}

export interface ProgramCursor {
  /** The program whose feed handed it out. */
  g: string;
  /** Watermark: every event of a transaction below it was delivered. */
  w: string;
  /** Per partner with an event delivered at or above the watermark, the last sequence delivered. */
  p: Record<string, string>;
}

export interface PartnerCursor {
  partnerId: string;
  /** The last sequence delivered. */
  sequence: bigint;
}

/** Sequences and transaction ids are PostgreSQL bigints: a cursor naming a larger number names nothing. */
const MAX_BIGINT = 2n ** 63n - 1n;
const bigintOf = (digits: string): bigint | undefined => (/^\d{1,19}$/.test(digits) && BigInt(digits) <= MAX_BIGINT ? BigInt(digits) : undefined);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Versioned, and naming its partner: cursors of the earlier format
 * (`partner:<n>`) named a sequence of no partner in particular, so one of
 * another partner's feed, or one past the partner's last event, silently
 * swallowed live events; they are refused.
 */
const PARTNER_CURSOR = "partner:2:";

export function encodePartnerCursor(partnerId: string, sequence: bigint): string {
  return Buffer.from(`${PARTNER_CURSOR}${partnerId}:${sequence}`).toString("base64url");
}

export function decodePartnerCursor(cursor: string): PartnerCursor | undefined {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  if (!text.startsWith(PARTNER_CURSOR)) return undefined;
  const [partnerId, digits, ...rest] = text.slice(PARTNER_CURSOR.length).split(":");
  if (rest.length > 0 || !partnerId || !UUID.test(partnerId) || digits === undefined) return undefined;
  const sequence = bigintOf(digits);
  return sequence === undefined ? undefined : { partnerId, sequence };
}

/**
 * Versioned: cursors of the first program feed (`program:{…}`) could name a
 * watermark past events never delivered, and those of the second
 * (`program:2:`) named no program; both are refused.
 */
const PROGRAM_CURSOR = "program:3:";

export function encodeProgramCursor(cursor: ProgramCursor): string {
  return Buffer.from(`${PROGRAM_CURSOR}${JSON.stringify(cursor)}`).toString("base64url");
}

export function decodeProgramCursor(cursor: string): ProgramCursor | undefined {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  if (!text.startsWith(PROGRAM_CURSOR)) return undefined;
  try {
    const parsed = JSON.parse(text.slice(PROGRAM_CURSOR.length)) as ProgramCursor;
    if (typeof parsed !== "object" || parsed === null) return undefined;
    if (typeof parsed.g !== "string" || !UUID.test(parsed.g)) return undefined;
    if (typeof parsed.w !== "string" || bigintOf(parsed.w) === undefined || typeof parsed.p !== "object" || parsed.p === null || Array.isArray(parsed.p)) return undefined;
    for (const [id, seq] of Object.entries(parsed.p)) if (!UUID.test(id) || typeof seq !== "string" || bigintOf(seq) === undefined) return undefined;
    return parsed;
  } catch {
    return undefined;
  }
}

/** Why a well-formed cursor cannot resume this feed (null when it can). */
export type CursorProblem = { code: "INVALID_CURSOR"; message: string } | null;

/**
 * A partner feed's cursor must be of that partner's feed and name a sequence
 * the partner has reached: a cursor ahead of the partner would count events
 * not yet written as delivered, and swallow them when they come.
 */
export async function partnerCursorProblem(db: ScopedPrisma, partnerId: string, cursor: PartnerCursor): Promise<CursorProblem> {
  if (cursor.partnerId !== partnerId) return { code: "INVALID_CURSOR", message: "after is a cursor of another partner's feed" };
  const balance = await db.balance.findUnique({ where: { partnerId }, select: { eventSequence: true } });
  const last = balance?.eventSequence ?? 0n;
  if (cursor.sequence > last) return { code: "INVALID_CURSOR", message: `after names event ${cursor.sequence}, past the partner's last event (${last})` };
  return null;
}

/**
 * A program feed's cursor must be of this program's feed, its watermark no
 * later than the next transaction id, and each partner it names one of the
 * program's, at a sequence that partner has reached.
 */
export async function programCursorProblem(db: ScopedPrisma, programId: string, cursor: ProgramCursor): Promise<CursorProblem> {
  if (cursor.g !== programId) return { code: "INVALID_CURSOR", message: "after is a cursor of another program's feed" };
  const ids = Object.keys(cursor.p);
  const [row] = await db.$queryRaw<{ next: string; wrong: bigint }[]>`
    SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS next,
           (SELECT count(*) FROM unnest(${ids}::uuid[], ${ids.map((id) => cursor.p[id]!)}::bigint[]) AS k(pid, seq)
              LEFT JOIN balances b ON b.partner_id = k.pid AND b.program_id = ${programId}::uuid
             WHERE b.partner_id IS NULL OR k.seq > b.event_sequence) AS wrong`;
  if (BigInt(cursor.w) > BigInt(row!.next)) return { code: "INVALID_CURSOR", message: "after names a point past the program's last event" };
  if (Number(row!.wrong) > 0) return { code: "INVALID_CURSOR", message: "after names a partner the program does not have, or an event past a partner's last" };
  return null;
}

/**
 * Runs a feed up to its `started` item before handing it over, so that the
 * subscription's acknowledgement (SSE's response headers, which follow the
 * subscribe resolver) comes after the feed's starting position was read, and
 * a feed that cannot start (the database away) is refused as the subscription
 * instead of ending right after it was accepted.
 */
export async function startFeed(feed: AsyncIterableIterator<FeedItem>): Promise<AsyncIterableIterator<FeedItem>> {
  let first: IteratorResult<FeedItem> | undefined = await feed.next();
  const started: AsyncIterableIterator<FeedItem> = {
    next() {
      const result = first;
      first = undefined;
      return result ? Promise.resolve(result) : feed.next();
    },
    return(value?: unknown) {
      first = undefined;
      return feed.return ? feed.return(value) : Promise.resolve({ done: true, value: undefined });
    },
    throw(error?: unknown) {
      first = undefined;
      return feed.throw ? feed.throw(error) : Promise.reject(error);
    },
    [Symbol.asyncIterator]: () => started,
  };
  return started;
}
