// `npm run bench:ab`: two (or more) builds of the server compared on one
// query, interleaved. Seeds a program (200 partners, 100 lines each), starts
// every build named in BENCH_AB_ENTRIES (comma-separated server entries, as
// BENCH_SERVER_ENTRY takes; built with `node scripts/build-server.mjs` and
// copied aside, e.g. dist/abA/main.mjs) on that one database, warms each
// with BENCH_AB_WARMUP (3,000) requests, then runs BENCH_AB_ROUNDS (12)
// rounds, each sending BENCH_AB_REQUESTS (400) requests from
// BENCH_AB_CONNECTIONS (10) connections to every build in turn. Prints, per
// build, the server's CPU ms per request (from /proc) of every round and
// their median, and whether every build gave the same answer.
//
// Why interleaved: on these shared machines the CPU a request costs moves by
// a third within minutes, so builds measured one after the other differ by
// the machine as much as by the code. Rounds of a few seconds side by side
// see the same machine. This compares builds with each other; the ratio to
// the hand-written floor is bench:reads'.
//
// BENCH_AB_QUERY: the query (the dashboard's by default).
// An entry may start with node flags of its own, to compare flags on one
// build: BENCH_AB_ENTRIES="dist/abA/main.mjs,--max-semi-space-size=64 dist/abA/main.mjs".
// BENCH_AB_CONNECTIONS: connections each burst keeps busy (10).
import { signToken } from "../src/auth/sign-token.ts";
import { BENCH_SECRET, freshDatabase, startReadsServer } from "./lib.ts";
import { cpuTicks } from "./process-stats.ts";
import { migrateDatabase, seedProgram } from "./seed.ts";

const ENTRIES = (process.env.BENCH_AB_ENTRIES ?? "").split(",").filter(Boolean);
const QUERY =
  process.env.BENCH_AB_QUERY ??
  "query Dashboard { partners(first: 20) { edges { node { id name commissions(first: 10) { edges { node { id amount { amount currency } status } } } } } } }";
const REQUESTS = Number(process.env.BENCH_AB_REQUESTS ?? 400);
const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 12);
const WARMUP = Number(process.env.BENCH_AB_WARMUP ?? 3_000);
const CONNECTIONS = Number(process.env.BENCH_AB_CONNECTIONS ?? 10);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main() {
  if (ENTRIES.length < 2) throw new Error("BENCH_AB_ENTRIES: two or more server entries, comma-separated (e.g. dist/abA/main.mjs,dist/abB/main.mjs)");
  const database = await freshDatabase();
  const servers: Awaited<ReturnType<typeof startReadsServer>>[] = [];
  try {
    await migrateDatabase(database.url);
    const seeded = await seedProgram(database.url, { partners: 200, linesPerPartner: 100 });
    const token = await signToken(
      { role: "admin", subject: "bench", programId: seeded.programId },
      { secret: BENCH_SECRET, issuer: "accrue", audience: "accrue", expiresAt: new Date(Date.now() + 3_600_000) },
    );
    const baseNodeArgs = process.env.BENCH_SERVER_NODE_ARGS ?? "";
    for (const entry of ENTRIES) {
      // An entry may carry node flags of its own before its file ("--max-semi-space-size=64 dist/abB/main.mjs").
      const words = entry.split(" ").filter(Boolean);
      process.env.BENCH_SERVER_ENTRY = words.at(-1)!;
      process.env.BENCH_SERVER_NODE_ARGS = [baseNodeArgs, ...words.slice(0, -1)].join(" ");
      servers.push(await startReadsServer(database.url));
    }
    const send = async (url: string): Promise<string> => {
      const response = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: QUERY }),
      });
      const text = await response.text();
      if (!response.ok || text.includes('"errors"')) throw new Error(text.slice(0, 300));
      return text;
    };
    const burst = (url: string, count: number) =>
      Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          for (let i = 0; i < count / CONNECTIONS; i++) await send(url);
        }),
      );
    const answers = new Set<string>();
    for (const server of servers) {
      answers.add(await send(server.url));
      await burst(server.url, WARMUP);
    }
    const perRequest: number[][] = servers.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, server] of servers.entries()) {
        const ticks = cpuTicks(server.child.pid!);
        await burst(server.url, REQUESTS);
        perRequest[i]!.push((10 * (cpuTicks(server.child.pid!) - ticks)) / REQUESTS);
      }
    }
    for (const [i, entry] of ENTRIES.entries()) {
      const values = perRequest[i]!;
      console.log(JSON.stringify({ benchmark: "ab", entry, serverCpuMs: Number(median(values).toFixed(3)), rounds: values.map((v) => Number(v.toFixed(2))) }));
    }
    console.log(JSON.stringify({ benchmark: "ab", sameAnswer: answers.size === 1 }));
  } finally {
    for (const server of servers) await server.stop();
    await database.drop();
  }
}

await main();
