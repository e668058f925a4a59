import { encodeProgramCursor, type ProgramCursor } from "./cursors.ts";
import { programTopic } from "./event-bus.ts";
import { committed, PAGE, range, type EventRow } from "./event-reads.ts";
import { feed, RECONCILE_MS, type Feed, type FeedOptions } from "./feed-engine.ts";

/** Partners whose last delivered sequence a program feed remembers beyond its cursor (a cache: forgetting costs a query). */
const KNOWN_PARTNERS = 10_000;

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
export function programFeed(options: FeedOptions & { after: ProgramCursor | null }): Feed {
  const { db, programId } = options;
  let watermark = options.after ? BigInt(options.after.w) : -1n;
  /** Per partner, the last sequence delivered, where known (P's partners always; others while remembered). */
  const last = new Map<string, bigint>();
  /** P's partners: those with an event delivered at or above the watermark. */
  const held = new Set<string>();
  /** Per partner in P, the newest transaction id among its delivered events. */
  const newest = new Map<string, bigint>();
  let timer: NodeJS.Timeout | undefined;

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
      const runs = rows
        .filter((row) => row.hi !== null)
        .map((row) => ({ partnerId: row.partner_id, lo: last.has(row.partner_id) ? last.get(row.partner_id)! + 1n : BigInt(row.lo!), hi: BigInt(row.hi!) }));
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
        const events = await db.$queryRaw<EventRow[]>`
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
    schedule(feed) {
      feed.due(); // right after replay
      timer = setInterval(() => feed.due(), options.reconcileMs ?? RECONCILE_MS);
    },
    missed(feed) {
      feed.due();
    },
    unschedule() {
      clearInterval(timer);
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
