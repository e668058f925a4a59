// Temporary A/B: two apps in this process, one with compiled queries, one without; sequential batches, CPU per request.
import { randomBytes } from "node:crypto";
import { loadConfig } from "../src/config.ts";
import { buildApp } from "../src/server.ts";
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
  ACCRUE_QUERY_TIMEOUT_MS: "60000",
  ACCRUE_RATE_LIMIT_MUTATIONS_PER_MINUTE: "100000000",
  ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE: "100000000000",
});
delete process.env.BENCH_NO_JIT;
const jit = await buildApp(config);
process.env.BENCH_NO_JIT = "1";
const interp = await buildApp(config);
const urls = { jit: await jit.start(), interp: await interp.start() };
const opts = { secret: BENCH_SECRET, issuer: "accrue", audience: "accrue", expiresAt: new Date(Date.now() + 3600_000) };
const admin = await signToken({ role: "admin", subject: "b", programId: seeded.programId }, opts);
const partner = await signToken({ role: "partner", subject: "b", programId: seeded.programId, partnerId: seeded.partnerIds[100]! }, opts);
const day = 86_400_000;
const scenarios = {
  dashboard: {
    token: admin,
    query: `query BenchDashboard { partners(first: 20) { edges { node { id name commissions(first: 10) { edges { node { id amount { amount currency } status } } } } } } }`,
  },
  portal: {
    token: partner,
    query: `query BenchPortal { viewer { partner { id balance { payable { amount currency } pending { amount currency } paid { amount currency } } } } commissions(first: 50) { edges { node { id amount { amount currency } status occurredAt } } } }`,
  },
  operator: {
    token: admin,
    query: `query BenchOperator($status: [CommissionStatus!], $after: DateTime!, $before: DateTime!) { commissions(first: 50, filter: { status: $status, occurredAfter: $after, occurredBefore: $before }, sort: { field: AMOUNT, direction: DESC }) { edges { node { id amount { amount currency } status occurredAt } } } }`,
    variables: { status: ["APPROVED"], after: new Date(Date.now() - 120 * day).toISOString(), before: new Date(Date.now() - 30 * day).toISOString() },
  },
};
const N = Number(process.env.AB_N ?? 40),
  ROUNDS = Number(process.env.AB_ROUNDS ?? 5);
for (const [name, s] of Object.entries(scenarios)) {
  const send = (url: string) =>
    fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${s.token}` },
      body: JSON.stringify({ query: s.query, variables: (s as any).variables ?? {} }),
    }).then((r) => r.text());
  const a = await send(urls.jit),
    b = await send(urls.interp);
  if (a !== b || a.includes('"errors"')) console.log(name, "DIFFERENT", a.slice(0, 300), b.slice(0, 300));
  for (let i = 0; i < 20; i++) {
    await send(urls.jit);
    await send(urls.interp);
  }
  const cpu: Record<string, number[]> = { jit: [], interp: [] };
  for (let r = 0; r < ROUNDS; r++)
    for (const mode of (r % 2 ? ["interp", "jit"] : ["jit", "interp"]) as ("jit" | "interp")[]) {
      const start = process.cpuUsage();
      for (let i = 0; i < N; i++) await send(urls[mode]);
      const used = process.cpuUsage(start);
      cpu[mode]!.push((used.user + used.system) / 1000 / N);
    }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  console.log(
    JSON.stringify({
      scenario: name,
      cpuMsPerRequest: { jit: med(cpu.jit!).toFixed(2), interpreter: med(cpu.interp!).toFixed(2) },
      ratio: (med(cpu.jit!) / med(cpu.interp!)).toFixed(2),
      runs: jit.compiledQueries.runs(),
      all: cpu,
    }),
  );
}
await jit.stop();
await interp.stop();
await db.drop();
