import { ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { graphql } from "../../src/generated/gql/index.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { feedClient, PartnerFeedDoc, ProgramFeedDoc, sseSubscribe, subscribe } from "../helpers/feed-client.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { IssueIntegrationTokenDoc } from "../helpers/integration-token.ts";
import { recordSale, ReviewDocs } from "../helpers/ledger-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const RevokeWatcherDoc = graphql(`
  mutation RevokeWatcher($input: RevokeIntegrationTokenInput!) { revokeIntegrationToken(input: $input) { integrationToken { id } userErrors { code } } }
`);

const MaturityFeedDoc = graphql(`
  subscription MaturityFeed { partnerEvents { type sequence commission { id status payable } } }
`);

describe.each(databaseTargets())("live feed on %s", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  let integration: string;

  beforeAll(async () => {
    t = await startTestApp(target);
    acme = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" } });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
  });
  afterAll(() => t?.stop());

  it("brings a partner its own accruals over WebSocket, in order, with the new balance; another partner gets nothing", async () => {
    const p = await createPartnerFixture(t, acme);
    const q = await createPartnerFixture(t, acme);
    const mine = feedClient(t.url, p.token);
    const theirs = feedClient(t.url, q.token);
    const feed = subscribe(mine, PartnerFeedDoc, {});
    const other = subscribe(theirs, PartnerFeedDoc, {});
    await Promise.all([feed.started, other.started]);
    const first = await recordSale(t, integration, p.id, { amount: "100.00" });
    const second = await recordSale(t, integration, p.id, { amount: "250.00" });
    const items = await feed.waitFor(4);
    expect(items.map((i) => [i.partnerEvents.type, i.partnerEvents.sequence])).toEqual([
      ["COMMISSION_ACCRUED", "1"],
      ["BALANCE_CHANGED", "2"],
      ["COMMISSION_ACCRUED", "3"],
      ["BALANCE_CHANGED", "4"],
    ]);
    expect(items[0]!.partnerEvents.commission).toMatchObject({ id: first.commissionId, status: "PENDING", amount: { amount: "10.00", currency: "USD" } });
    expect(items[2]!.partnerEvents.commission?.id).toBe(second.commissionId);
    expect(items[3]!.partnerEvents.balance).toMatchObject({ pending: { amount: "35.00" }, lifetimeEarned: { amount: "35.00" } });
    dataOf(await t.gql(ReviewDocs.approve, { input: { ids: [first.commissionId] } }, acme.adminToken));
    const more = await feed.waitFor(6);
    expect(more[4]!.partnerEvents).toMatchObject({ type: "COMMISSION_CHANGED", commission: { status: "APPROVED" } });
    // The marker: Q's own sale, after all of P's. Anything of P's sent to Q would have come before it.
    await recordSale(t, integration, q.id, { amount: "10.00" });
    const theirsNow = await other.waitFor(2);
    expect(theirsNow.map((i) => [i.partnerEvents.partnerId, i.partnerEvents.sequence])).toEqual([
      [q.id, "1"],
      [q.id, "2"],
    ]);
    await mine.dispose();
    await theirs.dispose();
  });

  it("says a sale's line is past its hold when it accrues already past it (no hold), as the balance counts it", async () => {
    const p = await createPartnerFixture(t, acme);
    const client = feedClient(t.url, p.token);
    const feed = subscribe(client, MaturityFeedDoc, {});
    await feed.started;
    const sale = await recordSale(t, integration, p.id, { amount: "100.00" });
    const [accrued] = await feed.waitFor(2);
    // The program holds nothing (holdPeriodDays 0): the line accrues matured; the event said otherwise before.
    expect(accrued!.partnerEvents).toMatchObject({ type: "COMMISSION_ACCRUED", commission: { id: sale.commissionId, status: "PENDING", payable: true } });
    await client.dispose();
  });

  it("replays what was missed after a reconnect with `after`, once each, then continues live", async () => {
    const p = await createPartnerFixture(t, acme);
    const client = feedClient(t.url, p.token);
    const first = subscribe(client, PartnerFeedDoc, {});
    await first.started;
    await recordSale(t, integration, p.id);
    const seen = await first.waitFor(2);
    const cursor = seen.at(-1)!.partnerEvents.cursor;
    first.stop();
    // While disconnected: two more sales.
    await recordSale(t, integration, p.id);
    await recordSale(t, integration, p.id);
    const again = subscribe(client, PartnerFeedDoc, { after: cursor });
    const replayed = await again.waitFor(4);
    expect(replayed.map((i) => i.partnerEvents.sequence)).toEqual(["3", "4", "5", "6"]);
    await recordSale(t, integration, p.id);
    const live = await again.waitFor(6);
    expect(live.map((i) => i.partnerEvents.sequence)).toEqual(["3", "4", "5", "6", "7", "8"]);
    await client.dispose();
  });

  it("refuses another partner's feed with FORBIDDEN and keeps the socket up", async () => {
    const p = await createPartnerFixture(t, acme);
    const q = await createPartnerFixture(t, acme);
    const client = feedClient(t.url, p.token);
    const refused = subscribe(client, PartnerFeedDoc, { partnerId: q.id });
    await refused.done;
    expect(JSON.stringify(refused.errors)).toMatch(/FORBIDDEN/);
    const own = subscribe(client, PartnerFeedDoc, { partnerId: p.id });
    await own.started;
    await recordSale(t, integration, p.id);
    await own.waitFor(2);
    await client.dispose();
  });

  it("lets operators watch the whole program, and keeps other programs out", async () => {
    const other = await createProgramFixture(t);
    const watcher = feedClient(t.url, acme.analystToken);
    const outsider = feedClient(t.url, other.adminToken);
    const all = subscribe(watcher, ProgramFeedDoc, {});
    const none = subscribe(outsider, ProgramFeedDoc, {});
    await Promise.all([all.started, none.started]);
    const p = await createPartnerFixture(t, acme);
    const q = await createPartnerFixture(t, acme);
    await recordSale(t, integration, p.id);
    await recordSale(t, integration, q.id);
    const items = await all.waitFor(4);
    expect(new Set(items.map((i) => i.programEvents.partnerId))).toEqual(new Set([p.id, q.id]));
    // The marker: a sale in the other program, after all of ACME's. Anything of ACME's sent there would have come before it.
    const theirs = await createPartnerFixture(t, other);
    await recordSale(t, await other.integrationToken(["CONVERSIONS_WRITE"]), theirs.id);
    const seenThere = await none.waitFor(2);
    expect(seenThere.map((i) => i.programEvents.partnerId)).toEqual([theirs.id, theirs.id]);
    const partnerTries = feedClient(t.url, p.token);
    const refused = subscribe(partnerTries, ProgramFeedDoc, {});
    await refused.done;
    expect(JSON.stringify(refused.errors)).toMatch(/FORBIDDEN/);
    // Resuming the program feed from a cursor replays what came after it.
    const cursor = items[1]!.programEvents.cursor;
    all.stop();
    await recordSale(t, integration, p.id);
    const resumed = subscribe(watcher, ProgramFeedDoc, { after: cursor });
    const replayed = await resumed.waitFor(4);
    const ids = replayed.map((i) => `${i.programEvents.partnerId}/${i.programEvents.sequence}`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining([`${q.id}/1`, `${q.id}/2`, `${p.id}/3`, `${p.id}/4`]));
    await watcher.dispose();
    await outsider.dispose();
    await partnerTries.dispose();
  });

  it("refuses a connection without a valid token, and closes the socket when the token expires (4403)", async () => {
    const forged = await new Promise<number>((resolve) => {
      const client = feedClient(t.url, "forged.token.value", { onClose: resolve });
      subscribe(client, PartnerFeedDoc, {});
    });
    expect(forged).toBe(4403);
    const p = await createPartnerFixture(t, acme);
    const shortLived = await t.token({ role: "partner", programId: acme.rawId, partnerId: p.rawId }, 2);
    const started = Date.now();
    const closed = await new Promise<number>((resolve) => {
      const client = feedClient(t.url, shortLived, { onClose: resolve });
      subscribe(client, PartnerFeedDoc, {});
    });
    expect(closed).toBe(4403);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it("ends an integration token's feed once the token is revoked, and closes its socket at the next operation (4403)", async () => {
    const quick = await startTestApp(target, { env: { ACCRUE_FEED_RECHECK_MS: "100" } });
    try {
      const program = await createProgramFixture(quick, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" } });
      const p = await createPartnerFixture(quick, program);
      const issued = dataOf(await quick.gql(IssueIntegrationTokenDoc, { input: { name: "watcher", scopes: ["COMMISSIONS_READ", "CONVERSIONS_WRITE"] } }, program.adminToken))
        .issueIntegrationToken.issued!;
      let closedWith: number | undefined;
      const client = feedClient(quick.url, issued.token, { onClose: (code) => (closedWith = code) });
      const feed = subscribe(client, PartnerFeedDoc, { partnerId: p.id });
      await feed.started;
      await recordSale(quick, issued.token, p.id, { amount: "10.00" });
      await feed.waitFor(2);
      dataOf(await quick.gql(RevokeWatcherDoc, { input: { id: issued.integrationToken.id } }, program.adminToken));
      await Promise.race([feed.done, new Promise((_, reject) => setTimeout(() => reject(new Error("the feed outlived its revoked token")), 5_000))]);
      // It says why it ended, with the cursor to resume from (under a token that may read it).
      expect(feed.items.map((i) => i.partnerEvents.type)).toEqual(["COMMISSION_ACCRUED", "BALANCE_CHANGED", "ENDED"]);
      expect(feed.items[2]!.partnerEvents).toMatchObject({ ended: { reason: "TOKEN_REVOKED" }, cursor: feed.items[1]!.partnerEvents.cursor });
      expect(closedWith).toBeUndefined(); // the feed ended; the socket is still open
      const again = subscribe(client, PartnerFeedDoc, { partnerId: p.id });
      await again.done;
      expect(again.items).toEqual([]);
      expect(closedWith).toBe(4403);
      await client.dispose();
    } finally {
      await quick.stop();
    }
  });

  it("refuses another partner's cursor, and one past the partner's last event, so no cursor can swallow live events (INVALID_CURSOR)", async () => {
    const p = await createPartnerFixture(t, acme);
    const q = await createPartnerFixture(t, acme);
    const client = feedClient(t.url, acme.analystToken);
    const cursorOf = async (partnerId: string) => {
      const feed = subscribe(client, PartnerFeedDoc, { partnerId });
      await feed.started;
      await recordSale(t, integration, partnerId);
      const [, balance] = await feed.waitFor(2);
      feed.stop();
      return balance!.partnerEvents.cursor;
    };
    const mine = await cursorOf(p.id);
    const theirs = await cursorOf(q.id);
    // The same cursor, naming P's event 99,999,999 (P has 2).
    const ahead = Buffer.from(Buffer.from(mine, "base64url").toString().replace(/\d+$/, "99999999")).toString("base64url");
    for (const [after, message] of [
      [theirs, /^after is a cursor of another partner's feed$/],
      [ahead, /^after names event 99999999, past the partner's last event \(\d+\)$/],
    ] as const) {
      const refused = subscribe(client, PartnerFeedDoc, { partnerId: p.id, after });
      // A sale of P's: a feed that took the cursor would deliver it, or swallow it.
      await recordSale(t, integration, p.id);
      await Promise.race([refused.done, refused.started, refused.waitFor(1)]).catch(() => undefined);
      expect(refused.items).toEqual([]);
      expect(refused.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(message), extensions: expect.objectContaining({ code: "INVALID_CURSOR" }) })]);
    }
    // P's own cursor resumes, and its next sale arrives live.
    const resumed = subscribe(client, PartnerFeedDoc, { partnerId: p.id, after: mine });
    await resumed.started;
    await recordSale(t, integration, p.id);
    expect((await resumed.waitFor(6)).map((i) => i.partnerEvents.sequence)).toEqual(["3", "4", "5", "6", "7", "8"]);
    await client.dispose();
  });

  it("refuses another program's feed cursor, and one naming a partner the program does not have (INVALID_CURSOR)", async () => {
    const other = await createProgramFixture(t);
    const client = feedClient(t.url, acme.analystToken);
    const elsewhere = feedClient(t.url, other.adminToken);
    const theirs = subscribe(elsewhere, ProgramFeedDoc, {});
    const theirCursor = await theirs.started;
    const p = await createPartnerFixture(t, other);
    const refused = async (after: string, message: string) => {
      const feed = subscribe(client, ProgramFeedDoc, { after });
      await feed.done;
      expect(feed.errors).toEqual([expect.objectContaining({ message, extensions: expect.objectContaining({ code: "INVALID_CURSOR" }) })]);
    };
    await refused(theirCursor, "after is a cursor of another program's feed");
    const mine = subscribe(client, ProgramFeedDoc, {});
    const cursor = JSON.parse(
      Buffer.from(await mine.started, "base64url")
        .toString()
        .slice("program:3:".length),
    ) as { g: string; w: string; p: Record<string, string> };
    const forged = (c: typeof cursor) => Buffer.from(`program:3:${JSON.stringify(c)}`).toString("base64url");
    await refused(forged({ ...cursor, p: { [p.rawId]: "0" } }), "after names a partner the program does not have, or an event past a partner's last");
    await refused(forged({ ...cursor, w: "999999999999" }), "after names a point past the program's last event");
    await client.dispose();
    await elsewhere.dispose();
  });

  it("refuses a cursor that is not one of this feed, or names a number past PostgreSQL's bigint", async () => {
    const p = await createPartnerFixture(t, acme);
    const client = feedClient(t.url, p.token);
    const bigint = (n: string) => Buffer.from(`partner:2:${p.rawId}:${n}`).toString("base64url");
    for (const after of [
      bigint("99999999999999999999"),
      bigint("-1"),
      Buffer.from("partner:1").toString("base64url"), // the earlier format, which named no partner
      Buffer.from('program:{"w":"1","p":{}}').toString("base64url"),
      "junk",
    ]) {
      const feed = subscribe(client, PartnerFeedDoc, { after });
      await feed.done;
      expect(feed.errors).toEqual([expect.objectContaining({ message: "after is not a cursor of this feed", extensions: expect.objectContaining({ code: "BAD_USER_INPUT" }) })]);
    }
    await client.dispose();
  });

  it("works over SSE too", async () => {
    const p = await createPartnerFixture(t, acme);
    const sse = await sseSubscribe(t.url, p.token, "subscription { partnerEvents { type sequence commission { amount { amount } } } }");
    expect(sse.response.status).toBe(200);
    expect(sse.response.headers.get("content-type")).toMatch(/text\/event-stream/);
    expect((await sse.next())?.data.partnerEvents.type).toBe("STARTED");
    await recordSale(t, integration, p.id, { amount: "40.00" });
    expect((await sse.next())?.data.partnerEvents).toEqual({ type: "COMMISSION_ACCRUED", sequence: "1", commission: { amount: { amount: "4.00" } } });
    sse.close();
    const forged = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer nope.nope.nope` },
      body: JSON.stringify({ query: "subscription { partnerEvents { type } }" }),
    });
    expect(forged.status).toBe(401);
  });

  it("ends a feed with the reason over SSE: the token expired, or the integration token was revoked", async () => {
    const p = await createPartnerFixture(t, acme);
    const query = "subscription($partnerId: ID) { partnerEvents(partnerId: $partnerId) { type cursor ended { reason } } }";
    const shortLived = await t.token({ role: "partner", programId: acme.rawId, partnerId: p.rawId }, 1);
    const expiring = await sseSubscribe(t.url, shortLived, query);
    expect((await expiring.next())?.data.partnerEvents.type).toBe("STARTED");
    expect((await expiring.next())?.data.partnerEvents).toMatchObject({ type: "ENDED", ended: { reason: "TOKEN_EXPIRED" } });
    expect(await expiring.next()).toBeUndefined();

    const quick = await startTestApp(target, { env: { ACCRUE_FEED_RECHECK_MS: "100" } });
    try {
      const program = await createProgramFixture(quick);
      const q = await createPartnerFixture(quick, program);
      const issued = dataOf(await quick.gql(IssueIntegrationTokenDoc, { input: { name: "sse", scopes: ["COMMISSIONS_READ"] } }, program.adminToken)).issueIntegrationToken.issued!;
      const revoked = await sseSubscribe(quick.url, issued.token, query, { partnerId: q.id });
      expect((await revoked.next())?.data.partnerEvents.type).toBe("STARTED");
      dataOf(await quick.gql(RevokeWatcherDoc, { input: { id: issued.integrationToken.id } }, program.adminToken));
      expect((await revoked.next())?.data.partnerEvents).toMatchObject({ type: "ENDED", ended: { reason: "TOKEN_REVOKED" } });
      expect(await revoked.next()).toBeUndefined();
    } finally {
      await quick.stop();
    }
  });

  it("delivers what commits right after the subscription is acknowledged, even when the feed's first read is held (forced)", async () => {
    // Only live delivery counts here: the periodic check would fill a gap later.
    const quiet = await startTestApp(target, { env: { ACCRUE_FEED_RECONCILE_MS: "3600000" } });
    const partnerSequence = quiet.app.realtime.partnerSequence;
    const writeHead = ServerResponse.prototype.writeHead;
    try {
      const program = await createProgramFixture(quiet, { commissionRule: { type: "PERCENTAGE", percent: "10" } });
      const sales = await program.integrationToken(["CONVERSIONS_WRITE"]);
      const p = await createPartnerFixture(quiet, program);
      // Whether the SSE acknowledgement (the response's headers) has left the server.
      let acknowledgementSent = false;
      ServerResponse.prototype.writeHead = function (this: ServerResponse, ...args: unknown[]) {
        const result = (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
        if (/text\/event-stream/.test(`${this.getHeader("content-type") ?? ""} ${JSON.stringify(args)}`)) acknowledgementSent = true;
        return result;
      } as typeof writeHead;
      // The feed's first read of P's position is held; if the client was
      // acknowledged before it, the sale the client makes on its
      // acknowledgement commits before that read.
      let acknowledged!: () => void;
      const clientHasIt = new Promise<void>((resolve) => (acknowledged = resolve));
      let sale: Promise<unknown> | undefined;
      const sellOnce = () => (sale ??= recordSale(quiet, sales, p.id, { amount: "10.00" }));
      let held = false;
      let acknowledgedBeforeRead = false;
      // The feed's starting position is the partner's committed sequence (realtime.partnerSequence).
      quiet.app.realtime.partnerSequence = async (key) => {
        if (key.partnerId === p.rawId && !held) {
          held = true;
          acknowledgedBeforeRead = acknowledgementSent;
          if (acknowledgementSent) {
            await clientHasIt;
            await sellOnce();
          }
        }
        return partnerSequence(key);
      };

      const sse = await sseSubscribe(quiet.url, p.token, "subscription { partnerEvents { type sequence } }");
      acknowledged();
      await sellOnce(); // right after the acknowledgement
      await recordSale(quiet, sales, p.id, { amount: "20.00" });
      const seen: string[] = [];
      while (seen.at(-1) !== "4") {
        const next = await sse.next();
        if (!next) throw new Error(`the feed ended; saw ${seen.join(",")}`);
        if (next.data.partnerEvents.type !== "STARTED") seen.push(next.data.partnerEvents.sequence);
      }
      sse.close();
      expect(held).toBe(true);
      expect(seen).toEqual(["1", "2", "3", "4"]);
      expect(acknowledgedBeforeRead).toBe(false); // the acknowledgement never leaves before the feed's first read
    } finally {
      ServerResponse.prototype.writeHead = writeHead;
      quiet.app.realtime.partnerSequence = partnerSequence;
      await quiet.stop();
    }
  });

  it("never lets one subscriber that stops reading grow the server's memory, and tells it when it reads again", async () => {
    const QUEUE = 200;
    const small = await startTestApp(target, { env: { ACCRUE_FEED_QUEUE_SIZE: String(QUEUE) } });
    try {
      const program = await createProgramFixture(small);
      const p = await createPartnerFixture(small, program);
      // A healthy subscriber, reading as it should.
      const healthyClient = feedClient(small.url, p.token);
      const healthy = subscribe(healthyClient, PartnerFeedDoc, {});
      await healthy.started;
      // A raw graphql-ws client that stops reading its socket.
      const slow = new WebSocket(small.url.replace("http", "ws") + "/graphql", "graphql-transport-ws");
      const received: string[] = [];
      slow.on("message", (data) => received.push(data.toString()));
      await new Promise((resolve) => slow.once("open", resolve));
      slow.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${p.token}` } }));
      await new Promise((resolve) => slow.once("message", resolve));
      slow.send(
        JSON.stringify({
          id: "1",
          type: "subscribe",
          payload: {
            query: "subscription { partnerEvents { type sequence cursor commission { id kind status amount { amount currency } payableAt } fellBehind { reason dropped } } }",
          },
        }),
      );
      await new Promise<void>((resolve) => slow.on("message", (data) => data.toString().includes('"STARTED"') && resolve()));
      (slow as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

      // Events to its topic, in bursts the healthy subscriber keeps up with,
      // until the slow one's queue is full (the kernel's socket buffers take
      // the first few megabytes; then the server stops sending to it).
      const feeds = [...small.app.realtime.feeds].filter((f) => f.kind === "partner");
      expect(feeds).toHaveLength(2);
      const burst = 50;
      let total = 0;
      const slowFeed = () => feeds.find((f) => f.queue.dropped > 0);
      while (!slowFeed() && total < 200_000) {
        small.app.realtime.bus.publish(
          Array.from({ length: burst }, (_, i) => ({
            id: String(total + i + 1),
            programId: program.rawId,
            partnerId: p.rawId,
            partnerSequence: String(total + i + 1),
            type: "commission.changed",
            entityId: p.rawId,
            payload: {
              id: p.rawId,
              partnerId: p.rawId,
              kind: "CREDIT",
              status: "APPROVED",
              amount: "1.00",
              currency: "USD",
              conversionId: null,
              relatedId: null,
              payableAt: new Date().toISOString(),
              matured: true,
            },
            createdAt: new Date().toISOString(),
            xid: "1",
          })),
        );
        total += burst;
        await new Promise((resolve) => setTimeout(resolve, 1));
        for (const feed of feeds) expect(feed.queue.length).toBeLessThanOrEqual(QUEUE);
      }
      expect(slowFeed()).toBeDefined();
      await healthy.waitFor(total, 60_000);
      expect(healthy.items.map((i) => Number(i.partnerEvents.sequence))).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(slowFeed()!.queue.highWater).toBeLessThanOrEqual(QUEUE);
      expect(slowFeed()!.queue.dropped).toBeGreaterThan(0);
      expect(healthy.items.some((i) => i.partnerEvents.type === "FELL_BEHIND")).toBe(false);

      // The server still answers, and the slow client, reading again, hears it fell behind.
      expect(dataOf(await small.gql(graphql(`query StillUp { viewer { role } }`), {}, p.token)).viewer.role).toBe("PARTNER");
      (slow as unknown as { _socket: { resume(): void } })._socket.resume();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no FELL_BEHIND")), 20_000);
        const check = () => {
          if (received.some((m) => m.includes("FELL_BEHIND"))) {
            clearTimeout(timer);
            resolve();
          } else setTimeout(check, 50);
        };
        check();
      });
      const notice = JSON.parse(received.find((m) => m.includes("FELL_BEHIND"))!);
      expect(notice.payload.data.partnerEvents.fellBehind).toMatchObject({ reason: "QUEUE_FULL" });
      expect(notice.payload.data.partnerEvents.cursor).toEqual(expect.any(String));
      slow.close();
      await healthyClient.dispose();
    } finally {
      await small.stop();
    }
  }, 120_000);
});
