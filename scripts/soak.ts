// `npm run soak`: a bounded soak of a real server process on PostgreSQL.
//
// For SOAK_SECONDS (default 30) 50 clients, each with one request at a time,
// mix what accrue's users do: integrators post sales and refunds, operators
// approve lines, run, approve, pay and cancel payouts and page through lists,
// partners read their balance and lines. The server reaches its database
// through a TCP proxy that cuts every connection three times during the run
// (SOAK_FAULTS=0 turns that off); clients retry SERVICE_UNAVAILABLE and lost
// connections with the same idempotency keys, as the README tells them to.
//
// Then it checks, from the database itself: every acknowledged sale and
// refund exists exactly once, and nothing exists that was never sent; each
// sale has one commission line; no partner has two open payouts, no line is
// in two, every open payout is the sum of its lines; balances reconcile
// (reconcileBalances); no request failed with anything but a retryable
// error; and the server's memory settles (its live heap after a full
// collection, read through its inspector, at mid-run, at the end and after
// ten idle seconds). It prints the figures; exit code 1 when a check fails.
//
//   SOAK_DATABASE_URL (or TEST_DATABASE_URL): any database of the PostgreSQL
//   server to use; the soak makes and drops a database of its own.
//   SOAK_SEED_LINES: a year of history seeded with SQL before the load
//   (bench/seed.ts, seedHistory: paid lines in monthly payouts, cancelled,
//   reversed and pending ones, their movements and balances), so throughput
//   can be compared as data grows; a list ("1000,1000000") runs one soak per
//   size, each on a fresh database, and prints the figures side by side.
//   SOAK_ALONE_ROUNDS (default 7): before the load, each operation of the
//   mix runs alone, one at a time, this many rounds (twenty sales a round);
//   the medians are printed with the load's figures, a comparison across
//   sizes that the load's waits for locks and CPU do not blur.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import WebSocket from "ws";
import { graphql } from "../src/generated/gql/index.ts";
import { apiClient } from "../test/helpers/api-client.ts";
import { createScratchDatabase } from "../test/helpers/databases.ts";
import { createPartnerFixture, createProgramFixture } from "../test/helpers/fixtures.ts";
import { makePayable } from "../test/helpers/payout-docs.ts";
import { startServerProcess } from "../test/helpers/server-process.ts";
import { startTcpProxy } from "../test/helpers/tcp-proxy.ts";
import { seedHistory } from "../bench/seed.ts";
import type { GraphQLResponse } from "../test/helpers/test-app.ts";

const SECONDS = Number(process.env.SOAK_SECONDS ?? 30);
const CLIENTS = 50;
const PARTNERS = 40;
const FAULTS = process.env.SOAK_FAULTS !== "0";
const SEED_SIZES = (process.env.SOAK_SEED_LINES ?? "").split(",").filter(Boolean).map(Number);
const ALONE_ROUNDS = Number(process.env.SOAK_ALONE_ROUNDS ?? 7);
const SECRET = "soak-secret-soak-secret-soak-secret-soak!";
const base = process.env.SOAK_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (!base) {
  console.error("npm run soak needs SOAK_DATABASE_URL (or TEST_DATABASE_URL): a PostgreSQL server to make a scratch database on.");
  process.exit(2);
}

const SaleDoc = graphql(`
  mutation SoakSale($input: RecordConversionInput!) { recordConversion(input: $input) { created conversion { id } userErrors { code message } } }
`);
const RefundDoc = graphql(`
  mutation SoakRefund($input: ReverseConversionInput!) { reverseConversion(input: $input) { reversal { id } userErrors { code message } } }
`);
const PendingDoc = graphql(`
  query SoakPending { commissions(first: 20, filter: { status: [PENDING] }) { edges { node { id } } } }
`);
const ApproveDoc = graphql(`
  mutation SoakApprove($input: ApproveCommissionsInput!) { approveCommissions(input: $input) { commissions { id } skipped { code } userErrors { code message } } }
`);
const RunDoc = graphql(`
  mutation SoakRun($input: RunPayoutsInput!) { runPayouts(input: $input) { payouts { id } userErrors { code message } } }
`);
const ApprovePayoutsDoc = graphql(`
  mutation SoakApprovePayouts($input: ApprovePayoutsInput!) { approvePayouts(input: $input) { payouts { id } skipped { code } userErrors { code message } } }
`);
const PayDoc = graphql(`
  mutation SoakPay($input: MarkPayoutsPaidInput!) { markPayoutsPaid(input: $input) { payouts { id } skipped { code } userErrors { code message } } }
`);
const CancelDoc = graphql(`
  mutation SoakCancel($input: CancelPayoutsInput!) { cancelPayouts(input: $input) { payouts { id } skipped { code } userErrors { code message } } }
`);
const PartnerReadDoc = graphql(`
  query SoakPartnerRead($id: ID!) {
    partner(id: $id) { balance { pending { amount } payable { amount } paid { amount } } }
    commissions(first: 20) { totalCount edges { node { id status amount { amount } } } }
    payouts(first: 10) { totalCount edges { node { id status } } }
  }
`);
const OperatorListDoc = graphql(`
  query SoakOperatorLists {
    payouts(first: 50) { totalCount edges { node { id status amount { amount } partner { name } } } }
    partners(first: 50) { totalCount edges { node { id name } } }
    conversions(first: 50) { totalCount edges { node { id externalId } } }
  }
`);
const ReconcileDoc = graphql(`query SoakReconcile { reconcileBalances { ok checkedPartners mismatches { bucket projected computed } } }`);

type Kind = "sale" | "refund" | "approve" | "payouts" | "partnerRead" | "operatorList";
const MIX: [Kind, number][] = [
  ["sale", 40],
  ["refund", 8],
  ["approve", 12],
  ["payouts", 3],
  ["partnerRead", 22],
  ["operatorList", 15],
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;

/**
 * The server's live memory after a full garbage collection (V8 heap plus
 * the external memory of buffers), read through its inspector (the process
 * is started with --inspect on a random local port): what it holds on to,
 * where RSS would also count garbage not yet collected and memory the
 * process keeps reserved.
 */
async function memoryInspector(output: () => string): Promise<{ live(): Promise<number>; close(): void }> {
  const match = /Debugger listening on (ws:\/\/\S+)/.exec(output());
  if (!match) throw new Error("the server was started without its inspector");
  const socket = new WebSocket(match[1]!);
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  let id = 0;
  const pending = new Map<number, (result: any) => void>();
  socket.on("message", (data) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  const send = (method: string, params: object = {}) =>
    new Promise<any>((resolve) => {
      id += 1;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  return {
    async live() {
      await send("HeapProfiler.collectGarbage");
      const result = await send("Runtime.evaluate", { expression: "JSON.stringify(process.memoryUsage())", returnByValue: true });
      const usage = JSON.parse(result.result.value as string) as { heapUsed: number; external: number };
      return usage.heapUsed + usage.external;
    },
    close: () => socket.close(),
  };
}

function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"))!;
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

/** What one soak run measured, for the comparison across seeded sizes. */
interface SoakFigures {
  seededLines: number;
  seedSeconds: number;
  loadSeconds: number;
  requests: number;
  perSecond: number;
  p99Ms: Record<string, number>;
  /** Each operation alone before the load: the median of SOAK_ALONE_ROUNDS, ms. */
  aloneMs: Record<string, number>;
  problems: string[];
}

async function main(): Promise<void> {
  const runs: SoakFigures[] = [];
  for (const lines of SEED_SIZES.length > 0 ? SEED_SIZES : [0]) runs.push(await soak(lines));
  if (runs.length > 1) {
    console.log("\nsoak by seeded history (requests per second of the whole mix, p99 ms per operation):");
    for (const run of runs) {
      console.log(
        JSON.stringify({
          seededLines: run.seededLines,
          seedSeconds: run.seedSeconds,
          requests: run.requests,
          perSecond: run.perSecond,
          toFirst: Number((run.perSecond / runs[0]!.perSecond).toFixed(2)),
          p99Ms: run.p99Ms,
          aloneMs: run.aloneMs,
          aloneToFirst: Object.fromEntries(Object.entries(run.aloneMs).map(([kind, ms]) => [kind, Number((ms / runs[0]!.aloneMs[kind]!).toFixed(2))])),
        }),
      );
    }
  }
  const failed = runs.some((run) => run.problems.length > 0);
  process.exit(failed ? 1 : 0);
}

async function soak(seedLines: number): Promise<SoakFigures> {
  const database = await createScratchDatabase(base!, "accrue_soak");
  const proxy = await startTcpProxy(database.url);
  const dataDir = mkdtempSync(join(tmpdir(), "accrue-soak-"));
  const server = await startServerProcess({
    DATABASE_URL: proxy.url(database.url),
    ACCRUE_DATA_DIR: dataDir,
    ACCRUE_JWT_SECRET: SECRET,
    ACCRUE_SCHEDULER_INTERVAL_MS: "1000",
    // The soak drives every mutation through one operator token, many times
    // faster than a person would; the per-token limits are proven in
    // test/api/rate-limits.test.ts, here they would only measure themselves.
    ACCRUE_RATE_LIMIT_MUTATIONS_PER_MINUTE: "1000000",
    ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE: "1000000000",
    // Fifty clients on a machine of two shared cores stretch a read past the
    // 2 s request budget; the soak checks what is kept and lost under
    // faults, test/api/query-timeout.test.ts checks the budget itself.
    ACCRUE_QUERY_TIMEOUT_MS: "30000",
    LOG_LEVEL: "info",
    NODE_OPTIONS: "--inspect=127.0.0.1:0",
  });
  const inspector = await memoryInspector(server.output);
  const sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  const problems: string[] = [];
  const figures: SoakFigures = { seededLines: seedLines, seedSeconds: 0, loadSeconds: 0, requests: 0, perSecond: 0, p99Ms: {}, aloneMs: {}, problems };
  try {
    const api = apiClient(server.url, SECRET);
    const acme = await createProgramFixture(api, { name: "Soak", currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "10.00" });
    const integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    const partners: { id: string; rawId: string; token: string }[] = [];
    for (let i = 0; i < PARTNERS; i += 1) {
      const p = await createPartnerFixture(api, acme, { name: `Soak partner ${i}` });
      await makePayable(api, acme, p.id);
      partners.push(p);
    }
    if (seedLines > 0) {
      const seedStarted = performance.now();
      await seedHistory(
        database.url,
        acme.rawId,
        partners.map((p) => p.rawId),
        seedLines,
      );
      figures.seedSeconds = Number(((performance.now() - seedStarted) / 1000).toFixed(1));
      console.log(`seeded ${seedLines} lines of history in ${figures.seedSeconds} s`);
    }

    const sentSales = new Set<string>();
    const ackedSales = new Set<string>();
    const sentRefunds = new Set<string>();
    const ackedRefunds = new Set<string>();
    const latencies = new Map<Kind, number[]>(MIX.map(([kind]) => [kind, []]));
    const counts = { requests: 0, retries: 0, unavailable: 0, lostConnections: 0, userErrors: 0 };
    const failures: string[] = [];

    /** One request, retried while the answer is SERVICE_UNAVAILABLE or the connection is lost. */
    async function call<T, V>(document: Parameters<typeof api.gql<T, V>>[0], variables: V, token: string): Promise<T | undefined> {
      for (let attempt = 1; attempt <= 40; attempt += 1) {
        counts.requests += 1;
        let response: GraphQLResponse<T>;
        try {
          response = await api.gql(document, variables, token);
        } catch {
          counts.lostConnections += 1;
          counts.retries += 1;
          await sleep(100 + Math.random() * 300);
          continue;
        }
        const codes = (response.errors ?? []).map((error) => error.extensions?.code);
        if (codes.includes("SERVICE_UNAVAILABLE")) {
          counts.unavailable += 1;
          counts.retries += 1;
          await sleep(100 + Math.random() * 300);
          continue;
        }
        if (codes.length > 0 || !response.data) {
          failures.push(`${response.status} ${JSON.stringify(response.errors)}`.slice(0, 300));
          return undefined;
        }
        return response.data;
      }
      failures.push("still unavailable after 40 attempts");
      return undefined;
    }

    /** One operation of the mix, as a client sends it (worker and n name its idempotency keys and ids). */
    async function operation(kind: Kind, worker: number, n: number, mySales: string[]): Promise<void> {
      if (kind === "sale") {
        const externalId = `s-${worker}-${n}`;
        const partner = pick(partners);
        const amount = (10 + Math.floor(Math.random() * 49000) / 100).toFixed(2);
        sentSales.add(externalId);
        const data = await call(
          SaleDoc,
          { input: { externalId, partners: [{ id: partner.id }], amount, currency: "USD", occurredAt: new Date(Date.now() - 86_400_000).toISOString() } },
          integration,
        );
        if (data?.recordConversion.conversion) {
          ackedSales.add(externalId);
          mySales.push(externalId);
        } else if (data) counts.userErrors += 1;
      } else if (kind === "refund" && mySales.length > 0) {
        const refundId = `r-${worker}-${n}`;
        sentRefunds.add(refundId);
        const full = Math.random() < 0.3;
        const data = await call(RefundDoc, { input: { conversionExternalId: pick(mySales), refundId, ...(full ? {} : { amount: "1.00" }) } }, integration);
        if (data?.reverseConversion.reversal) ackedRefunds.add(refundId);
        else if (data) counts.userErrors += 1; // nothing left to refund, say: a refusal, not a failure
      } else if (kind === "approve") {
        const pending = await call(PendingDoc, {}, acme.financeToken);
        const ids = pending?.commissions.edges.map((edge) => edge.node.id) ?? [];
        if (ids.length > 0) await call(ApproveDoc, { input: { ids } }, acme.financeToken);
      } else if (kind === "payouts") {
        const run = await call(RunDoc, { input: { idempotencyKey: `run-${worker}-${n}` } }, acme.financeToken);
        const ids = run?.runPayouts.payouts.map((payout) => payout.id) ?? [];
        if (ids.length > 0) {
          const approved = await call(ApprovePayoutsDoc, { input: { ids, idempotencyKey: `approve-${worker}-${n}` } }, acme.financeToken);
          const ready = approved?.approvePayouts.payouts.map((payout) => payout.id) ?? [];
          const half = Math.ceil(ready.length / 2);
          if (half > 0)
            await call(
              PayDoc,
              { input: { ids: ready.slice(0, half), method: "PAYPAL", reference: `soak-${worker}-${n}`, idempotencyKey: `pay-${worker}-${n}` } },
              acme.financeToken,
            );
          if (ready.length > half) await call(CancelDoc, { input: { ids: ready.slice(half), reason: "soak", idempotencyKey: `cancel-${worker}-${n}` } }, acme.financeToken);
        }
      } else if (kind === "partnerRead") {
        const partner = pick(partners);
        await call(PartnerReadDoc, { id: partner.id }, partner.token);
      } else {
        await call(OperatorListDoc, {}, pick([acme.adminToken, acme.financeToken, acme.analystToken]));
      }
    }

    // Each operation alone first, one at a time (the median of a few
    // rounds): what one request of each kind costs on this much history,
    // without the load's waits for locks and CPU, which swing the mix's
    // throughput by a third between runs of the same size.
    const alone = new Map<Kind, number[]>(MIX.map(([kind]) => [kind, []]));
    const aloneSales: string[] = [];
    for (let round = 0; round < ALONE_ROUNDS; round += 1) {
      for (const [kind] of MIX) {
        // Twenty sales a round: the approval after them takes those twenty (newest first) at every size.
        for (let i = 0; i < (kind === "sale" ? 20 : 1); i += 1) {
          const t0 = performance.now();
          await operation(kind, CLIENTS, round * 20 + i, aloneSales);
          alone.get(kind)!.push(performance.now() - t0);
        }
      }
    }
    for (const [kind, times] of alone)
      figures.aloneMs[kind] = Number(
        percentile(
          [...times].sort((a, b) => a - b),
          50,
        ).toFixed(1),
      );
    console.log(`each operation alone, median of ${ALONE_ROUNDS} (ms): ${JSON.stringify(figures.aloneMs)}`);
    // The load's counts are the load's own.
    Object.assign(counts, { requests: 0, retries: 0, unavailable: 0, lostConnections: 0, userErrors: 0 });

    const rss: { at: number; bytes: number }[] = [];
    const heap = { start: await inspector.live(), mid: 0, end: 0, settled: 0 };
    const started = Date.now();
    const deadline = started + SECONDS * 1000;
    const sampler = setInterval(() => rss.push({ at: Date.now() - started, bytes: rssOf(server.child.pid!) }), 1000);
    rss.push({ at: 0, bytes: rssOf(server.child.pid!) });

    const midHeap = sleep((SECONDS * 1000) / 2).then(async () => void (heap.mid = await inspector.live()));
    const faults: Promise<void>[] = [];
    if (FAULTS) {
      for (const share of [0.25, 0.5, 0.75]) {
        faults.push(sleep(SECONDS * 1000 * share).then(() => void proxy.killConnections()));
      }
    }

    const weights = MIX.flatMap(([kind, weight]) => Array<Kind>(weight).fill(kind));
    async function client(worker: number): Promise<void> {
      const mySales: string[] = [];
      for (let n = 0; Date.now() < deadline; n += 1) {
        const kind = pick(weights);
        const t0 = performance.now();
        await operation(kind, worker, n, mySales);
        latencies.get(kind)!.push(performance.now() - t0);
      }
    }
    const clients = Promise.all(Array.from({ length: CLIENTS }, (_, worker) => client(worker)));
    // The end of the load is measured while the clients still run (the last ones finish their request).
    await sleep(Math.max(0, deadline - Date.now() - 1000));
    heap.end = await inspector.live();
    await clients;
    await Promise.all([...faults, midHeap]);
    const loadSeconds = (Date.now() - started) / 1000;
    // Settling: no load, the scheduler still ticking.
    await sleep(10_000);
    clearInterval(sampler);
    rss.push({ at: Date.now() - started, bytes: rssOf(server.child.pid!) });
    heap.settled = await inspector.live();

    // The checks, from the database itself.
    const programId = acme.rawId;
    // The seeded history (external ids "history-…", payouts made by "seed") is not the soak's.
    const sales = (
      await sql.query<{ external_id: string; n: number }>(
        "SELECT external_id, count(*)::int AS n FROM conversions WHERE program_id = $1 AND external_id NOT LIKE 'history-%' GROUP BY 1",
        [programId],
      )
    ).rows;
    const stored = new Map(sales.map((row) => [row.external_id, row.n]));
    const missing = [...ackedSales].filter((id) => !stored.has(id));
    const doubled = sales.filter((row) => row.n !== 1).map((row) => row.external_id);
    const unsent = sales.filter((row) => !sentSales.has(row.external_id)).map((row) => row.external_id);
    if (missing.length) problems.push(`${missing.length} acknowledged sales are missing: ${missing.slice(0, 5).join(", ")}`);
    if (doubled.length) problems.push(`${doubled.length} sales are stored more than once`);
    if (unsent.length) problems.push(`${unsent.length} sales were never sent`);
    const lines = (
      await sql.query(
        `SELECT count(*)::int AS n FROM conversions v
          WHERE v.program_id = $1 AND (SELECT count(*) FROM commissions c WHERE c.conversion_id = v.id AND c.kind = 'CONVERSION') <> 1`,
        [programId],
      )
    ).rows[0].n as number;
    if (lines) problems.push(`${lines} sales without exactly one commission line`);
    const refunds = (await sql.query<{ external_id: string; n: number }>("SELECT external_id, count(*)::int AS n FROM reversals WHERE program_id = $1 GROUP BY 1", [programId]))
      .rows;
    const storedRefunds = new Set(refunds.map((row) => row.external_id));
    const missingRefunds = [...ackedRefunds].filter((id) => !storedRefunds.has(id));
    if (missingRefunds.length) problems.push(`${missingRefunds.length} acknowledged refunds are missing`);
    if (refunds.some((row) => row.n !== 1)) problems.push("a refund is stored more than once");
    if (refunds.some((row) => !sentRefunds.has(row.external_id))) problems.push("a refund was stored that was never sent");
    const payoutChecks = (
      await sql.query(
        `SELECT
           (SELECT count(*)::int FROM (SELECT partner_id FROM payouts WHERE program_id = $1 AND status IN ('DRAFT', 'APPROVED') GROUP BY 1 HAVING count(*) > 1) x) AS two_open,
           (SELECT count(*)::int FROM (SELECT commission_id FROM payout_items WHERE program_id = $1 AND active GROUP BY 1 HAVING count(*) > 1) x) AS line_twice,
           (SELECT count(*)::int FROM payouts p WHERE p.program_id = $1 AND p.status IN ('DRAFT', 'APPROVED')
               AND p.amount <> (SELECT coalesce(sum(i.amount), 0) FROM payout_items i WHERE i.payout_id = p.id AND i.active)) AS off_sum,
           (SELECT count(*)::int FROM payouts WHERE program_id = $1 AND created_by <> 'seed') AS payouts,
           (SELECT count(*)::int FROM payouts WHERE program_id = $1 AND status = 'PAID' AND created_by <> 'seed') AS paid`,
        [programId],
      )
    ).rows[0] as { two_open: number; line_twice: number; off_sum: number; payouts: number; paid: number };
    if (payoutChecks.two_open) problems.push(`${payoutChecks.two_open} partners with two open payouts`);
    if (payoutChecks.line_twice) problems.push(`${payoutChecks.line_twice} lines in two payouts`);
    if (payoutChecks.off_sum) problems.push(`${payoutChecks.off_sum} open payouts that are not the sum of their lines`);
    const reconcile = (await api.gql(ReconcileDoc, {}, acme.adminToken)).data?.reconcileBalances;
    if (!reconcile?.ok) problems.push(`balances do not reconcile: ${JSON.stringify(reconcile?.mismatches ?? "no answer")}`);
    if (failures.length) problems.push(`${failures.length} requests failed with a non-retryable error, first: ${failures[0]}`);
    if (FAULTS && counts.retries === 0) problems.push("the connection cuts never reached a client: the fault injection did not work");

    // Memory, live after a full collection: the second half of the
    // load must not keep climbing (a leak grows with every request), and
    // idle afterwards it must come back near where it started (caches
    // aside: parsed documents, query plans, verified tokens).
    if (heap.end > heap.mid * 1.25 + 16 * 1048576) problems.push(`live memory kept climbing under steady load: ${mib(heap.mid)} at mid-run, ${mib(heap.end)} at the end`);
    if (heap.settled > heap.start * 1.5 + 32 * 1048576) problems.push(`live memory did not settle: ${mib(heap.start)} before the load, ${mib(heap.settled)} ten seconds after it`);
    const peakRss = Math.max(...rss.map((sample) => sample.bytes));

    console.log(
      `\naccrue soak${seedLines ? ` on ${seedLines} seeded lines` : ""}: ${CLIENTS} clients for ${loadSeconds.toFixed(1)} s against one server process on PostgreSQL${FAULTS ? ", every database connection cut at 1/4, 1/2 and 3/4 of the run" : ""}`,
    );
    console.log(
      `requests ${counts.requests} (${(counts.requests / loadSeconds).toFixed(0)}/s), retried ${counts.retries} (SERVICE_UNAVAILABLE ${counts.unavailable}, lost connections ${counts.lostConnections}), refused with a user error ${counts.userErrors}, failed ${failures.length}`,
    );
    console.log("operation        count    p50 ms   p99 ms");
    for (const [kind] of MIX) {
      const sorted = [...latencies.get(kind)!].sort((a, b) => a - b);
      console.log(`${kind.padEnd(15)} ${String(sorted.length).padStart(6)} ${percentile(sorted, 50).toFixed(1).padStart(9)} ${percentile(sorted, 99).toFixed(1).padStart(8)}`);
    }
    console.log(`sales: sent ${sentSales.size}, acknowledged ${ackedSales.size}, stored ${sales.length}; refunds: acknowledged ${ackedRefunds.size}, stored ${refunds.length}`);
    console.log(
      `payouts: ${payoutChecks.payouts} drafted, ${payoutChecks.paid} paid; reconcile: ${reconcile?.ok ? "ok" : "FAILED"} over ${reconcile?.checkedPartners ?? 0} partners`,
    );
    console.log(
      `server live memory after GC (heap + external): before the load ${mib(heap.start)}, mid-run ${mib(heap.mid)}, end of load ${mib(heap.end)}, 10 s idle ${mib(heap.settled)}`,
    );
    console.log(`server RSS: start ${mib(rss[0]!.bytes)}, peak ${mib(peakRss)}, 10 s idle ${mib(rss.at(-1)!.bytes)}`);
    console.log(problems.length === 0 ? "soak: every check passed" : `soak FAILED:\n  - ${problems.join("\n  - ")}`);
    figures.loadSeconds = loadSeconds;
    figures.requests = counts.requests;
    figures.perSecond = Number((counts.requests / loadSeconds).toFixed(1));
    for (const [kind] of MIX)
      figures.p99Ms[kind] = Number(
        percentile(
          [...latencies.get(kind)!].sort((a, b) => a - b),
          99,
        ).toFixed(0),
      );
  } finally {
    inspector.close();
    await sql.end();
    await server.stop();
    await proxy.close();
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return figures;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
