// `npm run bench:cost`: calibrates the query cost model (src/limits/field-cost.ts)
// against time. On a seeded program (100 partners, 10,000 sales with
// adjustments, refunds and payouts), each query shape is timed alone and as
// many aliases of it as fit under the cost limit (at most 30, the alias
// limit), next to a floor measured in the same run (`{ viewer { role } }`).
// The server runs in its own process with the limit lifted (so shapes over it
// can be timed too) and the real cost model; costs are computed here with
// the same code. Prints one JSON line; progress on stderr. Options (env):
// BENCH_TARGET (postgres | pglite, default postgres), BENCH_DATABASE_URL,
// BENCH_REPEAT (5, the median is kept), BENCH_LIMIT (default: the server's
// ACCRUE_MAX_QUERY_COST default).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "graphql";
import { signToken } from "../src/auth/sign-token.ts";
import { loadConfig } from "../src/config.ts";
import { buildSchema } from "../src/graphql/schema.ts";
import { costWeightsFor } from "../src/limits/field-cost.ts";
import { operationCost } from "../src/limits/operation-cost.ts";
import { BENCH_SECRET, freshDatabase, startServer } from "./lib.ts";

const TARGET = process.env.BENCH_TARGET === "pglite" ? "pglite" : "postgres";
const REPEAT = Number(process.env.BENCH_REPEAT ?? 5);
const LIMIT = Number(process.env.BENCH_LIMIT ?? loadConfig({}).limits.maxCost);
const MAX_ALIASES = 30;
const PARTNERS = 100;
const SALES_PER_PARTNER = 100;

const schema = buildSchema();
const costOf = (query: string, variables: Record<string, unknown> = {}): number => {
  const measured = operationCost(schema, parse(query), undefined, variables, costWeightsFor(TARGET));
  if ("errors" in measured) throw new Error(measured.errors.map((e) => e.message).join("; "));
  return measured.cost;
};
const rawId = (id: string) => Buffer.from(id, "base64").toString("utf8").split(":")[1]!;
const log = (text: string) => process.stderr.write(`cost: ${text}\n`);

async function post(
  url: string,
  token: string,
  query: string,
  variables?: unknown,
): Promise<{ ms: number; body: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] } }> {
  const started = performance.now();
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: { message: string }[] };
  return { ms: performance.now() - started, body };
}

async function must(url: string, token: string, query: string, variables?: unknown): Promise<any> {
  const { body } = await post(url, token, query, variables);
  if (body.errors?.length || !body.data) throw new Error(JSON.stringify(body.errors ?? body).slice(0, 500));
  const payload = Object.values(body.data)[0] as { userErrors?: unknown[] } | null;
  if (payload && Array.isArray(payload.userErrors) && payload.userErrors.length) throw new Error(JSON.stringify(payload.userErrors));
  return body.data;
}

/** Median wall time of `query` over REPEAT runs (after one warm-up); fails on any error. */
async function timed(url: string, token: string, query: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= REPEAT; i += 1) {
    const { ms, body } = await post(url, token, query);
    if (body.errors?.length) throw new Error(`${JSON.stringify(body.errors).slice(0, 300)}\n${query.slice(0, 300)}`);
    if (i > 0) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const aliases = (k: number, field: string) => `{ ${Array.from({ length: k }, (_, a) => `a${a}: ${field}`).join(" ")} }`;

async function main() {
  const database = TARGET === "postgres" ? await freshDatabase() : undefined;
  const dataDir = mkdtempSync(join(tmpdir(), "accrue-bench-cost-"));
  const server = await startServer({
    ...(database ? { DATABASE_URL: database.url } : { ACCRUE_DATA_DIR: dataDir }),
    ACCRUE_JWT_SECRET: BENCH_SECRET,
    ACCRUE_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    ACCRUE_SCHEDULER: "false",
    ACCRUE_MAX_QUERY_COST: "1000000000",
    ACCRUE_QUERY_TIMEOUT_MS: "600000",
  });
  const url = server.url;
  try {
    const expires = new Date(Date.now() + 3_600_000);
    const sign = (claims: Parameters<typeof signToken>[0]) => signToken(claims, { secret: BENCH_SECRET, issuer: "accrue", audience: "accrue", expiresAt: expires });
    const platform = await sign({ role: "platform", subject: "bench" });
    const program = await must(
      url,
      platform,
      `mutation { createProgram(input: { name: "cost", currency: "USD", approvalMode: AUTOMATIC, holdPeriodDays: 0, commissionRule: { type: PERCENTAGE, percent: "10" } }) { program { id } userErrors { message } } }`,
    );
    const programId = rawId(program.createProgram.program.id);
    const admin = await sign({ role: "admin", subject: "bench", programId });

    log(`seeding ${PARTNERS} partners, ${PARTNERS * SALES_PER_PARTNER} sales (${TARGET})`);
    const partners: string[] = [];
    for (let i = 0; i < PARTNERS; i += 1) {
      const created = await must(url, admin, `mutation($input: CreatePartnerInput!) { createPartner(input: $input) { partner { id } userErrors { message } } }`, {
        input: { name: `partner ${i}`, externalId: `p-${i}`, email: `p${i}@bench.test` },
      });
      partners.push(created.createPartner.partner.id);
    }
    const occurredAt = new Date(Date.now() - 2 * 86_400_000).toISOString();
    const sale = (n: number) => ({
      externalId: `s-${n}`,
      partners: [{ id: partners[n % PARTNERS]! }],
      amount: `${100 + (n % 50)}.00`,
      currency: "USD",
      occurredAt,
      metadata: { order: n },
    });
    const recordMany = `mutation($input: RecordConversionsInput!) { recordConversions(input: $input) { createdCount userErrors { message } } }`;
    for (let b = 0; b < (PARTNERS * SALES_PER_PARTNER) / 500; b += 1) {
      await must(url, admin, recordMany, { input: { items: Array.from({ length: 500 }, (_, i) => sale(b * 500 + i)) } });
    }
    // Corrections and refunds, so nested lists are not all empty.
    const lines = (await must(url, admin, `{ commissions(first: 100) { edges { node { id conversion { id } } } } }`)).commissions.edges.map((e: any) => e.node);
    for (const [i, line] of lines.entries()) {
      await must(url, admin, `mutation($input: AdjustCommissionInput!) { adjustCommission(input: $input) { userErrors { message } } }`, {
        input: { id: line.id, amount: "-0.50", reasonCode: "CORRECTION" },
      });
      if (i % 2 === 0)
        await must(url, admin, `mutation($input: ReverseConversionInput!) { reverseConversion(input: $input) { userErrors { message } } }`, {
          input: { conversionId: line.conversion.id, refundId: `r-${i}`, amount: "10.00" },
        });
    }
    // Payouts of about a hundred lines each.
    for (const partnerId of partners.slice(0, 30)) {
      await must(url, admin, `mutation($input: AddPayoutMethodInput!) { addPayoutMethod(input: $input) { userErrors { message } } }`, {
        input: { partnerId, method: { type: "PAYPAL", email: "partner@pay.example" } },
      });
      await must(url, admin, `mutation($input: SetBillingProfileInput!) { setBillingProfile(input: $input) { userErrors { message } } }`, {
        input: { partnerId, profile: { entityType: "INDIVIDUAL", legalName: "Pat Partner", country: "US", taxForm: "W9", taxId: "123-45-6789" } },
      });
      await must(url, admin, `mutation($input: CreatePayoutInput!) { createPayout(input: $input) { payout { id } userErrors { message } } }`, { input: { partnerId } });
    }

    log("measuring");
    const floorMs = await timed(url, admin, "{ viewer { role } }");
    const scalars = "id kind status createdBy occurredAt payableAt createdAt updatedAt paidAt note reasonCode statusReason tierSequence heldFromStatus partnerId";
    const ids = partners.map((id) => `"${id}"`).join(", ");
    const shapes: Record<string, string> = {
      "commissions: id": "commissions(first: 100) { edges { node { id } } }",
      "commissions: 15 scalars": `commissions(first: 100) { edges { cursor node { ${scalars} } } }`,
      "commissions: money": "commissions(first: 100) { edges { node { id amount { amount currency } } } }",
      "commissions: to-one relations": "commissions(first: 100) { edges { node { id partner { id name email } conversion { id externalId amount { amount } } } } }",
      "commissions: nested lists":
        "commissions(first: 100) { edges { node { id corrections { id amount { amount } } conversion { id commissions { id status } reversals { id } } } } }",
      "commissions: totalCount": "commissions(first: 1) { totalCount }",
      "partners: scalars": "partners(first: 100) { totalCount edges { node { id name email externalId status country createdAt } } }",
      "partners: nested connection": "partners(first: 10) { edges { node { id commissions(first: 100) { edges { node { id status amount { amount } } } } } } }",
      "partners: many parents, small nested pages": "partners(first: 100) { edges { node { id commissions(first: 5) { edges { node { id status } } } } } }",
      "partners: nested totalCount": "partners(first: 100) { edges { node { id commissions(first: 1) { totalCount } } } }",
      "nodes: 100 partners": `nodes(ids: [${ids}]) { id ... on Partner { name commissions(first: 10) { edges { node { id status } } } } }`,
      "payouts: lines": "payouts(first: 30) { edges { node { id amount { amount } lines { commission { id amount { amount } } } } } }",
      "conversions: commissions": "conversions(first: 100) { edges { node { id externalId amount { amount } metadata commissions { id amount { amount } } reversals { id } } } }",
      partnerBalances: "partnerBalances(first: 100) { edges { node { partnerId pending { amount } payable { amount } paid { amount } } } }",
      auditEntries: "auditEntries(first: 100) { edges { node { id action entityType recordId actorId actorRole createdAt } } }",
    };
    const results = [];
    for (const [name, field] of Object.entries(shapes)) {
      const one = costOf(aliases(1, field));
      const k = Math.min(MAX_ALIASES, Math.floor(LIMIT / one));
      const alone = await timed(url, admin, aliases(1, field));
      const atLimit = k >= 1 ? await timed(url, admin, aliases(k, field)) : undefined;
      const cost = k >= 1 ? costOf(aliases(k, field)) : one;
      const ms = atLimit ?? alone;
      results.push({
        shape: name,
        costOne: one,
        msOne: Number(alone.toFixed(1)),
        aliasesAtLimit: k,
        costAtLimit: k >= 1 ? cost : null,
        msAtLimit: atLimit === undefined ? null : Number(atLimit.toFixed(1)),
        usPerUnit: Number(((1000 * Math.max(0, ms - floorMs)) / (k >= 1 ? cost : one)).toFixed(2)),
      });
      log(`${name}: ${JSON.stringify(results.at(-1))}`);
    }

    // Writes: a batch's cost by its length.
    let batch = 0;
    const writes = [];
    for (const size of [10, 100, 500]) {
      const times: number[] = [];
      let query = "";
      let variables: unknown;
      for (let r = 0; r < 3; r += 1) {
        batch += 1;
        query = `mutation($input: RecordConversionsInput!) { recordConversions(input: $input) { createdCount userErrors { message } } }`;
        variables = {
          input: {
            items: Array.from({ length: size }, (_, i) => ({
              externalId: `w-${batch}-${i}`,
              partners: [{ id: partners[i % PARTNERS]! }],
              amount: "50.00",
              currency: "USD",
              occurredAt,
            })),
          },
        };
        const { ms, body } = await post(url, admin, query, variables);
        if (body.errors?.length || body.data?.recordConversions.createdCount !== size) throw new Error(JSON.stringify(body).slice(0, 300));
        times.push(ms);
      }
      times.sort((a, b) => a - b);
      const cost = costOf(query, variables as Record<string, unknown>);
      writes.push({
        shape: `recordConversions: ${size} items`,
        cost,
        ms: Number(times[1]!.toFixed(1)),
        usPerUnit: Number(((1000 * Math.max(0, times[1]! - floorMs)) / cost).toFixed(2)),
      });
      log(JSON.stringify(writes.at(-1)));
    }

    // A small mutation, one and thirty to a request (mutations run one after another).
    for (const count of [1, 30]) {
      const times: number[] = [];
      let query = "";
      for (let r = 0; r < 3; r += 1) {
        batch += 1;
        query = `mutation { ${Array.from({ length: count }, (_, i) => `m${i}: createPartner(input: { name: "w ${batch} ${i}" }) { partner { id } userErrors { message } }`).join(" ")} }`;
        const { ms, body } = await post(url, admin, query);
        if (body.errors?.length) throw new Error(JSON.stringify(body).slice(0, 300));
        times.push(ms);
      }
      times.sort((a, b) => a - b);
      const cost = costOf(query);
      writes.push({ shape: `createPartner x ${count}`, cost, ms: Number(times[1]!.toFixed(1)), usPerUnit: Number(((1000 * Math.max(0, times[1]! - floorMs)) / cost).toFixed(2)) });
      log(JSON.stringify(writes.at(-1)));
    }

    // The requests of the issue that found the bypass, as costed now.
    const attacks = {
      "nodes: 100 partners x commissions(first: 100), 5 aliases": aliases(
        5,
        `nodes(ids: [${ids}]) { ... on Partner { commissions(first: 100) { edges { node { id amount { amount } status } } } } }`,
      ),
      "29 aliases of 100 lines with nested lists": aliases(29, shapes["commissions: nested lists"]!),
    };
    const refused = Object.entries(attacks).map(([shape, query]) => ({ shape, cost: costOf(query), overLimit: costOf(query) > LIMIT }));

    const worst = results.filter((r) => r.msAtLimit !== null).reduce((a, b) => (b.msAtLimit! > a.msAtLimit! ? b : a));
    console.log(
      JSON.stringify({
        benchmark: "cost",
        target: TARGET,
        limit: LIMIT,
        loadAverage: Number(loadavg()[0]!.toFixed(1)),
        floorMs: Number(floorMs.toFixed(1)),
        slowestAtLimit: { shape: worst.shape, ms: worst.msAtLimit, toFloor: Math.round(worst.msAtLimit! / floorMs) },
        shapes: results,
        writes,
        refused,
        repeat: REPEAT,
      }),
    );
  } finally {
    await server.stop();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
