import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { graphql } from "../../src/generated/gql/index.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { feedClient, PartnerFeedDoc, subscribe } from "../helpers/feed-client.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { IssueIntegrationTokenDoc } from "../helpers/integration-token.ts";
import { recordSale, ReviewDocs } from "../helpers/ledger-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const RevokeWatcherDoc = graphql(`
  mutation RevokeWatcher($input: RevokeIntegrationTokenInput!) { revokeIntegrationToken(input: $input) { integrationToken { id } userErrors { code } } }
`);

const ProgramFeedDoc = graphql(`
  subscription ProgramFeed($after: String) {
    programEvents(after: $after) { type cursor sequence partnerId commission { id status } balance { pending { amount } } fellBehind { reason } }
  }
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
    await new Promise((resolve) => setTimeout(resolve, 200)); // subscribed
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
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(other.items).toEqual([]);
    await mine.dispose();
    await theirs.dispose();
  });

  it("replays what was missed after a reconnect with `after`, once each, then continues live", async () => {
    const p = await createPartnerFixture(t, acme);
    const client = feedClient(t.url, p.token);
    const first = subscribe(client, PartnerFeedDoc, {});
    await new Promise((resolve) => setTimeout(resolve, 200));
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
    await new Promise((resolve) => setTimeout(resolve, 200));
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
    await new Promise((resolve) => setTimeout(resolve, 300));
    const p = await createPartnerFixture(t, acme);
    const q = await createPartnerFixture(t, acme);
    await recordSale(t, integration, p.id);
    await recordSale(t, integration, q.id);
    const items = await all.waitFor(4);
    expect(new Set(items.map((i) => i.programEvents.partnerId))).toEqual(new Set([p.id, q.id]));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(none.items).toEqual([]);
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
      const issued = dataOf(
        await quick.gql(IssueIntegrationTokenDoc, { input: { name: "watcher", scopes: ["COMMISSIONS_READ", "CONVERSIONS_WRITE"] } }, program.adminToken),
      ).issueIntegrationToken.issued!;
      let closedWith: number | undefined;
      const client = feedClient(quick.url, issued.token, { onClose: (code) => (closedWith = code) });
      const feed = subscribe(client, PartnerFeedDoc, { partnerId: p.id });
      await new Promise((resolve) => setTimeout(resolve, 200)); // subscribed
      await recordSale(quick, issued.token, p.id, { amount: "10.00" });
      await feed.waitFor(2);
      dataOf(await quick.gql(RevokeWatcherDoc, { input: { id: issued.integrationToken.id } }, program.adminToken));
      await Promise.race([feed.done, new Promise((_, reject) => setTimeout(() => reject(new Error("the feed outlived its revoked token")), 5_000))]);
      expect(feed.items).toHaveLength(2);
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

  it("refuses a cursor that is not one of this feed, or names a number past PostgreSQL's bigint", async () => {
    const p = await createPartnerFixture(t, acme);
    const client = feedClient(t.url, p.token);
    for (const after of [Buffer.from("partner:99999999999999999999").toString("base64url"), Buffer.from('program:{"w":"1","p":{}}').toString("base64url"), "junk"]) {
      const feed = subscribe(client, PartnerFeedDoc, { after });
      await feed.done;
      expect(feed.errors).toEqual([expect.objectContaining({ message: "after is not a cursor of this feed", extensions: expect.objectContaining({ code: "BAD_USER_INPUT" }) })]);
    }
    await client.dispose();
  });

  it("works over SSE too", async () => {
    const p = await createPartnerFixture(t, acme);
    const controller = new AbortController();
    const response = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${p.token}` },
      body: JSON.stringify({ query: "subscription { partnerEvents { type sequence commission { amount { amount } } } }" }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reader = response.body!.getReader();
    setTimeout(() => void recordSale(t, integration, p.id, { amount: "40.00" }), 300);
    let text = "";
    while (!/"COMMISSION_ACCRUED"/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    controller.abort();
    expect(text).toMatch(/"sequence":"1"/);
    expect(text).toMatch(/"amount":"4.00"/);
    const forged = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer nope.nope.nope` },
      body: JSON.stringify({ query: "subscription { partnerEvents { type } }" }),
    });
    expect(forged.status).toBe(401);
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
      // A raw graphql-ws client that stops reading its socket.
      const slow = new WebSocket(small.url.replace("http", "ws") + "/graphql", "graphql-transport-ws");
      const received: string[] = [];
      slow.on("message", (data) => received.push(data.toString()));
      await new Promise((resolve) => slow.once("open", resolve));
      slow.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${p.token}` } }));
      await new Promise((resolve) => slow.once("message", resolve));
      slow.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "subscription { partnerEvents { type sequence cursor commission { id kind status amount { amount currency } payableAt } fellBehind { reason dropped } } }" } }));
      await new Promise((resolve) => setTimeout(resolve, 300));
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
            payload: { id: p.rawId, partnerId: p.rawId, kind: "CREDIT", status: "APPROVED", amount: "1.00", currency: "USD", conversionId: null, relatedId: null, payableAt: new Date().toISOString(), matured: true },
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
