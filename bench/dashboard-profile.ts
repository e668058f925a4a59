// Profiles the dashboard read (`npm run bench:profile`): seeds 200 partners
// with 100 lines each, runs the server in this process with statements
// counted, sends the dashboard query, prints each statement it sent with its
// plan (EXPLAIN ANALYZE), then sends 60 more (4 at a time) under the V8
// profiler and prints where the CPU went by package. The load generator
// shares the process (fetch, sockets): read the shares, not absolute times.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { loadConfig } from "../src/config.ts";
import { buildApp } from "../src/server.ts";
import { ledgerTaps, type StatementLedger } from "../src/db/statement-ledger.ts";
import { signToken } from "../src/auth/sign-token.ts";
import { freshDatabase, BENCH_SECRET } from "./lib.ts";
import { migrateDatabase, seedProgram } from "./seed.ts";
const db = await freshDatabase();
await migrateDatabase(db.url);
const seeded = await seedProgram(db.url, { partners: 200, linesPerPartner: 100 });
const config = loadConfig({
  NODE_ENV: "production",
  HOST: "127.0.0.1",
  PORT: "0",
  LOG_LEVEL: "silent",
  DATABASE_URL: db.url,
  ACCRUE_JWT_SECRET: BENCH_SECRET,
  ACCRUE_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
  ACCRUE_SCHEDULER: "false",
  // Either can be turned off for a profile of the executed, or interpreted, read.
  ACCRUE_RESPONSE_CACHE: process.env.ACCRUE_RESPONSE_CACHE ?? "true",
  ACCRUE_COMPILED_QUERIES: process.env.ACCRUE_COMPILED_QUERIES ?? "true",
});
const app = await buildApp(config, { countStatements: true });
const url = await app.start();
const portal = process.env.BENCH_PROFILE === "portal";
const token = await signToken(
  portal ? { role: "partner", subject: "b", programId: seeded.programId, partnerId: seeded.partnerIds[100]! } : { role: "admin", subject: "b", programId: seeded.programId },
  { secret: BENCH_SECRET, issuer: "accrue", audience: "accrue", expiresAt: new Date(Date.now() + 3600_000) },
);
const q = portal
  ? `query BenchPortal { viewer { partner { id balance { payable { amount currency } pending { amount currency } paid { amount currency } } } } commissions(first: 50) { edges { node { id amount { amount currency } status occurredAt } } } }`
  : `query BenchDashboard { partners(first: 20) { edges { node { id name commissions(first: 10) { edges { node { id amount { amount currency } status } } } } } } }`;
let captured: StatementLedger | undefined;
ledgerTaps.add((l) => void (captured = l));
for (let i = 0; i < 3; i++)
  await fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query: q }) }).then(
    (r) => r.text(),
  );
{
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  const started = process.cpuUsage();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 15; i++)
        await fetch(`${url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: q }),
        }).then((r) => r.text());
    }),
  );
  const used = process.cpuUsage(started);
  const { profile } = await session.post("Profiler.stop");
  console.log("CPU ms per request (server and load generator in one process):", ((used.user + used.system) / 1000 / 60).toFixed(1));
  summarize(profile as unknown as Profile);
}
const client = new pg.Client({ connectionString: db.url });
await client.connect();
console.log("statements", captured!.statements, "rows", captured!.rows);
for (const s of captured!.queries!) {
  const r = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${s.sql}`, s.args as unknown[]);
  const plan = r.rows[0]["QUERY PLAN"][0];
  const nodes: string[] = [];
  const walk = (n: any) => {
    nodes.push(
      `${n["Node Type"]}${n["Index Name"] ? "(" + n["Index Name"] + ")" : ""}${n["Relation Name"] ? "[" + n["Relation Name"] + "]" : ""} rows=${n["Actual Rows"]}x${n["Actual Loops"]}`,
    );
    (n.Plans ?? []).forEach(walk);
  };
  walk(plan.Plan);
  console.log(nodes.join(" > "));
  console.log(`${plan["Planning Time"]} ms plan, ${plan["Execution Time"]} ms exec, ${s.args.length} args: ${s.sql.replace(/SELECT .*? FROM/s, "SELECT … FROM").slice(0, 200)}`);
}
await client.end();
await app.stop();
await db.drop();

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time by package, as shares of the sampled time the thread was not idle. */
function summarize(profile: Profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const shares = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const { functionName, url } = byId.get(id)!.callFrame;
    if (functionName === "(idle)") return;
    const where =
      functionName === "(garbage collector)"
        ? "garbage collection"
        : /prisma/.test(url)
          ? "prisma"
          : /node_modules\/(pg|pg-protocol|pg-types|postgres-)/.test(url)
            ? "pg"
            : /@pothos/.test(url)
              ? "pothos"
              : /node_modules\/graphql\//.test(url)
                ? "graphql-js"
                : /graphql-yoga|@envelop|@whatwg|graphql-armor|@graphql-/.test(url)
                  ? "yoga and envelop"
                  : /decimal/.test(url)
                    ? "decimal.js"
                    : /\/src\//.test(url)
                      ? "accrue"
                      : url === "" || url.startsWith("node:")
                        ? "node (sockets, fetch, async hooks)"
                        : "other";
    shares.set(where, (shares.get(where) ?? 0) + (profile.timeDeltas[i] ?? 0));
    busy += profile.timeDeltas[i] ?? 0;
  });
  for (const [where, time] of [...shares].sort((a, b) => b[1] - a[1])) console.log(`${where.padEnd(36)} ${((100 * time) / busy).toFixed(1)}%`);
  const byFunction = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const { functionName, url } = byId.get(id)!.callFrame;
    if (functionName === "(idle)") return;
    const key = `${functionName || "(anonymous)"} ${url.replace(/^.*node_modules\//, "").replace(/^.*\/src\//, "src/")}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  console.log("top functions by self time:");
  for (const [key, time] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.BENCH_PROFILE_TOP ?? 25)))
    console.log(`  ${((100 * time) / busy).toFixed(1).padStart(5)}%  ${key}`);
}
