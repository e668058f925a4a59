import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPartner } from "../../src/services/partners/create-partner.ts";
import { createProgram } from "../../src/services/programs/create-program.ts";
import { creditPartner } from "../../src/services/commissions/credit-partner.ts";
import { recordConversions } from "../../src/services/conversions/record-conversions.ts";
import type { Actor } from "../../src/services/deps.ts";
import type { CommittedEvent } from "../../src/services/events.ts";
import { decodeProgramCursor, encodeProgramCursor, type ProgramCursor } from "../../src/realtime/cursors.ts";
import type { FeedItem } from "../../src/realtime/feed-engine.ts";
import { partnerFeed } from "../../src/realtime/partner-feed.ts";
import { programFeed } from "../../src/realtime/program-feed.ts";
import { createRealtime, type Realtime } from "../../src/realtime/realtime.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { startServiceHarness, type ServiceHarness } from "../helpers/service-harness.ts";

/**
 * The program feed's cursor (W, P): the client has every event of a
 * transaction below W, and every event of p up to sequence P[p]; each
 * partner's events reach it once, in sequence order. These scenarios are the
 * ones that broke it (a reviewer's probes): per-partner sequence order that
 * differs from transaction-id order, transactions committing above one
 * still running, a FELL_BEHIND cursor, resuming long after, events of one
 * partner arriving out of order, and publishes that never arrive.
 *
 * On both databases the awkward orders are written as event rows with chosen
 * transaction ids (the feed reads the `xid` column); on PostgreSQL they are
 * also produced for real, with transactions waiting on a partner's lock.
 *
 * No check waits a fixed time and then expects nothing: a feed is read
 * until its STARTED item, and "nothing else came" is read up to a marker,
 * an event committed after everything the check is about. A feed delivers
 * its replay, then its first pass over the event table, then live events in
 * order, so a wrong delivery from any of them comes before the marker. (A
 * marker whose publish is withheld, delivered only by a later pass, would
 * wait on the oldest transaction running anywhere on the server, other
 * test files' included: not something a test can bound.)
 */

const PERIOD = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TIMEOUT = Symbol("timeout");

/** Reads a feed without ever losing an item to a timed-out read. */
class Reader {
  readonly items: FeedItem[] = [];
  private pending: Promise<IteratorResult<FeedItem>> | undefined;
  constructor(
    private readonly feed: AsyncIterableIterator<FeedItem>,
    /** Partners whose events are markers, left out of `events`. */
    private readonly markers: ReadonlySet<string> = new Set(),
  ) {}

  private async next(ms: number): Promise<FeedItem | typeof TIMEOUT | undefined> {
    this.pending ??= this.feed.next();
    const result = await Promise.race([this.pending, sleep(ms).then((): typeof TIMEOUT => TIMEOUT)]);
    if (result === TIMEOUT) return TIMEOUT;
    this.pending = undefined;
    if (result.done) return undefined;
    this.items.push(result.value);
    return result.value;
  }

  /** Reads until `done(this)` holds; fails after `ms`. */
  async until(done: (reader: Reader) => boolean, ms = 10_000): Promise<FeedItem[]> {
    const deadline = Date.now() + ms;
    while (!done(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; read so far: ${show(this.items)}`);
      const item = await this.next(left);
      if (item === undefined) throw new Error(`the feed ended; read: ${show(this.items)}`);
    }
    return this.items;
  }

  /** Reads up to the feed's acknowledgement: from here on, whatever commits is delivered. */
  async started(): Promise<void> {
    await this.until((reader) => reader.items.some((item) => item.kind === "started"));
  }

  async close(): Promise<void> {
    await this.feed.return?.();
  }

  /** The events delivered, markers left out. */
  get events(): CommittedEvent[] {
    return this.items.flatMap((item) => (item.kind === "event" && !this.markers.has(item.event.partnerId!) ? [item.event] : []));
  }

  /** Events delivered, markers left out, each with the cursor that follows it. */
  get eventItems(): Extract<FeedItem, { kind: "event" }>[] {
    return this.items.flatMap((item) => (item.kind === "event" && !this.markers.has(item.event.partnerId!) ? [item] : []));
  }

  get cursor(): string {
    return this.items.at(-1)!.cursor;
  }
}

const show = (items: FeedItem[]) =>
  items.map((i) => (i.kind === "event" ? `${i.event.partnerId?.slice(-4)}#${i.event.partnerSequence}@${i.event.xid}` : i.kind.toUpperCase())).join(" ");
const count = (n: number) => (reader: Reader) => reader.events.length >= n;

describe.each(databaseTargets())("program feed cursor on %s", (target) => {
  let h: ServiceHarness;
  let realtime: Realtime;
  /** When set, committed events are kept here instead of published (a lost, or late, publish). */
  let withheld: CommittedEvent[][] | undefined;

  beforeAll(async () => {
    h = await startServiceHarness(target);
    realtime = await createRealtime({ prisma: h.db.prisma, logger: pino({ level: "silent" }), queueSize: 100, recheckMs: 60_000, reconcileMs: PERIOD });
    h.deps.events = {
      publish: (events) => {
        h.published.push(...events);
        if (withheld) withheld.push([...events]);
        else realtime.bus.publish(events);
      },
    };
  });
  afterAll(async () => {
    await realtime?.close();
    await h?.close();
  });

  async function setup(partners = 3) {
    const program = await createProgram(
      h.deps,
      { role: "platform", id: "t" },
      { name: "feed", currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, holdPeriodDays: 0, approvalMode: "AUTOMATIC" },
    );
    if (!program.ok) throw new Error(JSON.stringify(program.errors));
    const actor: Actor = { role: "admin", id: "a", programId: program.value.id };
    const ids: string[] = [];
    for (let i = 0; i < partners; i++) {
      const partner = await createPartner(h.deps, actor, { name: `P${i}` });
      if (!partner.ok) throw new Error(JSON.stringify(partner.errors));
      ids.push(partner.value.id);
    }
    ids.sort();
    const db = h.deps.tenant(actor.programId);
    // Made after the others: its id sorts last, so a reconciliation pass reaches it last.
    const marker = await createPartner(h.deps, actor, { name: "marker" });
    if (!marker.ok) throw new Error(JSON.stringify(marker.errors));
    const markers = new Set([marker.value.id]);
    const credit = async (partnerId: string, amount = "1.00") => {
      const result = await creditPartner(h.deps, actor, { partnerId, amount, reasonCode: "BONUS" });
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
    };
    return {
      actor,
      db,
      programId: actor.programId,
      partners: ids,
      /** A cursor of this program's feed. */
      cursor: (w: bigint | number | string, p: Record<string, string> = {}): ProgramCursor => ({ g: actor.programId, w: w.toString(), p }),
      feed: (after: ProgramCursor | null, options: { queueSize?: number; reconcileMs?: number } = {}) =>
        new Reader(
          programFeed({ bus: realtime.bus, db, programId: actor.programId, after, queueSize: options.queueSize ?? 100, reconcileMs: options.reconcileMs ?? PERIOD }),
          markers,
        ),
      credit,
      /** Reads each feed up to a marker committed now: what it delivers before the marker is all it delivers of what came before. */
      settle: async (readers: Reader[]) => {
        const markersOf = (reader: Reader) => reader.items.filter((item) => item.kind === "event" && markers.has(item.event.partnerId!)).length;
        const seen = readers.map(markersOf);
        await credit(marker.value.id);
        await Promise.all(readers.map((reader, i) => reader.until((r) => markersOf(r) >= seen[i]! + 2)));
      },
      /** Every event of the program: per partner, its sequences in order. */
      table: async () => {
        const rows = await h.db.sql.query<{ partner_id: string; seq: string }>(
          "SELECT partner_id::text, partner_sequence::text AS seq FROM events WHERE program_id = $1 ORDER BY partner_id, partner_sequence",
          [actor.programId],
        );
        const byPartner = new Map<string, string[]>();
        for (const row of rows) byPartner.set(row.partner_id, [...(byPartner.get(row.partner_id) ?? []), row.seq]);
        return byPartner;
      },
      /** An event row with a chosen transaction id, as a transaction holding the partner's lock writes it. */
      craft: async (partnerId: string, xid: bigint) => {
        await h.db.sql.transaction(async (sql) => {
          const [row] = await sql.query<{ seq: string }>("UPDATE balances SET event_sequence = event_sequence + 1 WHERE partner_id = $1 RETURNING event_sequence::text AS seq", [
            partnerId,
          ]);
          await sql.query(
            "INSERT INTO events (program_id, partner_id, partner_sequence, type, entity_id, payload, xid) VALUES ($1, $2, $3, 'balance.changed', $2, '{}', $4::text::xid8)",
            [actor.programId, partnerId, row!.seq, xid.toString()],
          );
        });
      },
    };
  }

  /** Per partner, the sequences delivered, in the order delivered. */
  function delivered(...readers: Reader[]): Map<string, string[]> {
    const byPartner = new Map<string, string[]>();
    for (const reader of readers) for (const event of reader.events) byPartner.set(event.partnerId!, [...(byPartner.get(event.partnerId!) ?? []), event.partnerSequence!]);
    return byPartner;
  }

  async function xmin(): Promise<bigint> {
    const [row] = await h.db.sql.query<{ x: string }>("SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS x");
    return BigInt(row!.x);
  }

  const cursorOf = (reader: Reader) => decodeProgramCursor(reader.cursor)!;

  it("replays a partner's events in sequence order where transaction ids run the other way (X 1,2 @ b+1 and 3,4 @ b)", async () => {
    const s = await setup(1);
    const [x] = s.partners as [string];
    const b = (await xmin()) - 5n;
    await s.craft(x, b + 1n);
    await s.craft(x, b + 1n);
    await s.craft(x, b);
    await s.craft(x, b);
    const feed = s.feed(s.cursor(b));
    await feed.until(count(4));
    expect(delivered(feed).get(x)).toEqual(["1", "2", "3", "4"]);
    await s.credit(x); // live, after the replay
    await feed.until(count(6));
    await s.settle([feed]);
    expect(delivered(feed)).toEqual(new Map([[x, ["1", "2", "3", "4", "5", "6"]]]));
    await feed.close();
    const again = s.feed(cursorOf(feed));
    await s.settle([again]);
    expect(show(again.eventItems)).toBe("");
    await again.close();
  });

  it("replays events committed before the subscription above a transaction still running, and its cursor never passes them", async () => {
    const s = await setup(2);
    const [w, y] = s.partners as [string, string];
    const w0 = await xmin();
    // Y's event comes from a transaction newer than every one still running
    // (and newer than anything the watermark will reach in this test).
    await s.craft(y, w0 + 1_000_000n);
    const feed = s.feed(s.cursor(w0));
    await feed.until(count(1));
    expect(delivered(feed).get(y)).toEqual(["1"]);
    await sleep(3 * PERIOD); // the watermark moves
    await s.credit(w);
    await feed.until(count(3));
    await feed.close();
    expect(cursorOf(feed).p[y]).toBe("1");
    const again = s.feed(cursorOf(feed));
    await s.credit(y);
    await again.until(count(2));
    await s.settle([again]);
    expect(delivered(again)).toEqual(new Map([[y, ["2", "3"]]]));
    await again.close();
  });

  it("gives a FELL_BEHIND cursor that resumes with exactly the events dropped, however long the client stalled", async () => {
    const s = await setup(1);
    const [y] = s.partners as [string];
    await s.credit(y); // before the feed: not delivered
    const feed = s.feed(null, { queueSize: 2 });
    await feed.started();
    await s.settle([feed]); // its first pass is over: what follows is live
    const first = feed.until(count(1));
    for (let i = 0; i < 4; i++) await s.credit(y);
    await first;
    await sleep(10 * PERIOD); // the client stalls for many periods
    await feed.until((reader) => reader.items.some((item) => item.kind === "fell_behind"));
    const notice = feed.items.at(-1)!;
    expect(notice).toMatchObject({ kind: "fell_behind", reason: "QUEUE_FULL" });
    await feed.close();
    const again = s.feed(decodeProgramCursor(notice.cursor)!);
    await s.settle([again]);
    await again.close();
    expect(delivered(feed, again).get(y)).toEqual(["3", "4", "5", "6", "7", "8", "9", "10"]);
  });

  it("resumes from any cursor, even many periods later, with each event exactly once and in order", async () => {
    const s = await setup(3);
    const [a, b, c] = s.partners as [string, string, string];
    await s.credit(a);
    const readers: Reader[] = [];
    let after: ProgramCursor | null = null;
    for (let round = 0; round < 4; round++) {
      const feed = s.feed(after);
      readers.push(feed);
      await feed.started();
      await s.settle([feed]); // what it missed is replayed before the marker
      const replayed = feed.events.length;
      await s.credit(a);
      await s.credit(round % 2 ? b : c);
      await feed.until(count(replayed + 4));
      if (round % 2) await sleep(5 * PERIOD); // long enough for the watermark to pass all of it
      await feed.close();
      // Resume from the last cursor, or from one in the middle (what a client that lost the tail holds).
      after = decodeProgramCursor(round === 2 ? feed.eventItems[1]!.cursor : feed.cursor)!;
      await s.credit(c); // while away
    }
    const last = s.feed(after);
    readers.push(last);
    await s.settle([last]);
    await last.close();
    const table = await s.table();
    const got = delivered(...readers);
    // Round 2 resumed from its second event: its last two came again, once.
    const third = readers[2]!.events.slice(2).map((e) => `${e.partnerId}/${e.partnerSequence}`);
    const all = readers.flatMap((r) => r.events.map((e) => `${e.partnerId}/${e.partnerSequence}`));
    for (const key of third) expect(all.filter((k) => k === key)).toHaveLength(2);
    for (const key of all.filter((k) => !third.includes(k))) expect(all.filter((k) => k === key)).toHaveLength(1);
    // Everything after the start, in order, per partner.
    const dedupe = (list: string[]) => list.filter((seq, i) => list.indexOf(seq) === i);
    expect(dedupe(got.get(a)!)).toEqual(table.get(a)!.slice(2));
    expect(dedupe(got.get(b)!)).toEqual(table.get(b)!);
    expect(dedupe(got.get(c)!)).toEqual(table.get(c)!);
    for (const list of got.values()) expect(dedupe(list)).toEqual([...dedupe(list)].sort((x, y) => Number(x) - Number(y)));
  });

  it("never delivers again what a resumed cursor names, however slowly the client reads the replay", async () => {
    const s = await setup(2);
    const [w, x] = s.partners as [string, string];
    const b = (await xmin()) - 5n;
    await s.craft(x, b + 1n);
    await s.craft(x, b + 1n);
    await s.craft(w, b);
    await s.craft(w, b);
    // The client has X#1, X#2 (above the watermark b) and nothing of W.
    const feed = s.feed(s.cursor(b, { [x]: "2" }));
    await feed.until(count(1));
    await sleep(5 * PERIOD); // reads slowly: the watermark may move meanwhile
    await s.settle([feed]);
    await feed.close();
    expect(delivered(feed)).toEqual(new Map([[w, ["1", "2"]]]));
    const again = s.feed(cursorOf(feed));
    await s.settle([again]);
    expect(show(again.eventItems)).toBe("");
    await again.close();
  });

  it("fills the gap when a partner outside the cursor's map has a later event arrive first (two instances)", async () => {
    const s = await setup(1);
    const [x] = s.partners as [string];
    await s.credit(x); // X#1, X#2: below the watermark, X is not in P
    const feed = s.feed(null, { reconcileMs: 60_000 });
    await feed.started();
    withheld = [];
    try {
      await s.credit(x); // X#3, X#4
      await s.credit(x); // X#5, X#6
    } finally {
      const held = withheld;
      withheld = undefined;
      realtime.bus.publish(held[1]!); // the other instance's publish reaches Redis first
      realtime.bus.publish(held[0]!);
    }
    await feed.until(count(4));
    await s.settle([feed]);
    await feed.close();
    expect(delivered(feed)).toEqual(new Map([[x, ["3", "4", "5", "6"]]]));
  });

  it("fills the gap for a partner that left the cursor's map, in the same session and after resuming", async () => {
    const s = await setup(1);
    const [x] = s.partners as [string];
    const outOfOrder = async () => {
      withheld = [];
      try {
        await s.credit(x);
        await s.credit(x);
      } finally {
        const held = withheld;
        withheld = undefined;
        realtime.bus.publish(held[1]!);
        realtime.bus.publish(held[0]!);
      }
    };
    const feed = s.feed(null);
    await feed.started();
    await s.credit(x);
    await feed.until(count(2));
    await sleep(5 * PERIOD); // the watermark passes X#1, X#2: X leaves P (the feed still knows its last sequence)
    await outOfOrder();
    await feed.until(count(6));
    await s.settle([feed]);
    await feed.close();
    const again = s.feed(cursorOf(feed), { reconcileMs: 60_000 }); // X may be outside P: its last sequence is read from the table
    await again.started();
    await outOfOrder();
    await again.until(count(4));
    await s.settle([again]);
    await again.close();
    expect(delivered(feed, again).get(x)).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
  });

  it("delivers events whose publish was lost within a period: program feed", async () => {
    const s = await setup(2);
    const [w, y] = s.partners as [string, string];
    const feed = s.feed(null);
    await feed.started();
    withheld = [];
    try {
      await s.credit(y);
    } finally {
      withheld = undefined; // never published
    }
    await feed.until(count(2)); // the next pass (held back while any older transaction runs on the server)
    await s.credit(w); // and live ones still come
    await feed.until(count(4));
    await feed.close();
    expect(delivered(feed)).toEqual(
      new Map([
        [y, ["1", "2"]],
        [w, ["1", "2"]],
      ]),
    );
  });

  it("delivers events whose publish was lost within a period: partner feed, through the shared watch and on its own", async () => {
    const s = await setup(1);
    const [p] = s.partners as [string];
    const watched = new Reader(partnerFeed({ bus: realtime.bus, db: s.db, programId: s.programId, partnerId: p, after: null, queueSize: 100, watch: realtime.watch }));
    const alone = new Reader(partnerFeed({ bus: realtime.bus, db: s.db, programId: s.programId, partnerId: p, after: null, queueSize: 100, reconcileMs: PERIOD }));
    await Promise.all([watched.started(), alone.started()]);
    withheld = [];
    try {
      await s.credit(p);
    } finally {
      withheld = undefined;
    }
    await Promise.all([watched.until(count(2)), alone.until(count(2))]);
    await s.credit(p);
    await Promise.all([watched.until(count(4)), alone.until(count(4))]);
    await Promise.all([watched.close(), alone.close()]);
    for (const reader of [watched, alone]) expect(reader.events.map((e) => e.partnerSequence)).toEqual(["1", "2", "3", "4"]);
  });

  it("keeps its cursor small: partners leave it once the watermark passes their events; cursors of the earlier formats are refused", async () => {
    const s = await setup(2);
    const [a, b] = s.partners as [string, string];
    // A feed whose only pass is the one after its replay: nothing moves its watermark past B's events.
    const first = s.feed(null, { reconcileMs: 60_000 });
    await first.started();
    await s.settle([first]);
    await s.credit(b);
    await s.credit(a);
    await first.until(count(4));
    expect(Object.keys(cursorOf(first).p)).toContain(b);
    await first.close();
    // Resumed under a feed whose passes run every period, B leaves once the watermark passes its events.
    // The watermark follows the oldest running transaction (other test files' included): give it time.
    const feed = s.feed(cursorOf(first));
    await feed.started();
    const deadline = Date.now() + 20_000;
    while (Object.keys(cursorOf(feed).p).includes(b)) {
      if (Date.now() > deadline) throw new Error(`b never left the cursor: ${JSON.stringify(cursorOf(feed))}`);
      await sleep(3 * PERIOD);
      const seen = feed.events.length;
      await s.credit(a, "0.01");
      await feed.until(count(seen + 2));
    }
    await feed.close();
    expect(decodeProgramCursor(Buffer.from('program:{"w":"1","p":{}}').toString("base64url"))).toBeUndefined();
    expect(decodeProgramCursor(Buffer.from('program:2:{"w":"1","p":{}}').toString("base64url"))).toBeUndefined(); // named no program
    expect(decodeProgramCursor(encodeProgramCursor(s.cursor(5)))).toEqual({ g: s.programId, w: "5", p: {} });
  });

  // Real concurrent transactions need PostgreSQL (PGlite has one connection); defined, not skipped, on PGlite.
  if (target === "postgres")
    describe("with real concurrent transactions", () => {
      it("replays in sequence order when a transaction took its id before waiting for the partner's lock", async () => {
        const s = await setup(2);
        const [w, x] = s.partners as [string, string];
        const w0 = await xmin();
        const now = () => new Date(h.clock.now().getTime() - 1000);
        let release!: () => void;
        let locked!: () => void;
        const isLocked = new Promise<void>((resolve) => (locked = resolve));
        const holder = h.db.sql.transaction(async (sql) => {
          await sql.query("SELECT 1 FROM balances WHERE partner_id = $1 FOR UPDATE", [w]);
          locked();
          await new Promise<void>((resolve) => (release = resolve));
        });
        await isLocked;
        // A: a sale for W and X takes its transaction id, then waits for W's lock.
        const a = recordConversions(h.deps, s.actor, [{ externalId: "A1", partners: [{ id: w }, { id: x }], amount: "100.00", currency: "USD", occurredAt: now() }], () => [
          "input",
        ]);
        await sleep(500);
        // B: a sale for X alone: a later transaction id, X's first sequences.
        const b = await recordConversions(h.deps, s.actor, [{ externalId: "B1", partners: [{ id: x }], amount: "50.00", currency: "USD", occurredAt: now() }], () => ["input"]);
        expect(b.ok).toBe(true);
        release();
        await holder;
        expect((await a).ok).toBe(true);
        const rows = await h.db.sql.query<{ seq: string; xid: string }>(
          "SELECT partner_sequence::text AS seq, xid::text FROM events WHERE partner_id = $1 ORDER BY partner_sequence",
          [x],
        );
        expect(BigInt(rows[0]!.xid)).toBeGreaterThan(BigInt(rows.at(-1)!.xid)); // the orders differ
        const feed = s.feed(s.cursor(w0));
        await feed.until(count(6));
        await s.settle([feed]);
        await feed.close();
        expect(delivered(feed)).toEqual(
          new Map([
            [w, ["1", "2"]],
            [x, ["1", "2", "3", "4"]],
          ]),
        );
      });

      it("replays what committed above a transaction still running, and a later cursor neither skips nor repeats it", async () => {
        const s = await setup(2);
        const [w, y] = s.partners as [string, string];
        const w0 = await xmin();
        let release!: () => void;
        let started!: () => void;
        const isStarted = new Promise<void>((resolve) => (started = resolve));
        const long = h.db.sql.transaction(async (sql) => {
          await sql.query("SELECT pg_current_xact_id()");
          started();
          await new Promise<void>((resolve) => (release = resolve));
        });
        await isStarted;
        await s.credit(y); // commits above the running transaction, before the subscription
        const feed = s.feed(s.cursor(w0));
        await feed.until(count(2));
        release();
        await long;
        await sleep(3 * PERIOD);
        await s.credit(w);
        await feed.until(count(4));
        await s.settle([feed]);
        await feed.close();
        expect(delivered(feed)).toEqual(
          new Map([
            [y, ["1", "2"]],
            [w, ["1", "2"]],
          ]),
        );
        const again = s.feed(cursorOf(feed));
        await s.settle([again]);
        expect(show(again.eventItems)).toBe("");
        await again.close();
      });

      it("resumes later without repeating what it delivered above a transaction that was running", async () => {
        const s = await setup(2);
        const [w, x] = s.partners as [string, string];
        let release!: () => void;
        let written!: () => void;
        const isWritten = new Promise<void>((resolve) => (written = resolve));
        // A transaction of W's that started first and commits late (its event is never published).
        const late = h.db.sql.transaction(async (sql) => {
          const [row] = await sql.query<{ seq: string }>("UPDATE balances SET event_sequence = event_sequence + 1 WHERE partner_id = $1 RETURNING event_sequence::text AS seq", [
            w,
          ]);
          await sql.query("INSERT INTO events (program_id, partner_id, partner_sequence, type, entity_id, payload) VALUES ($1, $2, $3, 'balance.changed', $2, '{}')", [
            s.programId,
            w,
            row!.seq,
          ]);
          written();
          await new Promise<void>((resolve) => (release = resolve));
        });
        await isWritten;
        const feed = s.feed(null);
        await feed.started();
        await s.credit(x);
        await feed.until(count(2));
        await s.settle([feed]);
        await feed.close();
        release();
        await late;
        await sleep(5 * PERIOD); // the client comes back many periods later
        const again = s.feed(cursorOf(feed));
        await s.settle([again]);
        await again.close();
        expect(delivered(feed)).toEqual(new Map([[x, ["1", "2"]]]));
        expect(delivered(again)).toEqual(new Map([[w, ["1"]]]));
      });
    });
});
