// `npm run bench:ingest`: conversions per second into PostgreSQL through the
// real server over HTTP, each next to a floor measured right after it in the
// same run, like with like:
// - single: recordConversion, one conversion per request, against plain `pg`
//   writing the same rows for one conversion in one transaction (conversion
//   and its count, commission line, balance update, balance movement, two
//   events, audit entry), as many at once;
// - batch: recordConversions of 500, against plain `pg` writing the same rows
//   for 500 with unnest, one transaction per 500, as many at once.
// Prints one JSON line (the ratios are the median over BENCH_ROUNDS rounds).
// Options (env): BENCH_DATABASE_URL, BENCH_SINGLE (2000),
// BENCH_SINGLE_CONCURRENCY (16), BENCH_BATCHES (20), BENCH_BATCH_CONCURRENCY (2),
// BENCH_PARTNERS (50), BENCH_ROUNDS (1).
import { randomBytes, randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import pg from "pg";
import { signToken } from "../src/auth/sign-token.ts";
import { graphql } from "../src/generated/gql/index.ts";
import type { ConversionInput } from "../src/generated/gql/graphql.ts";
import { BENCH_SECRET, freshDatabase, gql, pool, startServer } from "./lib.ts";
import { cpuMsOf } from "./reads/load.ts";
import { accruedPayload, auditAfter, floorPool, floorSale, inTransaction, RULE, tenth } from "./floors/sale.ts";

const SINGLE = Number(process.env.BENCH_SINGLE ?? 2000);
const SINGLE_CONCURRENCY = Number(process.env.BENCH_SINGLE_CONCURRENCY ?? 16);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 20);
const BATCH_CONCURRENCY = Number(process.env.BENCH_BATCH_CONCURRENCY ?? 2);
const PARTNERS = Number(process.env.BENCH_PARTNERS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const BATCH = 500;

const CreateProgram = graphql(`mutation BenchCreateProgram($input: CreateProgramInput!) { createProgram(input: $input) { program { id } userErrors { message } } }`);
const CreatePartner = graphql(`mutation BenchCreatePartner($input: CreatePartnerInput!) { createPartner(input: $input) { partner { id } userErrors { message } } }`);
const Record = graphql(`mutation BenchRecord($input: RecordConversionInput!) { recordConversion(input: $input) { conversion { id } userErrors { code message } } }`);
const RecordMany = graphql(`mutation BenchRecordMany($input: RecordConversionsInput!) { recordConversions(input: $input) { createdCount userErrors { code message field } } }`);

const tokenOptions = (expiresAt: Date) => ({ secret: BENCH_SECRET, issuer: "accrue", audience: "accrue", expiresAt });
const rawId = (id: string) => Buffer.from(id, "base64").toString("utf8").split(":")[1]!;

async function main() {
  const database = await freshDatabase();
  const server = await startServer({
    DATABASE_URL: database.url,
    DATABASE_POOL_SIZE: "20",
    ACCRUE_JWT_SECRET: BENCH_SECRET,
    ACCRUE_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
  });
  const expires = new Date(Date.now() + 3_600_000);
  try {
    const platform = await signToken({ role: "platform", subject: "bench" }, tokenOptions(expires));
    const program = await gql(
      server.url,
      CreateProgram,
      { input: { name: "bench", currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, holdPeriodDays: 30 } },
      platform,
    );
    const programId = rawId(program.createProgram.program!.id);
    const admin = await signToken({ role: "admin", subject: "bench", programId }, tokenOptions(expires));
    const partners: string[] = [];
    for (let i = 0; i < PARTNERS; i += 1) {
      const created = await gql(server.url, CreatePartner, { input: { name: `bench partner ${i}`, externalId: `bp-${i}` } }, admin);
      partners.push(created.createPartner.partner!.id);
    }
    // Integration tokens are issued through the API; an admin may record conversions too, with the same cost.
    const sale = (key: string, i: number): ConversionInput => ({
      externalId: key,
      partners: [{ id: partners[i % partners.length]! }],
      amount: `${10 + (i % 90)}.${String(i % 100).padStart(2, "0")}`,
      currency: "USD",
      occurredAt: new Date(Date.now() - (i % 20) * 86_400_000).toISOString(),
    });

    // Warm up both paths (JIT, connection pool, plan caches).
    await pool(200, SINGLE_CONCURRENCY, async (i) => void (await gql(server.url, Record, { input: sale(`warm-${i}`, i) }, admin)));
    await gql(server.url, RecordMany, { input: { items: Array.from({ length: BATCH }, (_, i) => sale(`warm-batch-${i}`, i)) } }, admin);

    const partnerIds = partners.map(rawId);
    const floorSingles = floorPool(database.url, SINGLE_CONCURRENCY);
    const floorBatches = floorPool(database.url, BATCH_CONCURRENCY);
    const cpu = await cpuMeter(database.url);
    await floorSingle(floorSingles, programId, partnerIds, 200, SINGLE_CONCURRENCY);
    const rounds: Record<"single" | "floorSingle" | "batch" | "floorBatch", Measured>[] = [];
    // Each round measures accrue then its floor back to back, so both see the same machine.
    for (let round = 0; round < ROUNDS; round += 1) {
      process.stderr.write(`ingest: round ${round + 1}: single requests\n`);
      const single = await cpu.measure(server.child.pid!, SINGLE, () =>
        pool(SINGLE, SINGLE_CONCURRENCY, async (i) => {
          const result = await gql(server.url, Record, { input: sale(`single-${round}-${i}`, i) }, admin);
          if (result.recordConversion.userErrors.length) throw new Error(JSON.stringify(result.recordConversion.userErrors));
        }),
      );
      process.stderr.write("ingest: single floor (plain pg)\n");
      const floorSingleRun = await cpu.measure(process.pid, SINGLE, () => floorSingle(floorSingles, programId, partnerIds, SINGLE, SINGLE_CONCURRENCY));

      process.stderr.write("ingest: batches of 500\n");
      const batch = await cpu.measure(server.child.pid!, BATCHES * BATCH, () =>
        pool(BATCHES, BATCH_CONCURRENCY, async (b) => {
          const items = Array.from({ length: BATCH }, (_, i) => sale(`batch-${round}-${b}-${i}`, b * BATCH + i));
          const result = await gql(server.url, RecordMany, { input: { items } }, admin);
          if (result.recordConversions.createdCount !== BATCH) throw new Error(JSON.stringify(result.recordConversions.userErrors));
        }),
      );
      process.stderr.write("ingest: batch floor (plain pg)\n");
      const floorBatchRun = await cpu.measure(process.pid, BATCHES * BATCH, () => floorBatch(floorBatches, programId, partnerIds));
      rounds.push({ single, floorSingle: floorSingleRun, batch, floorBatch: floorBatchRun });
    }
    await Promise.all([floorSingles.end(), floorBatches.end(), cpu.close()]);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const ratios = (of: "single" | "batch") => rounds.map((r) => r[of].perSecond / r[of === "single" ? "floorSingle" : "floorBatch"].perSecond);
    const last = rounds.at(-1)!;
    const figures = (m: Measured) => ({ perSecond: Math.round(m.perSecond), appCpuMs: m.appCpuMs, databaseCpuMs: m.databaseCpuMs });
    console.log(
      JSON.stringify({
        benchmark: "ingest",
        singleHttpPerSecond: Math.round(last.single.perSecond),
        floorSinglePerSecond: Math.round(last.floorSingle.perSecond),
        singleToFloor: Number(median(ratios("single")).toFixed(3)),
        batch500PerSecond: Math.round(last.batch.perSecond),
        floorBatchPerSecond: Math.round(last.floorBatch.perSecond),
        batchToFloor: Number(median(ratios("batch")).toFixed(3)),
        ...(ROUNDS > 1 ? { rounds: ROUNDS, singleRatios: ratios("single").map((v) => Number(v.toFixed(3))), batchRatios: ratios("batch").map((v) => Number(v.toFixed(3))) } : {}),
        // CPU ms per conversion (last round): app is the accrue server, or this process for the floors; database is PostgreSQL's backends.
        cpuPerConversion: { single: figures(last.single), floorSingle: figures(last.floorSingle), batch: figures(last.batch), floorBatch: figures(last.floorBatch) },
        single: { requests: SINGLE, concurrency: SINGLE_CONCURRENCY },
        batch: { batches: BATCHES, size: BATCH, concurrency: BATCH_CONCURRENCY },
        partners: PARTNERS,
        loadAverage: Number(loadavg()[0]!.toFixed(1)),
      }),
    );
  } finally {
    if (server.child.exitCode === null) await server.stop();
    await database.drop();
  }
}

interface Measured {
  perSecond: number;
  appCpuMs: number;
  databaseCpuMs: number;
}

/**
 * CPU per conversion of a run: of the process doing the work (`/proc/<pid>/stat`)
 * and of the database's backends (found in pg_stat_activity; one that starts
 * during the run counts from zero, one that ends during it is lost).
 */
async function cpuMeter(url: string) {
  const monitor = new pg.Client({ connectionString: url });
  await monitor.connect();
  const name = new URL(url).pathname.slice(1);
  const backends = async () => {
    const { rows } = await monitor.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [name]);
    return new Map(rows.map((row) => [row.pid, cpuMsOf(row.pid)]));
  };
  const per = (ms: number, count: number) => Number((ms / count).toFixed(3));
  return {
    async measure(appPid: number, count: number, run: () => Promise<unknown>): Promise<Measured> {
      const [app, database] = [cpuMsOf(appPid), await backends()];
      const started = performance.now();
      await run();
      const seconds = (performance.now() - started) / 1000;
      const [appAfter, databaseAfter] = [cpuMsOf(appPid), await backends()];
      let databaseMs = 0;
      for (const [pid, ms] of databaseAfter) databaseMs += ms - (database.get(pid) ?? 0);
      return { perSecond: count / seconds, appCpuMs: per(appAfter - app, count), databaseCpuMs: per(databaseMs, count) };
    },
    close: () => monitor.end(),
  };
}

/**
 * The single floor: one sale by plain pg per transaction (bench/floors/sale.ts),
 * as many at once as the single path.
 */
async function floorSingle(client: pg.Pool, programId: string, partnerIds: string[], count: number, concurrency: number): Promise<number> {
  const started = performance.now();
  await pool(count, concurrency, (i) => inTransaction(client, (conn) => floorSale(conn, programId, partnerIds[i % partnerIds.length]!, i).then(() => undefined)));
  return count / ((performance.now() - started) / 1000);
}

/**
 * The batch floor: the rows one 500-conversion batch writes, by plain pg in
 * one transaction each, with the same concurrency as the batch path: insert
 * conversions, lock the partners' balances in id order, insert commission
 * lines, update the balances, insert the balance movements, the events and
 * the audit entries, each with unnest.
 */
async function floorBatch(client: pg.Pool, programId: string, partnerIds: string[]): Promise<number> {
  const started = performance.now();
  await pool(BATCHES, BATCH_CONCURRENCY, (b) =>
    inTransaction(client, async (conn) => {
      const ids = Array.from({ length: BATCH }, () => randomUUID());
      const lineIds = Array.from({ length: BATCH }, () => randomUUID());
      const partnersOf = ids.map((_, i) => partnerIds[(b * BATCH + i) % partnerIds.length]!);
      const amounts = ids.map((_, i) => `${10 + (i % 90)}.${String(i % 100).padStart(2, "0")}`);
      const commissions = amounts.map(tenth);
      const externalIds = ids.map((id) => `floor-${id}`);
      const now = new Date();
      await conn.query(
        `WITH inserted AS (INSERT INTO conversions (id, program_id, external_id, amount, currency, program_amount, occurred_at, content_hash, created_at)
                           SELECT c.id, $1, c.ext, c.amount, 'USD', c.amount, $4, c.ext, $4 FROM unnest($2::uuid[], $3::text[], $5::numeric[]) AS c(id, ext, amount)
                           ON CONFLICT (program_id, external_id) DO NOTHING RETURNING id)
         INSERT INTO conversion_counts (program_id, slot, conversions) SELECT $1, $6, count(*) FROM inserted
         ON CONFLICT (program_id, slot) DO UPDATE SET conversions = conversion_counts.conversions + excluded.conversions`,
        [programId, ids, externalIds, now, amounts, b % 16],
      );
      await conn.query("SELECT 1 FROM balances WHERE program_id = $1 AND partner_id = ANY($2::uuid[]) ORDER BY partner_id FOR UPDATE", [programId, [...new Set(partnersOf)]]);
      await conn.query(
        `INSERT INTO commissions (id, program_id, partner_id, conversion_id, kind, status, amount, currency, rule, occurred_at, payable_at, matured, created_by, created_at, updated_at)
         SELECT l.id, $1, l.partner, l.conv, 'CONVERSION', 'PENDING', l.amount, 'USD', $7, $5, $5, false, 'floor', $5, $5
           FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $6::numeric[]) AS l(id, partner, conv, amount)`,
        [programId, lineIds, partnersOf, ids, now, commissions, RULE],
      );
      const perPartner = new Map<string, number>();
      const deltaCents = new Map<string, number>();
      partnersOf.forEach((p, i) => {
        perPartner.set(p, (perPartner.get(p) ?? 0) + 1);
        deltaCents.set(p, (deltaCents.get(p) ?? 0) + Math.round(Number(commissions[i]) * 100));
      });
      const updated = await conn.query<{ partner_id: string; event_sequence: string; pending: string; payable: string; in_payouts: string; paid: string; lifetime_earned: string }>(
        `UPDATE balances b SET pending = b.pending + d.delta, lifetime_earned = b.lifetime_earned + d.delta, event_sequence = b.event_sequence + d.n + 1, updated_at = $5
           FROM unnest($2::uuid[], $3::int[], $4::numeric[]) AS d(partner_id, n, delta)
          WHERE b.program_id = $1 AND b.partner_id = d.partner_id
          RETURNING b.partner_id, b.event_sequence, b.pending::text, b.payable::text, b.in_payouts::text, b.paid::text, b.lifetime_earned::text`,
        [programId, [...perPartner.keys()], [...perPartner.values()], [...perPartner.keys()].map((p) => (deltaCents.get(p)! / 100).toFixed(2)), now],
      );
      await conn.query(
        `INSERT INTO balance_movements (id, program_id, partner_id, commission_id, currency, entry, to_bucket, amount, occurred_at, recorded_at, cause)
         SELECT gen_random_uuid(), $1, m.partner, m.line, 'USD', 'ACCRUAL', 'pending', m.amount, $5, $5, 'conversion.record'
           FROM unnest($2::uuid[], $3::uuid[], $4::numeric[]) AS m(partner, line, amount)`,
        [programId, partnersOf, lineIds, commissions, now],
      );
      const seqStart = new Map(updated.rows.map((r) => [r.partner_id, BigInt(r.event_sequence) - BigInt(perPartner.get(r.partner_id)! + 1)]));
      const eventPartner: string[] = [];
      const eventSeq: string[] = [];
      const eventType: string[] = [];
      const eventEntity: string[] = [];
      const eventPayload: string[] = [];
      const push = (p: string, type: string, entity: string, payload: string) => {
        const next = seqStart.get(p)! + 1n;
        seqStart.set(p, next);
        eventPartner.push(p);
        eventSeq.push(next.toString());
        eventType.push(type);
        eventEntity.push(entity);
        eventPayload.push(payload);
      };
      for (const [i, p] of partnersOf.entries()) push(p, "commission.accrued", lineIds[i]!, accruedPayload(lineIds[i]!, p, ids[i]!, commissions[i]!, now));
      for (const r of updated.rows) {
        push(
          r.partner_id,
          "balance.changed",
          r.partner_id,
          JSON.stringify({
            partnerId: r.partner_id,
            currency: "USD",
            pending: r.pending,
            payable: r.payable,
            inPayouts: r.in_payouts,
            paid: r.paid,
            lifetimeEarned: r.lifetime_earned,
          }),
        );
      }
      await conn.query(
        `INSERT INTO events (program_id, partner_id, partner_sequence, type, entity_id, payload, created_at)
         SELECT $1, e.p, e.s, e.t, e.id, e.payload, $7 FROM unnest($2::uuid[], $3::bigint[], $4::text[], $5::uuid[], $6::jsonb[]) AS e(p, s, t, id, payload)
         RETURNING id, xid::text`,
        [programId, eventPartner, eventSeq, eventType, eventEntity, eventPayload, now],
      );
      await conn.query(
        `INSERT INTO audit_entries (id, program_id, actor_role, actor_id, action, entity_type, entity_id, after, created_at)
         SELECT gen_random_uuid(), $1, 'admin', 'floor', 'conversion.record', 'Conversion', a.id, a.after, $3 FROM unnest($2::uuid[], $4::jsonb[]) AS a(id, after)`,
        [programId, ids, now, ids.map((_id, i) => auditAfter(externalIds[i]!, amounts[i]!, now, lineIds[i]!, partnersOf[i]!, commissions[i]!))],
      );
    }),
  );
  return (BATCHES * BATCH) / ((performance.now() - started) / 1000);
}

await main();
