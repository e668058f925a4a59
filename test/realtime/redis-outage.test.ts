import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { signToken } from "../../src/auth/sign-token.ts";
import { createPostgresDatabase, hasPostgres } from "../helpers/databases.ts";
import { feedClient, PartnerFeedDoc, ProgramFeedDoc, subscribe } from "../helpers/feed-client.ts";
import { startServerProcess, type ServerProcess } from "../helpers/server-process.ts";

const SECRET = "outage-test-secret-long-enough-for-hs256";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A Redis of this test's own on a free port: the machine's shared one is never touched. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("redis-server did not start")), 10_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      if (/Ready to accept connections/i.test(chunk.toString())) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  return child;
}

async function call(url: string, token: string, query: string, variables: object = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: unknown[] } };
}

/**
 * A relay to Redis that the test can cut: the connections through it are
 * dropped and new ones refused until it is restored. One instance reaches
 * Redis through it, so that it alone loses Redis.
 */
async function startRelay(to: number) {
  const sockets = new Set<Socket>();
  let open = true;
  const server = createServer((client) => {
    if (!open) return void client.destroy();
    const upstream = connect(to, "127.0.0.1");
    for (const [from, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.pipe(other);
      from.on("error", () => other.destroy());
      from.on("close", () => {
        sockets.delete(from);
        other.destroy();
      });
    }
  });
  const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
  return {
    port,
    cut() {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      open = true;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

type Cleanup = (() => Promise<unknown> | unknown)[];

/**
 * Two server processes on one database, A reaching Redis at `redisA` and B at
 * `redisB`, a program with one partner, and a sale on A. The feeds' periodic
 * check of the event table is an hour away: what arrives live came through
 * Redis, or (A's own) directly.
 */
async function twoInstances(cleanup: Cleanup, redisA: string, redisB: string) {
  const database = await createPostgresDatabase();
  cleanup.push(() => database.drop());
  const env = (dir: string, redis: string) => ({
    DATABASE_URL: database.url,
    REDIS_URL: redis,
    ACCRUE_JWT_SECRET: SECRET,
    ACCRUE_DATA_DIR: dir,
    LOG_LEVEL: "info",
    ACCRUE_FEED_RECONCILE_MS: "3600000",
  });
  const dirs = [mkdtempSync(join(tmpdir(), "accrue-outage-")), mkdtempSync(join(tmpdir(), "accrue-outage-"))];
  cleanup.push(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const a: ServerProcess = await startServerProcess(env(dirs[0]!, redisA));
  cleanup.push(() => a.stop());
  const b: ServerProcess = await startServerProcess(env(dirs[1]!, redisB));
  cleanup.push(() => b.stop());

  const times = { secret: SECRET, issuer: "accrue", audience: "accrue", expiresAt: new Date(Date.now() + 3_600_000) };
  const platform = await signToken({ role: "platform", subject: "t" }, times);
  const program = await call(
    a.url,
    platform,
    'mutation { createProgram(input: { name: "Outage", currency: "USD", commissionRule: { type: FLAT, amount: "1.00" } }) { program { id } } }',
  );
  const programId = Buffer.from(program.body.data.createProgram.program.id, "base64").toString().split(":")[1]!;
  const admin = await signToken({ role: "admin", subject: "t", programId }, times);
  const partner = await call(a.url, admin, 'mutation { createPartner(input: { name: "P" }) { partner { id } } }');
  const partnerGlobalId = partner.body.data.createPartner.partner.id as string;
  const partnerToken = await signToken({ role: "partner", subject: "p", programId, partnerId: Buffer.from(partnerGlobalId, "base64").toString().split(":")[1]! }, times);
  let sales = 0;
  const sell = async () => {
    sales += 1;
    const result = await call(a.url, admin, `mutation($i: RecordConversionInput!) { recordConversion(input: $i) { conversion { id } userErrors { code } } }`, {
      i: { externalId: `o-${sales}`, partners: [{ id: partnerGlobalId }], amount: "10.00", currency: "USD", occurredAt: new Date().toISOString() },
    });
    expect(result.body.data.recordConversion.conversion).not.toBeNull();
  };

  // A subscriber that resumes from its cursor whenever told it fell behind.
  const follower = (instance: ServerProcess) => {
    const client = feedClient(instance.url, partnerToken);
    cleanup.push(() => client.dispose());
    const state = { sequences: [] as string[], notices: [] as string[], started: Promise.resolve("") };
    let cursor: string | undefined;
    const follow = () => {
      const feed = subscribe(client, PartnerFeedDoc, cursor ? { after: cursor } : {});
      state.started = feed.started;
      const seen = new Set<number>();
      const poll = setInterval(() => {
        feed.items.forEach((item, index) => {
          if (seen.has(index)) return;
          seen.add(index);
          const e = item.partnerEvents;
          cursor = e.cursor;
          if (e.type === "FELL_BEHIND") {
            state.notices.push(e.fellBehind!.reason);
            clearInterval(poll);
            feed.stop();
            follow();
          } else state.sequences.push(e.sequence!);
        });
      }, 20);
      cleanup.push(() => clearInterval(poll));
    };
    follow();
    return state;
  };
  const onB = follower(b); // the other instance: only Redis brings it A's events live
  const onA = follower(a); // the instance that commits: it needs no Redis for its own
  await Promise.all([onB.started, onA.started]);
  await sell();
  const until = async (check: () => boolean, ms: number, what: string) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}: B ${onB.sequences.join(",")} / ${onB.notices.join(",")}; A ${onA.sequences.join(",")} / ${onA.notices.join(",")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await until(() => onB.sequences.length >= 2 && onA.sequences.length >= 2, 10_000, "the first sale, through Redis and locally");
  return { a, b, admin, onA, onB, sell, until, sales: () => sales };
}

describe.runIf(hasPostgres)("Redis going away (two server processes, PostgreSQL, a Redis of the test's own)", () => {
  const cleanup: Cleanup = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it("keeps both instances serving and delivering their own events, tells subscribers to catch up, resumes fan-out, and loses nothing", async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    cleanup.push(() => redis.kill("SIGKILL"));
    const { a, b, admin, onA, onB, sell, until, sales: sold } = await twoInstances(cleanup, `redis://127.0.0.1:${port}`, `redis://127.0.0.1:${port}`);

    // Redis goes away for 20 seconds. A's subscriber is told (fan-out was
    // interrupted), resumes, and then gets each of A's sales live: the
    // periodic check is an hour away.
    redis.kill("SIGKILL");
    await new Promise((resolve) => redis.once("exit", resolve));
    await until(() => onA.notices.length > 0, 15_000, "A's subscriber to hear of the outage");
    await onA.started;
    const outageEnds = Date.now() + 20_000;
    while (Date.now() < outageEnds) {
      for (const instance of [a, b]) expect((await call(instance.url, admin, "{ viewer { role } }")).status).toBe(200);
      await sell();
      await until(() => onA.sequences.length >= sold() * 2, 10_000, "A's own sale delivered live during the outage");
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    expect(a.child.exitCode).toBeNull();
    expect(b.child.exitCode).toBeNull();
    expect(onB.notices).toContain("FAN_OUT_INTERRUPTED");
    expect(onA.notices).toEqual(["FAN_OUT_INTERRUPTED"]);

    // Redis is back: fan-out resumes and B's subscriber catches up on what was committed meanwhile.
    redis = await startRedis(port);
    await until(() => onB.sequences.length >= sold() * 2, 30_000, "the catch-up");
    // Once B's feed has resumed after Redis came back, a new sale reaches it through Redis alone.
    await until(() => onB.notices.filter((n) => n === "FAN_OUT_INTERRUPTED").length >= 2, 30_000, "B to hear fan-out is back");
    await onB.started;
    await sell();
    await until(() => onB.sequences.length >= sold() * 2, 15_000, "a live event through Redis after the outage");
    const all = Array.from({ length: sold() * 2 }, (_, i) => String(i + 1));
    expect(onB.sequences).toEqual(all);
    await until(() => onA.sequences.length >= sold() * 2, 15_000, "A's subscriber to have everything");
    expect(onA.sequences).toEqual(all);
    expect(a.child.exitCode).toBeNull();
    expect(b.child.exitCode).toBeNull();
  }, 120_000);

  it("an instance that alone loses Redis: once it can publish again, the other instance's feeds catch up on its events at once, and their clients are not interrupted", async () => {
    const port = await freePort();
    const redis = await startRedis(port);
    cleanup.push(() => redis.kill("SIGKILL"));
    const relay = await startRelay(port);
    cleanup.push(() => relay.close());
    const { b, admin, onA, onB, sell, until, sales: sold } = await twoInstances(cleanup, `redis://127.0.0.1:${relay.port}`, `redis://127.0.0.1:${port}`);
    // The program's operators on B, from now on (their feed is checked on its own, not through the partners' shared watch).
    const operators = feedClient(b.url, admin);
    cleanup.push(() => operators.dispose());
    const programFeed = subscribe(operators, ProgramFeedDoc, {});
    await programFeed.started;

    relay.cut();
    await until(() => onA.notices.length > 0, 15_000, "A's subscriber to hear of its outage");
    await onA.started;
    await sell(); // A's publish fails: only its own subscriber has it
    await until(() => onA.sequences.length >= sold() * 2, 10_000, "A's own sale delivered live during its outage");
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(onB.sequences).toEqual(["1", "2"]);

    // B's Redis never went away, so nothing else tells B's feed (its periodic check is an hour away).
    relay.restore();
    await until(() => onB.sequences.length >= sold() * 2, 15_000, "B's feed to catch up once A is back");
    expect(onB.sequences).toEqual(["1", "2", "3", "4"]);
    expect(onB.notices).toEqual([]);
    const onProgram = await programFeed.waitFor(2, 15_000);
    expect(onProgram.map((item) => [item.programEvents.type, item.programEvents.sequence])).toEqual([
      ["COMMISSION_ACCRUED", "3"],
      ["BALANCE_CHANGED", "4"],
    ]);
    // And fan-out from A works again.
    await until(() => onA.notices.length >= 2, 15_000, "A's subscriber to hear fan-out is back");
    await onA.started;
    await sell();
    await until(() => onB.sequences.length >= sold() * 2 && onA.sequences.length >= sold() * 2, 15_000, "a live event through Redis after A's outage");
    expect(onB.sequences).toEqual(["1", "2", "3", "4", "5", "6"]);
    expect(onA.sequences).toEqual(["1", "2", "3", "4", "5", "6"]);
  }, 120_000);
});
