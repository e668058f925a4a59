// The read scenarios of `npm run bench` (also `npm run bench:reads`): seeds a
// fresh PostgreSQL database with SQL (1,000 partners, 100,000 commission
// lines by default), starts accrue (its own process, NODE_ENV=production,
// pool of 20) and the floor (bench/reads/floor-server.ts: node:http, pg and
// hand-written SQL, the same JSON), checks both answer each scenario alike,
// then drives each scenario at each connection count, accrue and floor one
// after the other, and prints one JSON line per scenario and count.
// Env: BENCH_DATABASE_URL, BENCH_PARTNERS (1000), BENCH_LINES_PER_PARTNER
// (100), BENCH_SECONDS (4 per run), BENCH_CONNECTIONS ("10,50"),
// BENCH_SCENARIOS ("dashboard,portal,operator"), BENCH_SETTLE_SECONDS (10:
// each scenario's first load on either server, not measured, so that both
// are measured with their code compiled, as a server that has been up for a
// while runs it; BENCHMARKS.md, "Ninth round"), BENCH_WARMUP_SECONDS (1,
// before each measured run), BENCH_FLOOR_DASHBOARD ("one": the floor reads
// the dashboard in one statement as accrue does, instead of the two;
// bench/reads/floor-server.ts).
import { spawn } from "node:child_process";
import pg from "pg";
import { signToken } from "../src/auth/sign-token.ts";
import { BENCH_SECRET, freshDatabase, ROOT, startReadsServer } from "./lib.ts";
import { drive, postOnce, round, type LoadResult, type Target } from "./reads/load.ts";
import { migrateDatabase, seedProgram } from "./seed.ts";

const PARTNERS = Number(process.env.BENCH_PARTNERS ?? 1000);
const LINES_PER_PARTNER = Number(process.env.BENCH_LINES_PER_PARTNER ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const SETTLE_SECONDS = Number(process.env.BENCH_SETTLE_SECONDS ?? 10);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? "10,50").split(",").map(Number);
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? "dashboard,portal,operator").split(",");

const DASHBOARD = `query BenchDashboard { partners(first: 20) { edges { node { id name commissions(first: 10) { edges { node { id amount { amount currency } status } } } } } } }`;
const PORTAL = `query BenchPortal {
  viewer { partner { id balance { payable { amount currency } pending { amount currency } paid { amount currency } } } }
  commissions(first: 50) { edges { node { id amount { amount currency } status occurredAt } } }
}`;
const OPERATOR = `query BenchOperator($status: [CommissionStatus!], $after: DateTime!, $before: DateTime!) {
  commissions(first: 50, filter: { status: $status, occurredAfter: $after, occurredBefore: $before }, sort: { field: AMOUNT, direction: DESC }) {
    edges { node { id amount { amount currency } status occurredAt } }
  }
}`;

function startFloor(url: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/reads/floor-server.ts"], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: "production", DATABASE_URL: url, DATABASE_POOL_SIZE: "20" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    child.stdout!.once("data", (chunk: Buffer) => {
      const { url: floorUrl } = JSON.parse(chunk.toString()) as { url: string };
      resolve({ url: floorUrl, pid: child.pid!, stop: () => new Promise((done) => (child.once("exit", () => done()), child.kill("SIGTERM"))) });
    });
    child.once("exit", (code) => reject(new Error(`floor exited (${code})`)));
  });
}

async function main() {
  const database = await freshDatabase();
  process.stderr.write(`reads: seeding ${PARTNERS} partners, ${PARTNERS * LINES_PER_PARTNER} lines\n`);
  let started = performance.now();
  await migrateDatabase(database.url);
  const seeded = await seedProgram(database.url, { partners: PARTNERS, linesPerPartner: LINES_PER_PARTNER });
  const seedSeconds = round((performance.now() - started) / 1000);
  const dbName = new URL(database.url).pathname.slice(1);
  const monitor = new pg.Client({ connectionString: database.url });
  await monitor.connect();
  const databasePids = async () =>
    (await monitor.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [dbName])).rows.map((row) => row.pid);
  const server = await startReadsServer(database.url);
  const floor = await startFloor(database.url);
  const expires = new Date(Date.now() + 3_600_000);
  const options = { secret: BENCH_SECRET, issuer: "accrue", audience: "accrue", expiresAt: expires };
  const admin = await signToken({ role: "admin", subject: "bench", programId: seeded.programId }, options);
  const partnerId = seeded.partnerIds[Math.floor(seeded.partnerIds.length / 2)]!;
  const partner = await signToken({ role: "partner", subject: "bench-partner", programId: seeded.programId, partnerId }, options);
  const day = 86_400_000;
  const scenarios: Record<string, { token: string; query: string; variables?: Record<string, unknown> }> = {
    dashboard: { token: admin, query: DASHBOARD },
    portal: { token: partner, query: PORTAL },
    operator: {
      token: admin,
      query: OPERATOR,
      variables: { status: ["APPROVED"], after: new Date(Date.now() - 120 * day).toISOString(), before: new Date(Date.now() - 30 * day).toISOString() },
    },
  };
  try {
    process.stderr.write(`reads: seeded in ${seedSeconds} s\n`);
    for (const name of SCENARIOS) {
      const scenario = scenarios[name];
      if (!scenario) throw new Error(`no scenario ${name}`);
      const body = JSON.stringify({ query: scenario.query, variables: scenario.variables ?? {}, operationName: /query (\w+)/.exec(scenario.query)![1] });
      const headers = { authorization: `Bearer ${scenario.token}` };
      const accrueTarget: Target = { url: `${server.url}/graphql`, headers, body };
      const floorTarget: Target = { url: `${floor.url}/graphql`, headers, body };
      const [fromAccrue, fromFloor] = [await postOnce(accrueTarget), await postOnce(floorTarget)];
      const answersMatch = fromAccrue === fromFloor;
      if (!answersMatch || fromAccrue.includes('"errors"')) {
        process.stderr.write(`reads: ${name}: the answers differ\naccrue: ${fromAccrue.slice(0, 600)}\nfloor:  ${fromFloor.slice(0, 600)}\n`);
      }
      if (SETTLE_SECONDS > 0) {
        process.stderr.write(`reads: ${name}: ${SETTLE_SECONDS} s on each server before measuring\n`);
        await drive(accrueTarget, CONNECTIONS[0]!, SETTLE_SECONDS, { server: server.child.pid!, database: databasePids });
        await drive(floorTarget, CONNECTIONS[0]!, SETTLE_SECONDS, { server: floor.pid, database: databasePids });
      }
      for (const connections of CONNECTIONS) {
        process.stderr.write(`reads: ${name} at ${connections} connections\n`);
        // Warm-up each (JIT, plans, pools; BENCH_WARMUP_SECONDS, default 1), then the measured runs one after the other.
        await drive(accrueTarget, connections, WARMUP_SECONDS, { server: server.child.pid!, database: databasePids });
        const accrue = await drive(accrueTarget, connections, SECONDS, { server: server.child.pid!, database: databasePids });
        await drive(floorTarget, connections, WARMUP_SECONDS, { server: floor.pid, database: databasePids });
        const floorResult = await drive(floorTarget, connections, SECONDS, { server: floor.pid, database: databasePids });
        console.log(JSON.stringify(line(name, connections, accrue, floorResult, answersMatch)));
      }
    }
  } finally {
    await monitor.end();
    await Promise.all([server.stop(), floor.stop()]);
    await database.drop();
  }
}

function line(scenario: string, connections: number, accrue: LoadResult, floor: LoadResult, answersMatch: boolean) {
  return {
    benchmark: "reads",
    scenario,
    connections,
    partners: PARTNERS,
    lines: PARTNERS * LINES_PER_PARTNER,
    seconds: SECONDS,
    answersMatch,
    ...accrue,
    floor,
    // Which floor answered the dashboard: the two statements unless told otherwise.
    ...(scenario === "dashboard" && process.env.BENCH_FLOOR_DASHBOARD === "one" ? { floorReads: "one statement" } : {}),
    ratio: round(accrue.perSecond / floor.perSecond, 3),
    cpuPerRequestToFloor: round((accrue.serverCpuMs + accrue.databaseCpuMs) / (floor.serverCpuMs + floor.databaseCpuMs), 2),
  };
}

await main();
