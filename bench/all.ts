// `npm run bench`: every scenario, short runs, one JSON line each, in a few
// minutes. Runs bench/reads.ts (dashboard, partner portal, operator list, at
// 10 and 50 connections), bench/ingest.ts (single recordConversion at 10 and
// 50 requests in flight, batches of 500) and bench/feed.ts (subscribers,
// delivery) and bench/idle.ts (an idle server's memory and time to first
// answer, PostgreSQL and embedded), each in its own process on its own fresh database, and prints
// their lines with a `scenario` field. The scripts still run alone (npm run
// bench:reads, bench:ingest, bench:feed) with their longer defaults; any
// BENCH_* variable set here is passed through.
import { spawn } from "node:child_process";
import { ROOT } from "./lib.ts";

const print = (line: Record<string, unknown>) => console.log(JSON.stringify(line));

/** A script that fails (a database timeout on a busy machine) is reported as a line and the rest still run. */
async function run(script: string, env: Record<string, string>): Promise<Record<string, unknown>[]> {
  try {
    return await runScript(script, env);
  } catch (error) {
    print({ benchmark: script, failed: String(error) });
    return [];
  }
}

function runScript(script: string, env: Record<string, string>): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: ROOT, env: { ...env, ...process.env }, stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => {
      const lines = output
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      if (code === 0) resolve(lines);
      else reject(new Error(`${script} exited with ${code}`));
    });
  });
}

for (const line of await run("bench/reads.ts", {})) print(line);

for (const concurrency of [10, 50]) {
  const [ingest] = await run("bench/ingest.ts", { BENCH_SINGLE: "1000", BENCH_BATCHES: "6", BENCH_SINGLE_CONCURRENCY: String(concurrency) });
  if (!ingest) continue;
  const cpu = ingest.cpuPerConversion as Record<string, unknown>;
  print({
    benchmark: "ingest",
    scenario: "ingest-single",
    connections: concurrency,
    conversionsPerSecond: ingest.singleHttpPerSecond,
    floorPerSecond: ingest.floorSinglePerSecond,
    ratio: ingest.singleToFloor,
    cpuMs: cpu.single,
    floorCpuMs: cpu.floorSingle,
    ...pick(ingest, ["single", "partners"]),
  });
  if (concurrency === 10) {
    print({
      benchmark: "ingest",
      scenario: "ingest-batch",
      connections: (ingest.batch as { concurrency: number }).concurrency,
      conversionsPerSecond: ingest.batch500PerSecond,
      floorPerSecond: ingest.floorBatchPerSecond,
      ratio: ingest.batchToFloor,
      cpuMs: cpu.batch,
      floorCpuMs: cpu.floorBatch,
      ...pick(ingest, ["batch", "partners"]),
    });
  }
}

for (const line of await run("bench/feed.ts", { BENCH_SUBSCRIBERS: "500", BENCH_SECONDS: "5" })) print({ scenario: "feed", ...line });

for (const line of await run("bench/idle.ts", {})) print({ scenario: `idle-${String(line.target)}`, ...line });

function pick(source: Record<string, unknown>, keys: string[]) {
  return Object.fromEntries(keys.map((key) => [key, source[key]]));
}
