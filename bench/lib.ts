import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Agent, request } from "node:http";
import { print } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { createScratchDatabase, type ScratchDatabase } from "../test/helpers/databases.ts";
import { startEnv, startFlags } from "../test/helpers/server-process.ts";

export const ROOT = new URL("../", import.meta.url).pathname;
export const BENCH_SECRET = "bench-secret-bench-secret-bench-secret!!";

/** A fresh database on the benchmark's PostgreSQL (BENCH_DATABASE_URL, default the local server). */
export function freshDatabase(): Promise<ScratchDatabase> {
  return createScratchDatabase(process.env.BENCH_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres", "accrue_bench");
}

let built = false;

/**
 * The server's entry as `npm start` runs it: compiled (dist/server/main.mjs,
 * built once per benchmark process) with `npm start`'s node flags
 * (package.json), as the shell gives them in the server's environment `env`;
 * BENCH_SERVER_ENTRY=tsx runs `src/main.ts` through tsx (`npm run dev`), any
 * other value names a compiled file, run with the same flags
 * (see BENCHMARKS.md, "Idle server"), and the environment it sets.
 * BENCH_START_FLAGS replaces those flags ("" for none), to compare them.
 */
function serverArgs(env: Record<string, string | undefined>): string[] {
  const entry = process.env.BENCH_SERVER_ENTRY;
  if (entry === "tsx") return ["--import", "tsx", "src/main.ts"];
  const flags = process.env.BENCH_START_FLAGS !== undefined ? process.env.BENCH_START_FLAGS.split(" ").filter(Boolean) : startFlags(env);
  if (entry) return [...flags, entry];
  if (!built) execFileSync(process.execPath, ["scripts/build-server.mjs"], { cwd: ROOT, stdio: "inherit" });
  built = true;
  return [...flags, "dist/server/main.mjs"];
}

/** Starts the server in its own process (the load generator must not share its event loop). */
export function startServer(env: Record<string, string>): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    // BENCH_SERVER_NODE_ARGS: extra flags for the server's node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, ...serverArgs({ ...process.env, ...env })], {
      cwd: ROOT,
      env: {
        ...(process.env.BENCH_SERVER_ENTRY === "tsx" ? {} : startEnv()),
        ...process.env,
        NODE_ENV: "production",
        HOST: "127.0.0.1",
        PORT: "0",
        LOG_LEVEL: "info",
        // One token drives the whole load: the per-token rate limits would measure themselves.
        ACCRUE_RATE_LIMIT_MUTATIONS_PER_MINUTE: "100000000",
        ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE: "100000000000",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)\/graphql"/.exec(output);
      if (match) {
        child.stdout!.off("data", onData);
        resolve({
          url: match[1]!,
          child,
          stop: () =>
            new Promise((done) => {
              child.once("exit", () => done());
              child.kill("SIGTERM");
            }),
        });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`server exited (${code}):\n${output}`)));
  });
}

/** The server as the read benchmarks start it on `databaseUrl`: a pool of 20, as the floors have. */
export function startReadsServer(databaseUrl: string): ReturnType<typeof startServer> {
  return startServer({
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: "20",
    ACCRUE_JWT_SECRET: BENCH_SECRET,
    ACCRUE_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    // At 50 connections on a busy machine requests queue past the 2 s query limit, which would then
    // measure itself (the floor has none).
    ACCRUE_QUERY_TIMEOUT_MS: "60000",
  });
}

/** Keep-alive agents by origin, for postJson. */
const agents = new Map<string, Agent>();

/**
 * POSTs JSON and reads the JSON answered, on a keep-alive connection of
 * node:http (as the reads' load generator sends, bench/reads/load.ts). The
 * load generator runs on the machine it measures: `fetch` (undici) spent
 * 0.35 ms of CPU per request against node:http's 0.06, client and a
 * trivial server together (BENCHMARKS.md, "Ingestion", "Twelfth stop"),
 * CPU taken from the server and PostgreSQL under test.
 */
export function postJson<T>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
  const { origin } = new URL(url);
  let agent = agents.get(origin);
  if (!agent) agents.set(origin, (agent = new Agent({ keepAlive: true })));
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString()) as T);
        } catch (error) {
          reject(new Error(`${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 300)}`, { cause: error }));
        }
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(text);
  });
}

/** Each document's text, printed once. */
const printed = new WeakMap<object, string>();

export async function gql<T, V>(url: string, document: TypedDocumentNode<T, V>, variables: V, token: string): Promise<T> {
  let query = printed.get(document);
  if (query === undefined) printed.set(document, (query = print(document)));
  const body = await postJson<{ data?: T; errors?: unknown[] }>(`${url}/graphql`, { query, variables }, { authorization: `Bearer ${token}` });
  if (body.errors || !body.data) throw new Error(JSON.stringify(body.errors ?? body));
  return body.data;
}

/** Runs `task` for 0..count-1 with at most `concurrency` at once. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next;
        next += 1;
        await task(i);
      }
    }),
  );
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
