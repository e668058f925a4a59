// `npm run bench:feed`: the live feed under load. N partners each hold one
// graphql-transport-ws subscription to `partnerEvents` (raw `ws` sockets in
// separate client processes, on loopback); accruals are posted at a fixed
// rate through the API, and each event's delivery latency is measured from
// the commit (`committedAt`) to the client. Also: the server's memory per
// idle subscribed connection (RSS, and V8 heap in use, each read after a
// full GC forced through the inspector). Next to two floors measured in the
// same run, a bare `ws` server in its own process that the same client
// processes connect to: "floor" sends messages of the same shape at the same
// rate with nothing else running; "loadedFloor" commits the same sales with
// plain pg (the rows of bench:ingest's single floor), driven over HTTP as
// accrue is, and sends each sale's two messages after its commit, so that
// the machine carries the same work while it delivers (like with like).
// Prints one JSON line; progress goes to stderr. Options (env):
// BENCH_DATABASE_URL, BENCH_SUBSCRIBERS (2000), BENCH_RATE (100 per second),
// BENCH_SECONDS (20), BENCH_CLIENT_PROCESSES (4), BENCH_HTTP_CONCURRENCY (16),
// BENCH_REDIS_URL (unset: in-process fan-out), BENCH_HEAP_SNAPSHOTS (a directory:
// the server's heap snapshots before and after subscribing, there), BENCH_PROFILE_CONNECT
// (a directory: the server's CPU profile of the connect phase alone, there),
// BENCH_PROFILE_RUN (a directory: the server's CPU profile of the measured window, there).
import { randomBytes } from "node:crypto";
import { fork, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { parse } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import WebSocket from "ws";
import { signToken } from "../src/auth/sign-token.ts";
import type { CreatePartnerInput, CreateProgramInput, RecordConversionInput, RecordConversionsInput } from "../src/generated/gql/graphql.ts";
import { BENCH_SECRET, freshDatabase, gql, percentile, pool, postJson, startServer } from "./lib.ts";
import { commandTicks, cpuTicks, freePort, liveMemoryKiB, machineTicks, settle, startCpuProfile, ticksSince } from "./process-stats.ts";
import type { ClientCommand, ClientReply, ClientStats, FloorCommand, FloorReply } from "./feed/protocol.ts";

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 2000);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const PROCESSES = Math.max(1, Math.min(Number(process.env.BENCH_CLIENT_PROCESSES ?? 4), SUBSCRIBERS));
const HTTP_CONCURRENCY = Number(process.env.BENCH_HTTP_CONCURRENCY ?? 16);
const SNAPSHOTS = process.env.BENCH_HEAP_SNAPSHOTS;
const PROFILE_CONNECT = process.env.BENCH_PROFILE_CONNECT;
const PROFILE_RUN = process.env.BENCH_PROFILE_RUN;
const CREATE_CONCURRENCY = 16;
/** Handshakes in flight per client process. */
const CONNECT_CONCURRENCY = 32;
const BATCH = 500;

// Plain documents (not `graphql()`), so codegen need not run for this script.
const doc = <T, V>(source: string) => parse(source) as unknown as TypedDocumentNode<T, V>;
type Errors = { userErrors: { message: string }[] };
const CreateProgram = doc<{ createProgram: { program: { id: string } | null } & Errors }, { input: CreateProgramInput }>(
  `mutation FeedBenchCreateProgram($input: CreateProgramInput!) { createProgram(input: $input) { program { id } userErrors { message } } }`,
);
const CreatePartner = doc<{ createPartner: { partner: { id: string } | null } & Errors }, { input: CreatePartnerInput }>(
  `mutation FeedBenchCreatePartner($input: CreatePartnerInput!) { createPartner(input: $input) { partner { id } userErrors { message } } }`,
);
const Record = doc<{ recordConversion: { created: boolean | null } & Errors }, { input: RecordConversionInput }>(
  `mutation FeedBenchRecord($input: RecordConversionInput!) { recordConversion(input: $input) { created userErrors { message } } }`,
);
const RecordMany = doc<{ recordConversions: { createdCount: number | null } & Errors }, { input: RecordConversionsInput }>(
  `mutation FeedBenchRecordMany($input: RecordConversionsInput!) { recordConversions(input: $input) { createdCount userErrors { message } } }`,
);
const SUBSCRIPTION = `subscription FeedBench { partnerEvents { type cursor sequence committedAt commission { id amount { amount } } balance { payable { amount } } } }`;

const tokenOptions = (expiresAt: Date) => ({ secret: BENCH_SECRET, issuer: "accrue", audience: "accrue", expiresAt });
const rawId = (id: string) => Buffer.from(id, "base64").toString("utf8").split(":")[1]!;
const began = performance.now();
const progress = (text: string) => process.stderr.write(`feed [${((performance.now() - began) / 1000).toFixed(1)} s]: ${text}\n`);

// ---------------------------------------------------------------- processes

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
let nextId = 1;

/** Sends a command to a child and waits for the answer with the same id. */
function ask<R>(child: ChildProcess, command: WithoutId<ClientCommand> | WithoutId<FloorCommand>, timeoutMs: number): Promise<R> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`child ${child.pid}: no answer to ${command.cmd} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: unknown) => {
      if ((message as { id?: number }).id !== id) return;
      done();
      resolve(message as R);
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`child ${child.pid} exited (${code}) while asked to ${command.cmd}`));
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.send({ ...command, id });
  });
}

function forkChild(file: string, execArgv: string[] = []): ChildProcess {
  const child = fork(new URL(file, import.meta.url).pathname, [], { execArgv: ["--import", "tsx", ...execArgv], stdio: ["ignore", "inherit", "pipe", "ipc"] });
  // Passes the child's stderr on, without the inspector's own notices (see liveMemoryKiB).
  let pending = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split("\n");
    pending = lines.pop()!;
    for (const line of lines) if (!/^(Debugger (listening|attached|ending)|For help, see)/.test(line)) process.stderr.write(`${line}\n`);
  });
  return child;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

// ---------------------------------------------------------------- clients

const clients: ChildProcess[] = [];

async function allStats(samples: boolean): Promise<ClientStats & { samples: number[] }> {
  const replies = await Promise.all(clients.map((child) => ask<ClientStats>(child, { cmd: "stats", samples }, 30_000)));
  return {
    received: replies.reduce((sum, r) => sum + r.received, 0),
    silent: replies.reduce((sum, r) => sum + r.silent, 0),
    errors: replies.reduce((sum, r) => sum + r.errors, 0),
    fellBehind: replies.reduce((sum, r) => sum + r.fellBehind, 0),
    unexpectedCloses: replies.reduce((sum, r) => sum + r.unexpectedCloses, 0),
    samples: replies.flatMap((r) => r.samples ?? []),
    ...(replies.find((r) => r.firstError) ? { firstError: replies.find((r) => r.firstError)!.firstError! } : {}),
  };
}

/** Polls the clients until `expected` messages arrived (at most `maxMs`), then waits `graceMs` for strays. */
async function tail(expected: number, maxMs: number, graceMs: number): Promise<void> {
  const until = performance.now() + maxMs;
  while (performance.now() < until && (await allStats(false)).received < expected) await sleep(250);
  await sleep(graceMs);
}

async function reset(): Promise<void> {
  await Promise.all(clients.map((child) => ask(child, { cmd: "reset" }, 30_000)));
}

async function closeSockets(): Promise<void> {
  await Promise.all(clients.map((child) => ask(child, { cmd: "close" }, 60_000)));
}

/** Splits 0..count-1 into one contiguous share per client process. */
function shares(count: number): { first: number; count: number }[] {
  return clients.map((_, p) => {
    const first = Math.floor((p * count) / clients.length);
    return { first, count: Math.floor(((p + 1) * count) / clients.length) - first };
  });
}

async function connect(mode: "graphql" | "floor", url: string, tokens: string[]): Promise<{ ready: number; failed: number; firstError?: string }> {
  const replies = await Promise.all(
    shares(SUBSCRIBERS).map((share, p) =>
      ask<Extract<ClientReply, { ev: "connected" }>>(
        clients[p]!,
        mode === "graphql"
          ? { cmd: "connect", mode, url, tokens: tokens.slice(share.first, share.first + share.count), query: SUBSCRIPTION, concurrency: CONNECT_CONCURRENCY, timeoutMs: 60_000 }
          : { cmd: "connect", mode, url, first: share.first, count: share.count, concurrency: CONNECT_CONCURRENCY, timeoutMs: 60_000 },
        900_000,
      ),
    ),
  );
  const firstError = replies.find((r) => r.firstError)?.firstError;
  return { ready: replies.reduce((sum, r) => sum + r.ready, 0), failed: replies.reduce((sum, r) => sum + r.failed, 0), ...(firstError ? { firstError } : {}) };
}

// ---------------------------------------------------------------- results

interface Measured {
  connected: number;
  /** Seconds to connect and subscribe every socket. */
  connectSeconds: number;
  /** Server (or floor) CPU over the connect phase, per connection (/proc/<pid>/stat). */
  subscribeCpuMs: number;
  /** Who used the machine over the connect phase: CPU seconds of the server (or floor), the client processes, PostgreSQL, and the machine in all. */
  connectCpuSeconds: CpuShares;
  memoryPerConnectionKiB: number;
  heapPerConnectionKiB: number;
  accruals: number;
  windowMs: number;
  expectedEvents: number;
  deliveredEvents: number;
  latencyMs: { p50: number; p99: number; max: number };
  eventsPerSecond: number;
  /** The sales' HTTP requests, sent to answered (not the bare floor's). */
  requestMs?: { p50: number; p99: number; max: number };
  /** Who used the machine over the measured window of sales (not the bare floor's): as `connectCpuSeconds`. */
  windowCpuSeconds?: CpuShares;
}

const problems: string[] = [];

type CpuShares = { server: number; clients: number; postgres: number; machine: number };

/**
 * Starts counting who uses the machine's CPU: the process `pid` (the server
 * or the floor), the client processes, PostgreSQL's processes, and the whole
 * machine (/proc, 10 ms ticks); the function returned gives the seconds of
 * each since. On two shared cores the clients' share bounds how fast the
 * sockets can connect, whatever the server costs.
 */
function cpuShares(pid: number): () => CpuShares {
  const read = () => ({
    server: cpuTicks(pid),
    clients: clients.reduce((sum, child) => sum + cpuTicks(child.pid!), 0),
    postgres: commandTicks("postgres"),
    machine: machineTicks().busy,
  });
  const start = read();
  return () => {
    const end = read();
    const seconds = (ticks: number) => Number((ticks / 100).toFixed(2));
    return {
      server: seconds(end.server - start.server),
      clients: seconds(end.clients - start.clients),
      postgres: seconds(ticksSince(start.postgres, end.postgres)),
      machine: seconds(end.machine - start.machine),
    };
  };
}

/** The server's (or floor's) CPU over the connect phase, per connection, in ms. */
const perSubscriberMs = (shares: CpuShares) => Number(((shares.server * 1000) / SUBSCRIBERS).toFixed(2));

async function measure(
  name: string,
  expectedEvents: number,
  accruals: number,
  windowMs: number,
  connected: number,
  memory: { before: { rss: number; heap: number }; after: { rss: number; heap: number } },
  connecting: { seconds: number; shares: CpuShares },
): Promise<Measured> {
  await tail(expectedEvents, 30_000, 2_000);
  const stats = await allStats(true);
  if (stats.received !== expectedEvents) problems.push(`${name}: expected ${expectedEvents} events, received ${stats.received}`);
  if (stats.errors) problems.push(`${name}: ${stats.errors} errors (fell behind ${stats.fellBehind}, unexpected closes ${stats.unexpectedCloses}); first: ${stats.firstError}`);
  const sorted = stats.samples.sort((a, b) => a - b);
  return {
    connected,
    connectSeconds: Number(connecting.seconds.toFixed(1)),
    subscribeCpuMs: perSubscriberMs(connecting.shares),
    connectCpuSeconds: connecting.shares,
    memoryPerConnectionKiB: Number(((memory.after.rss - memory.before.rss) / SUBSCRIBERS).toFixed(1)),
    heapPerConnectionKiB: Number(((memory.after.heap - memory.before.heap) / SUBSCRIBERS).toFixed(1)),
    accruals,
    windowMs: Math.round(windowMs),
    expectedEvents,
    deliveredEvents: stats.received,
    latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? Number.NaN },
    eventsPerSecond: Math.round(stats.received / (windowMs / 1000)),
  };
}

/** After a prime (two messages to every socket): checks that every socket got its own, then forgets them. */
async function checkPrimed(name: string, expected: number): Promise<void> {
  await tail(expected, 120_000, 1_000);
  const stats = await allStats(false);
  if (stats.received !== expected || stats.silent > 0 || stats.errors > 0) {
    problems.push(`${name} prime: expected ${expected} events, received ${stats.received}; ${stats.silent} sockets got none; ${stats.errors} errors (first: ${stats.firstError})`);
  }
  await reset();
}

// ---------------------------------------------------------------- the API

/**
 * One subscription opened and closed from this process before the baseline
 * is read, so that the per-connection figures count what each subscription
 * holds, not code the server loads on its first one.
 */
async function warmSubscription(url: string, token: string): Promise<void> {
  const socket = new WebSocket(url, "graphql-transport-ws", { perMessageDeflate: false });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the warm-up subscription did not start within 60 s")), 60_000);
      socket.once("error", reject);
      socket.once("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } })));
      socket.on("message", (data) => {
        const message = JSON.parse(data.toString()) as { type: string; payload?: unknown };
        if (message.type === "connection_ack") socket.send(JSON.stringify({ id: "warm", type: "subscribe", payload: { query: SUBSCRIPTION } }));
        else if (message.type === "next") {
          clearTimeout(timer);
          resolve();
        } else if (message.type === "error") reject(new Error(`warm-up subscription: ${JSON.stringify(message.payload)}`));
      });
    });
  } finally {
    socket.close();
  }
}

async function feedRun(serverPid: number, inspectPort: number, url: string, tokens: string[], partners: string[], admin: string): Promise<Measured> {
  await warmSubscription(`${url.replace(/^http/, "ws")}/graphql`, tokens[0]!);
  await settle(serverPid, 2_000);
  const before = await liveMemoryKiB(serverPid, inspectPort, SNAPSHOTS && `${SNAPSHOTS}/feed-before.heapsnapshot`);
  progress(`server after a full GC: RSS ${(before.rss / 1024).toFixed(0)} MiB, heap ${(before.heap / 1024).toFixed(0)} MiB; connecting ${SUBSCRIBERS} subscribers`);
  const stopProfile = PROFILE_CONNECT ? await startCpuProfile(serverPid, inspectPort, `${PROFILE_CONNECT}/feed-connect.cpuprofile`) : undefined;
  const shares = cpuShares(serverPid);
  const connectStarted = performance.now();
  const connected = await connect("graphql", url.replace(/^http/, "ws") + "/graphql", tokens);
  const connecting = { seconds: (performance.now() - connectStarted) / 1000, shares: shares() };
  if (stopProfile) {
    await stopProfile();
    progress(`the connect phase's CPU profile: ${PROFILE_CONNECT}/feed-connect.cpuprofile`);
  }
  progress(`connected in ${connecting.seconds.toFixed(1)} s, server CPU ${perSubscriberMs(connecting.shares)} ms per subscriber; CPU seconds ${JSON.stringify(connecting.shares)}`);
  if (connected.failed) problems.push(`server: ${connected.failed} sockets failed to subscribe; first: ${connected.firstError}`);
  await settle(serverPid, 2_000);
  const after = await liveMemoryKiB(serverPid, inspectPort, SNAPSHOTS && `${SNAPSHOTS}/feed-after.heapsnapshot`);
  const memory = { before, after };
  progress(
    `${connected.ready} subscribed; after a full GC: RSS ${(after.rss / 1024).toFixed(0)} MiB, heap ${(after.heap / 1024).toFixed(0)} MiB ` +
      `(${((after.rss - before.rss) / SUBSCRIBERS).toFixed(1)} and ${((after.heap - before.heap) / SUBSCRIBERS).toFixed(1)} KiB per connection)`,
  );

  // Prime: one conversion per partner (batches of 500), so every subscription proves live; also the warm-up.
  progress("priming every subscription with one accrual");
  let conversion = 0;
  const sale = (partner: string, key: string): RecordConversionInput => ({
    externalId: key,
    partners: [{ id: partner }],
    amount: "10.00",
    currency: "USD",
    occurredAt: new Date().toISOString(),
  });
  await pool(Math.ceil(partners.length / BATCH), 2, async (b) => {
    const items = partners.slice(b * BATCH, (b + 1) * BATCH).map((partner) => sale(partner, `prime-${b}-${(conversion += 1)}`));
    const result = await gql(url, RecordMany, { input: { items } }, admin);
    if (result.recordConversions.createdCount !== items.length) throw new Error(JSON.stringify(result.recordConversions.userErrors));
  });
  await checkPrimed("server", 2 * partners.length);

  // Warm the single-accrual path for a second at the rate, then measure.
  progress(`warm-up: ${RATE} accruals`);
  const post: Post = async (partner, key) => {
    const result = await gql(url, Record, { input: sale(partners[partner]!, key) }, admin);
    return { created: result.recordConversion.created === true, error: JSON.stringify(result.recordConversion.userErrors) };
  };
  const warm = await drive(partners.length, RATE, 1, "warm", post);
  await tail(2 * warm.accruals, 30_000, 1_000);
  await reset();

  progress(`measuring: ${RATE} accruals per second for ${SECONDS} s`);
  const stopRunProfile = PROFILE_RUN ? await startCpuProfile(serverPid, inspectPort, `${PROFILE_RUN}/feed-run.cpuprofile`) : undefined;
  const run = await measuredDrive("server", serverPid, partners.length, "run", post);
  if (stopRunProfile) {
    await stopRunProfile();
    progress(`the measured window's CPU profile: ${PROFILE_RUN}/feed-run.cpuprofile`);
  }
  if (run.failed) problems.push(`server: ${run.failed} accruals failed; first: ${run.firstError}`);
  return {
    ...(await measure("server", 2 * run.accruals, run.accruals, run.windowMs, connected.ready, memory, connecting)),
    requestMs: run.requestMs,
    windowCpuSeconds: run.windowCpuSeconds,
  };
}

type Post = (partner: number, key: string) => Promise<{ created: boolean; error?: string }>;

/** `post` at `rate` per second for `seconds`, a random partner each, HTTP_CONCURRENCY requests at most in flight. */
async function drive(
  partners: number,
  rate: number,
  seconds: number,
  tag: string,
  post: Post,
): Promise<{ accruals: number; failed: number; firstError?: string; windowMs: number; requestMs: { p50: number; p99: number; max: number } }> {
  const total = Math.round(rate * seconds);
  const durations: number[] = [];
  let accruals = 0;
  let failed = 0;
  let firstError: string | undefined;
  const started = performance.now();
  await pool(total, HTTP_CONCURRENCY, async (i) => {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const sent = performance.now();
    try {
      const result = await post(Math.floor(Math.random() * partners), `${tag}-${i}`);
      durations.push(performance.now() - sent);
      if (result.created) accruals += 1;
      else {
        failed += 1;
        firstError ??= result.error;
      }
    } catch (error) {
      failed += 1;
      firstError ??= String(error);
    }
  });
  const windowMs = performance.now() - started;
  const sorted = durations.sort((a, b) => a - b);
  const ms = (value: number) => Number(value.toFixed(1));
  return {
    accruals,
    failed,
    ...(firstError ? { firstError } : {}),
    windowMs,
    requestMs: { p50: ms(percentile(sorted, 50)), p99: ms(percentile(sorted, 99)), max: ms(sorted[sorted.length - 1] ?? Number.NaN) },
  };
}

/**
 * The measured window: `drive` at RATE for SECONDS, with who used the
 * machine meanwhile (`windowCpuSeconds`: `pid`, the clients, PostgreSQL, the
 * machine), also said on stderr. A late event mostly waits for a core (its
 * client's, or the server's), so the tail follows how busy the machine is.
 */
async function measuredDrive(who: string, pid: number, partners: number, tag: string, post: Post): Promise<Awaited<ReturnType<typeof drive>> & { windowCpuSeconds: CpuShares }> {
  const shares = cpuShares(pid);
  const run = await drive(partners, RATE, SECONDS, tag, post);
  const windowCpuSeconds = shares();
  const seconds = run.windowMs / 1000;
  progress(
    `${who}: ${run.accruals} sales in ${seconds.toFixed(1)} s (${(run.accruals / seconds).toFixed(1)} per second); ` +
      `CPU ${((100 * windowCpuSeconds.server) / seconds).toFixed(0)}% of a core, machine ${((100 * windowCpuSeconds.machine) / (seconds * availableParallelism())).toFixed(0)}% busy ` +
      `(CPU seconds ${JSON.stringify(windowCpuSeconds)}); waiting for the tail`,
  );
  return { ...run, windowCpuSeconds };
}

// ---------------------------------------------------------------- the floor

/**
 * The floors, one process and one set of sockets: bare (messages at the
 * rate, nothing else running), then loaded (the same sales as accrue's run,
 * committed by plain pg and each delivered after its commit, driven over
 * HTTP as accrue is: the machine carries the same work while it delivers).
 */
async function floorRun(databaseUrl: string, programId: string, partnerIds: string[]): Promise<{ bare: Measured; loaded: Measured }> {
  const inspectPort = await freePort();
  const floor = forkChild("./feed/floor-server.ts", [`--inspect-port=127.0.0.1:${inspectPort}`]);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("floor server did not start within 60 s")), 60_000);
      floor.once("message", (message) => {
        clearTimeout(timer);
        resolve((message as Extract<FloorReply, { ev: "listening" }>).port);
      });
      floor.once("exit", (code) => reject(new Error(`floor server exited (${code})`)));
    });
    await settle(floor.pid!, 2_000);
    const before = await liveMemoryKiB(floor.pid!, inspectPort);
    progress(`floor after a full GC: RSS ${(before.rss / 1024).toFixed(0)} MiB, heap ${(before.heap / 1024).toFixed(0)} MiB; connecting ${SUBSCRIBERS} sockets`);
    const shares = cpuShares(floor.pid!);
    const connectStarted = performance.now();
    const connected = await connect("floor", `ws://127.0.0.1:${port}/`, []);
    const connecting = { seconds: (performance.now() - connectStarted) / 1000, shares: shares() };
    if (connected.failed) problems.push(`floor: ${connected.failed} sockets failed to connect; first: ${connected.firstError}`);
    await settle(floor.pid!, 2_000);
    const after = await liveMemoryKiB(floor.pid!, inspectPort);
    const memory = { before, after };
    const registered = await ask<Extract<FloorReply, { ev: "count" }>>(floor, { cmd: "count" }, 30_000);
    progress(
      `floor: ${registered.registered} connected; after a full GC: RSS ${(after.rss / 1024).toFixed(0)} MiB, heap ${(after.heap / 1024).toFixed(0)} MiB ` +
        `(${((after.rss - before.rss) / SUBSCRIBERS).toFixed(1)} and ${((after.heap - before.heap) / SUBSCRIBERS).toFixed(1)} KiB per connection)`,
    );

    const primed = await ask<Extract<FloorReply, { ev: "sent" }>>(floor, { cmd: "prime" }, 60_000);
    await checkPrimed("floor", primed.messages);
    const warm = await ask<Extract<FloorReply, { ev: "sent" }>>(floor, { cmd: "run", rate: RATE, seconds: 1 }, 60_000);
    await tail(warm.messages, 30_000, 1_000);
    await reset();

    progress(`floor: ${RATE} accruals per second for ${SECONDS} s`);
    const run = await ask<Extract<FloorReply, { ev: "sent" }>>(floor, { cmd: "run", rate: RATE, seconds: SECONDS }, (SECONDS + 120) * 1000);
    const bare = await measure("floor", run.messages, run.accruals, run.windowMs, connected.ready, memory, connecting);

    const sales = await ask<Extract<FloorReply, { ev: "sales" }>>(floor, { cmd: "sales", databaseUrl, programId, partnerIds, poolSize: 20 }, 30_000);
    const post: Post = async (partner) => {
      const body = await postJson<{ created?: boolean; error?: string }>(sales.url, { index: partner });
      return { created: body.created === true, ...(body.error ? { error: body.error } : {}) };
    };
    const warmSales = await drive(partnerIds.length, RATE, 1, "floor-warm", post);
    await tail(2 * warmSales.accruals, 30_000, 1_000);
    await reset();
    progress(`loaded floor: ${RATE} sales per second for ${SECONDS} s, committed by plain pg`);
    const sold = await measuredDrive("floor", floor.pid!, partnerIds.length, "floor-run", post);
    if (sold.failed) problems.push(`loaded floor: ${sold.failed} sales failed; first: ${sold.firstError}`);
    const loaded = {
      ...(await measure("loaded floor", 2 * sold.accruals, sold.accruals, sold.windowMs, connected.ready, memory, connecting)),
      requestMs: sold.requestMs,
      windowCpuSeconds: sold.windowCpuSeconds,
    };
    await closeSockets();
    return { bare, loaded };
  } finally {
    await stopChild(floor);
  }
}

// ---------------------------------------------------------------- main

async function main() {
  const database = await freshDatabase();
  const inspectPort = await freePort();
  const server = await startServer({
    // The inspector stays closed until SIGUSR1 (see collectGarbage).
    NODE_OPTIONS: [process.env.NODE_OPTIONS, `--inspect-port=127.0.0.1:${inspectPort}`].filter(Boolean).join(" "),
    DATABASE_URL: database.url,
    DATABASE_POOL_SIZE: "20",
    ACCRUE_JWT_SECRET: BENCH_SECRET,
    ACCRUE_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    ...(process.env.BENCH_REDIS_URL ? { REDIS_URL: process.env.BENCH_REDIS_URL } : {}),
  });
  const stopServer = async () => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return;
    const kill = setTimeout(() => server.child.kill("SIGKILL"), 30_000);
    await server.stop();
    clearTimeout(kill);
  };
  for (let p = 0; p < PROCESSES; p += 1) clients.push(forkChild("./feed/clients.ts"));
  const expires = new Date(Date.now() + 3 * 3_600_000);
  try {
    const platform = await signToken({ role: "platform", subject: "bench" }, tokenOptions(expires));
    const program = await gql(
      server.url,
      CreateProgram,
      { input: { name: "feed bench", currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, holdPeriodDays: 30 } },
      platform,
    );
    if (!program.createProgram.program) throw new Error(JSON.stringify(program.createProgram.userErrors));
    const programId = rawId(program.createProgram.program.id);
    const admin = await signToken({ role: "admin", subject: "bench", programId }, tokenOptions(expires));

    progress(`creating ${SUBSCRIBERS} partners, ${CREATE_CONCURRENCY} at a time`);
    const partners: string[] = new Array<string>(SUBSCRIBERS);
    await pool(SUBSCRIBERS, CREATE_CONCURRENCY, async (i) => {
      const created = await gql(server.url, CreatePartner, { input: { name: `feed partner ${i}`, externalId: `fp-${i}` } }, admin);
      if (!created.createPartner.partner) throw new Error(JSON.stringify(created.createPartner.userErrors));
      partners[i] = created.createPartner.partner.id;
    });
    const tokens = await Promise.all(partners.map((id, i) => signToken({ role: "partner", subject: `partner-${i}`, programId, partnerId: rawId(id) }, tokenOptions(expires))));

    const measured = await feedRun(server.child.pid!, inspectPort, server.url, tokens, partners, admin);
    await closeSockets();
    await stopServer();
    progress("server stopped; the floor");
    const { bare: floor, loaded } = await floorRun(database.url, programId, partners.map(rawId));

    for (const problem of problems) progress(`PROBLEM: ${problem}`);
    console.log(
      JSON.stringify({
        benchmark: "feed",
        subscribers: SUBSCRIBERS,
        rate: RATE,
        seconds: SECONDS,
        accruals: measured.accruals,
        accrualsPerSecond: Number((measured.accruals / (measured.windowMs / 1000)).toFixed(1)),
        expectedEvents: measured.expectedEvents,
        deliveredEvents: measured.deliveredEvents,
        latencyMs: measured.latencyMs,
        eventsPerSecond: measured.eventsPerSecond,
        requestMs: measured.requestMs,
        windowCpuSeconds: measured.windowCpuSeconds,
        connectSeconds: measured.connectSeconds,
        subscribeCpuMs: measured.subscribeCpuMs,
        connectCpuSeconds: measured.connectCpuSeconds,
        memoryPerConnectionKiB: measured.memoryPerConnectionKiB,
        heapPerConnectionKiB: measured.heapPerConnectionKiB,
        floor: {
          expectedEvents: floor.expectedEvents,
          deliveredEvents: floor.deliveredEvents,
          latencyMs: floor.latencyMs,
          eventsPerSecond: floor.eventsPerSecond,
          connectSeconds: floor.connectSeconds,
          subscribeCpuMs: floor.subscribeCpuMs,
          connectCpuSeconds: floor.connectCpuSeconds,
          memoryPerConnectionKiB: floor.memoryPerConnectionKiB,
          heapPerConnectionKiB: floor.heapPerConnectionKiB,
        },
        loadedFloor: {
          accrualsPerSecond: Number((loaded.accruals / (loaded.windowMs / 1000)).toFixed(1)),
          expectedEvents: loaded.expectedEvents,
          deliveredEvents: loaded.deliveredEvents,
          latencyMs: loaded.latencyMs,
          eventsPerSecond: loaded.eventsPerSecond,
          requestMs: loaded.requestMs,
          windowCpuSeconds: loaded.windowCpuSeconds,
        },
        ...(problems.length ? { problems } : {}),
      }),
    );
  } finally {
    await Promise.all(clients.map(stopChild));
    await stopServer();
    await database.drop();
  }
}

await main();
