// `npm run bench:idle`: an idle server's memory and its time to first
// answer, on PostgreSQL and on the embedded database (PGlite). For each, the
// server is started as the benchmarks start it (its own process,
// NODE_ENV=production, a fresh database or data directory, migrations
// applied at start), asked `{ __typename }` until it answers, then left
// alone until its scheduler has run once (15 s after start, as in
// production: its first run loads Prisma's query compiler and compiles the
// tasks' queries, which an idle server does every 15 s); once it is idle again
// its RSS (/proc/<pid>/status) is read as it stands (and, through the
// inspector, how much of it V8's young generation holds), then RSS and V8 heap
// again after a full garbage collection (through the inspector). The floor: a
// bare `node:http` server answering the same JSON, measured the same way.
// Prints one JSON line per database.
// Options (env): BENCH_TARGETS ("postgres,pglite"), BENCH_IDLE_MS (10000),
// BENCH_DATABASE_URL; BENCH_SERVER_ENTRY and BENCH_START_FLAGS (bench/lib.ts).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { randomBytes } from "node:crypto";
import { loadConfig } from "../src/config.ts";
import { BENCH_SECRET, freshDatabase, startServer } from "./lib.ts";
import { freePort, liveMemoryKiB, rssKiB, settle } from "./process-stats.ts";

const TARGETS = (process.env.BENCH_TARGETS ?? "postgres,pglite").split(",").map((t) => t.trim()) as ("postgres" | "pglite")[];
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 10_000);
/** The scheduler's interval as the server runs by default (ACCRUE_SCHEDULER_INTERVAL_MS). */
const SCHEDULER_INTERVAL_MS = loadConfig({}).scheduler.intervalMs;
const progress = (text: string) => process.stderr.write(`idle: ${text}\n`);

/** POSTs `{ __typename }` until an answer comes (at most 120 s); the time from `since` to it. */
async function firstAnswer(url: string, since: number): Promise<number> {
  const until = performance.now() + 120_000;
  for (;;) {
    try {
      const response = await fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ __typename }" }) });
      const body = (await response.json()) as { data?: { __typename?: string } };
      if (body.data?.__typename === "Query") return performance.now() - since;
    } catch {
      // not listening yet
    }
    if (performance.now() > until) throw new Error(`no answer to { __typename } from ${url} within 120 s`);
    await sleep(20);
  }
}

interface Idle {
  firstAnswerMs: number;
  rssMiB: number;
  /** V8's young generation (committed) as it stood, part of rssMiB. */
  youngMiB: number;
  afterGc: { rssMiB: number; heapMiB: number };
}

async function idleFigures(pid: number, inspectPort: number, firstRunAfter = 0): Promise<Omit<Idle, "firstAnswerMs">> {
  // The scheduler starts before the first answer; its first run starts within this.
  await sleep(firstRunAfter);
  await settle(pid, IDLE_MS);
  const rss = rssKiB(pid);
  const live = await liveMemoryKiB(pid, inspectPort);
  const mib = (kib: number) => Number((kib / 1024).toFixed(1));
  return { rssMiB: mib(rss), youngMiB: mib(live.youngBefore), afterGc: { rssMiB: mib(live.rss), heapMiB: mib(live.heap) } };
}

async function measureServer(target: "postgres" | "pglite"): Promise<Idle> {
  const database = target === "postgres" ? await freshDatabase() : undefined;
  const dataDir = mkdtempSync(join(tmpdir(), "accrue-bench-idle-"));
  const inspectPort = await freePort();
  const started = performance.now();
  const server = await startServer({
    // The inspector stays closed until SIGUSR1 (see liveMemoryKiB).
    NODE_OPTIONS: [process.env.NODE_OPTIONS, `--inspect-port=127.0.0.1:${inspectPort}`].filter(Boolean).join(" "),
    ...(database ? { DATABASE_URL: database.url } : { DATABASE_URL: "", ACCRUE_DATA_DIR: dataDir }),
    ACCRUE_JWT_SECRET: BENCH_SECRET,
    ACCRUE_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
  });
  try {
    const firstAnswerMs = Math.round(await firstAnswer(server.url, started));
    progress(`${target}: first answer after ${firstAnswerMs} ms; waiting for the scheduler's first run, then until idle`);
    return { firstAnswerMs, ...(await idleFigures(server.child.pid!, inspectPort, SCHEDULER_INTERVAL_MS + 1_000)) };
  } finally {
    await server.stop();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The floor: node:http answering the same JSON, nothing else loaded. */
async function measureFloor(): Promise<Idle> {
  const inspectPort = await freePort();
  const source = `require("node:http").createServer((req, res) => { req.resume(); req.on("end", () => { res.setHeader("content-type", "application/json"); res.end('{"data":{"__typename":"Query"}}'); }); }).listen(0, "127.0.0.1", function () { console.log(JSON.stringify({ url: "http://127.0.0.1:" + this.address().port + "/graphql" })); });`;
  const started = performance.now();
  const child = spawn(process.execPath, [`--inspect-port=127.0.0.1:${inspectPort}`, "-e", source], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.once("data", (chunk: Buffer) => resolve((JSON.parse(chunk.toString()) as { url: string }).url.replace(/\/graphql$/, "")));
      child.once("exit", (code) => reject(new Error(`floor exited (${code})`)));
    });
    const firstAnswerMs = Math.round(await firstAnswer(url, started));
    return { firstAnswerMs, ...(await idleFigures(child.pid!, inspectPort)) };
  } finally {
    child.kill("SIGTERM");
  }
}

const floor = await measureFloor();
progress(`floor: ${JSON.stringify(floor)}`);
for (const target of TARGETS) {
  const server = await measureServer(target);
  console.log(JSON.stringify({ benchmark: "idle", target, ...server, floor }));
}
