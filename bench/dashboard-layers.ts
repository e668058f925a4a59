// `npm run bench:dashboard-layers`: where the dashboard's server CPU goes,
// selection by selection. Seeds a program (200 partners, 100 lines each),
// starts the server as the other benchmarks do (its own process, compiled),
// and sends the dashboard's query cut at each depth (the partners alone,
// their connections, the edges, the nodes, then each field the dashboard
// shows), BENCH_REQUESTS (200) at a time from BENCH_CONNECTIONS (10)
// connections, in BENCH_ROUNDS (5) rounds alternating the variants; prints
// one JSON line per variant with the server's CPU ms per request (median
// and least of the rounds, from /proc). Its floor is the GraphQL executor
// yoga uses, in this process, answering the same query from memory
// (plain objects, one promise per partner's page, default resolvers, the
// answer stringified): what the GraphQL layer costs without the schema's
// plugins, the database, HTTP or authorisation.
import { execute } from "@graphql-tools/executor";
import { buildSchema, parse } from "graphql";
import { signToken } from "../src/auth/sign-token.ts";
import { BENCH_SECRET, freshDatabase, startReadsServer } from "./lib.ts";
import { cpuTicks } from "./process-stats.ts";
import { migrateDatabase, seedProgram } from "./seed.ts";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const lines = (selection: string) => `query Layer { partners(first: 20) { edges { node { id name commissions(first: 10) { ${selection} } } } } }`;
const VARIANTS: Record<string, string> = {
  typename: "{ __typename }",
  partners: "query Layer { partners(first: 20) { edges { node { id name } } } }",
  connections: lines("__typename"),
  edges: lines("edges { __typename }"),
  nodes: lines("edges { node { __typename } }"),
  "nodes.id": lines("edges { node { id } }"),
  "nodes.status": lines("edges { node { status } }"),
  "nodes.amount": lines("edges { node { amount { amount currency } } }"),
  dashboard: lines("edges { node { id amount { amount currency } status } }"),
};

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round2 = (value: number) => Number(value.toFixed(2));

/** The executor alone: the dashboard's answer from memory, as yoga runs it. */
async function executorFloor(): Promise<number> {
  const schema = buildSchema(`
    type Money { amount: String! currency: String! }
    type Commission { id: ID! amount: Money! status: String! }
    type CommissionEdge { node: Commission! }
    type CommissionConnection { edges: [CommissionEdge!]! }
    type Partner { id: ID! name: String! commissions(first: Int): CommissionConnection! }
    type PartnerEdge { node: Partner! }
    type PartnerConnection { edges: [PartnerEdge!]! }
    type Query { partners(first: Int): PartnerConnection! }`);
  const partners = Array.from({ length: 20 }, (_, i) => ({
    id: `UGFydG5lcjo${i}`,
    name: `Bench partner ${i}`,
    lines: Array.from({ length: 10 }, (_, j) => ({ id: `Q29tbWlzc2lvbjo${i}-${j}`, amount: { amount: "80.20", currency: "USD" }, status: "PENDING" })),
  }));
  const rootValue = {
    partners: () => ({ edges: partners.map((p) => ({ node: { ...p, commissions: async () => ({ edges: p.lines.map((node) => ({ node })) }) } })) }),
  };
  const document = parse(VARIANTS.dashboard!);
  const once = async () => JSON.stringify(await execute({ schema, document, rootValue }));
  for (let i = 0; i < 2_000; i++) await once();
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const started = process.cpuUsage();
    for (let i = 0; i < REQUESTS; i++) await once();
    const used = process.cpuUsage(started);
    rounds.push((used.user + used.system) / 1000 / REQUESTS);
  }
  return median(rounds);
}

async function main() {
  const database = await freshDatabase();
  await migrateDatabase(database.url);
  const seeded = await seedProgram(database.url, { partners: 200, linesPerPartner: 100 });
  const server = await startReadsServer(database.url);
  try {
    const pid = server.child.pid!;
    const token = await signToken(
      { role: "admin", subject: "bench", programId: seeded.programId },
      { secret: BENCH_SECRET, issuer: "accrue", audience: "accrue", expiresAt: new Date(Date.now() + 3_600_000) },
    );
    const send = async (query: string) => {
      const response = await fetch(`${server.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query }),
      });
      const text = await response.text();
      if (!response.ok || text.includes('"errors"')) throw new Error(`${query}: ${text.slice(0, 300)}`);
    };
    for (let i = 0; i < 100; i++) for (const query of Object.values(VARIANTS)) await send(query);
    const perRequest: Record<string, number[]> = {};
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, query] of Object.entries(VARIANTS)) {
        const ticks = cpuTicks(pid);
        await Promise.all(
          Array.from({ length: CONNECTIONS }, async () => {
            for (let i = 0; i < REQUESTS / CONNECTIONS; i++) await send(query);
          }),
        );
        (perRequest[name] ??= []).push((10 * (cpuTicks(pid) - ticks)) / REQUESTS);
      }
    }
    const floor = round2(await executorFloor());
    for (const [name, values] of Object.entries(perRequest)) {
      console.log(
        JSON.stringify({ benchmark: "dashboard-layers", variant: name, serverCpuMs: round2(median(values)), leastCpuMs: round2(Math.min(...values)), executorFloorMs: floor }),
      );
    }
  } finally {
    await server.stop();
    await database.drop();
  }
}

await main();
