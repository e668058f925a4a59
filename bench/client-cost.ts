// `npx tsx bench/client-cost.ts`: what the load generator's own HTTP client
// costs the machine it measures. A trivial node:http server in this process
// answers a sale's mutation; 4,000 requests from 10 connections go through
// `fetch` (undici) and through bench/lib.ts's postJson (node:http with a
// keep-alive Agent, what the benchmarks send), alternated
// twice after a warm-up each. Prints the CPU ms per request of this process
// (client and trivial server together) for each.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { postJson } from "./lib.ts";

const REQUEST = {
  query: "mutation BenchRecord($input: RecordConversionInput!) { recordConversion(input: $input) { conversion { id } userErrors { code message } } }",
  variables: { input: { externalId: "client-cost", partners: [{ id: "UGFydG5lcjox" }], amount: "10.00", currency: "USD", occurredAt: new Date().toISOString() } },
};
const BODY = JSON.stringify(REQUEST);
const ANSWER = '{"data":{"recordConversion":{"conversion":{"id":"Q29udmVyc2lvbjox"},"userErrors":[]}}}';
const AUTHORIZATION = { authorization: `Bearer ${"x".repeat(200)}` };
const REQUESTS = 4_000;
const CONNECTIONS = 10;

const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(ANSWER));
});
await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;

const clients: Record<string, () => Promise<unknown>> = {
  fetch: async () => (await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...AUTHORIZATION }, body: BODY })).json(),
  "node:http": () => postJson(url, REQUEST, AUTHORIZATION),
};

const run = (send: () => Promise<unknown>, count: number) =>
  Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      for (let i = 0; i < count / CONNECTIONS; i++) await send();
    }),
  );

for (const round of [1, 2]) {
  for (const [name, send] of Object.entries(clients)) {
    await run(send, 500);
    const before = process.cpuUsage();
    await run(send, REQUESTS);
    const used = process.cpuUsage(before);
    console.log(JSON.stringify({ benchmark: "client-cost", round, client: name, cpuMsPerRequest: Number(((used.user + used.system) / 1000 / REQUESTS).toFixed(3)) }));
  }
}
server.closeAllConnections();
server.close();
