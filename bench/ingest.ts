// `npm run bench:ingest`: conversions per second into PostgreSQL through the
// real server over HTTP (single recordConversion, and recordConversions in
// batches of 500), next to a floor measured in the same run: the same rows
// (conversions, commission lines, balance updates, events, audit entries)
// written by plain `pg` with unnest, one transaction per 500, no GraphQL.
// Prints one JSON line. Options (env): BENCH_DATABASE_URL, BENCH_SINGLE (2000),
// BENCH_SINGLE_CONCURRENCY (16), BENCH_BATCHES (20), BENCH_BATCH_CONCURRENCY (2),
// BENCH_PARTNERS (50).
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { signToken } from "../src/auth/sign-token.ts";
import { graphql } from "../src/generated/gql/index.ts";
import type { ConversionInput } from "../src/generated/gql/graphql.ts";
import { BENCH_SECRET, freshDatabase, gql, pool, startServer } from "./lib.ts";

const SINGLE = Number(process.env.BENCH_SINGLE ?? 2000);
const SINGLE_CONCURRENCY = Number(process.env.BENCH_SINGLE_CONCURRENCY ?? 16);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 20);
const BATCH_CONCURRENCY = Number(process.env.BENCH_BATCH_CONCURRENCY ?? 2);
const PARTNERS = Number(process.env.BENCH_PARTNERS ?? 50);
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
    const program = await gql(server.url, CreateProgram, { input: { name: "bench", currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, holdPeriodDays: 30 } }, platform);
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

    process.stderr.write("ingest: single requests\n");
    let started = performance.now();
    await pool(SINGLE, SINGLE_CONCURRENCY, async (i) => {
      const result = await gql(server.url, Record, { input: sale(`single-${i}`, i) }, admin);
      if (result.recordConversion.userErrors.length) throw new Error(JSON.stringify(result.recordConversion.userErrors));
    });
    const singlePerSecond = SINGLE / ((performance.now() - started) / 1000);

    process.stderr.write("ingest: batches of 500\n");
    started = performance.now();
    await pool(BATCHES, BATCH_CONCURRENCY, async (b) => {
      const items = Array.from({ length: BATCH }, (_, i) => sale(`batch-${b}-${i}`, b * BATCH + i));
      const result = await gql(server.url, RecordMany, { input: { items } }, admin);
      if (result.recordConversions.createdCount !== BATCH) throw new Error(JSON.stringify(result.recordConversions.userErrors));
    });
    const batchPerSecond = (BATCHES * BATCH) / ((performance.now() - started) / 1000);

    await server.stop();
    process.stderr.write("ingest: floor (plain pg)\n");
    const floorPerSecond = await floor(database.url, programId, partners.map(rawId)).catch((error: unknown) => {
      process.stderr.write(`floor failed: ${String(error)}\n`);
      throw error;
    });
    console.log(
      JSON.stringify({
        benchmark: "ingest",
        singleHttpPerSecond: Math.round(singlePerSecond),
        batch500PerSecond: Math.round(batchPerSecond),
        floorPlainPgPerSecond: Math.round(floorPerSecond),
        batchToFloor: Number((batchPerSecond / floorPerSecond).toFixed(3)),
        singleToFloor: Number((singlePerSecond / floorPerSecond).toFixed(3)),
        single: { requests: SINGLE, concurrency: SINGLE_CONCURRENCY },
        batch: { batches: BATCHES, size: BATCH, concurrency: BATCH_CONCURRENCY },
        partners: PARTNERS,
      }),
    );
  } finally {
    if (server.child.exitCode === null) await server.stop();
    await database.drop();
  }
}

/**
 * The floor: the rows one 500-conversion batch writes, by plain pg in one
 * transaction each, with the same concurrency as the batch path: insert
 * conversions, lock the partners' balances, insert commission lines, update
 * the balances, insert events and audit entries.
 */
async function floor(url: string, programId: string, partnerIds: string[]): Promise<number> {
  const client = new pg.Pool({ connectionString: url, max: BATCH_CONCURRENCY });
  client.on("error", () => {}); // idle connections dropped at the end are of no interest
  const started = performance.now();
  await pool(BATCHES, BATCH_CONCURRENCY, async (b) => {
    const conn = await client.connect();
    try {
      await conn.query("BEGIN");
      const ids = Array.from({ length: BATCH }, () => randomUUID());
      const lineIds = Array.from({ length: BATCH }, () => randomUUID());
      const partnersOf = ids.map((_, i) => partnerIds[(b * BATCH + i) % partnerIds.length]!);
      const amounts = ids.map((_, i) => `${10 + (i % 90)}.${String(i % 100).padStart(2, "0")}`);
      const now = new Date();
      await conn.query(
        `INSERT INTO conversions (id, program_id, external_id, amount, currency, program_amount, occurred_at, content_hash, created_at)
         SELECT c.id, $1, c.ext, c.amount, 'USD', c.amount, $4, c.ext, $4 FROM unnest($2::uuid[], $3::text[], $5::numeric[]) AS c(id, ext, amount)
         ON CONFLICT (program_id, external_id) DO NOTHING`,
        [programId, ids, ids.map((id) => `floor-${id}`), now, amounts],
      );
      await conn.query("SELECT 1 FROM balances WHERE partner_id = ANY($1::uuid[]) ORDER BY partner_id FOR UPDATE", [[...new Set(partnersOf)]]);
      await conn.query(
        `INSERT INTO commissions (id, program_id, partner_id, conversion_id, kind, status, amount, currency, rule, occurred_at, payable_at, matured, created_by, created_at, updated_at)
         SELECT l.id, $1, l.partner, l.conv, 'CONVERSION', 'PENDING', round(l.amount * 0.1, 2), 'USD', '{"type":"PERCENTAGE","percent":"10"}', $5, $5, false, 'floor', $5, $5
           FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $6::numeric[]) AS l(id, partner, conv, amount)`,
        [programId, lineIds, partnersOf, ids, now, amounts],
      );
      const perPartner = new Map<string, number>();
      const deltaCents = new Map<string, number>();
      partnersOf.forEach((p, i) => {
        perPartner.set(p, (perPartner.get(p) ?? 0) + 1);
        deltaCents.set(p, (deltaCents.get(p) ?? 0) + Math.round(Number(amounts[i]) * 10)); // 10% in cents (bench bookkeeping only)
      });
      const updated = await conn.query<{ partner_id: string; event_sequence: string }>(
        `UPDATE balances b SET pending = b.pending + d.delta, lifetime_earned = b.lifetime_earned + d.delta, event_sequence = b.event_sequence + d.n + 1, updated_at = $4
           FROM unnest($1::uuid[], $2::int[], $3::numeric[]) AS d(partner_id, n, delta)
          WHERE b.partner_id = d.partner_id RETURNING b.partner_id, b.event_sequence`,
        [[...perPartner.keys()], [...perPartner.values()], [...perPartner.keys()].map((p) => (deltaCents.get(p)! / 100).toFixed(2)), now],
      );
      const seqStart = new Map(updated.rows.map((r) => [r.partner_id, BigInt(r.event_sequence) - BigInt(perPartner.get(r.partner_id)! + 1)]));
      const eventPartner: string[] = [];
      const eventSeq: string[] = [];
      const eventEntity: string[] = [];
      partnersOf.forEach((p, i) => {
        const next = seqStart.get(p)! + 1n;
        seqStart.set(p, next);
        eventPartner.push(p);
        eventSeq.push(next.toString());
        eventEntity.push(lineIds[i]!);
      });
      for (const p of perPartner.keys()) {
        const next = seqStart.get(p)! + 1n;
        eventPartner.push(p);
        eventSeq.push(next.toString());
        eventEntity.push(p);
      }
      await conn.query(
        `INSERT INTO events (program_id, partner_id, partner_sequence, type, entity_id, payload, created_at)
         SELECT $1, e.p, e.s, 'commission.accrued', e.id, '{"amount":"1.00"}', $5 FROM unnest($2::uuid[], $3::bigint[], $4::uuid[]) AS e(p, s, id)`,
        [programId, eventPartner, eventSeq, eventEntity, now],
      );
      await conn.query(
        `INSERT INTO audit_entries (id, program_id, actor_role, actor_id, action, entity_type, entity_id, after, created_at)
         SELECT gen_random_uuid(), $1, 'admin', 'floor', 'conversion.record', 'Conversion', a.id, '{"amount":"10.00"}', $3 FROM unnest($2::uuid[]) AS a(id)`,
        [programId, ids, now],
      );
      await conn.query("COMMIT");
    } catch (error) {
      await conn.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      conn.release();
    }
  });
  const perSecond = (BATCHES * BATCH) / ((performance.now() - started) / 1000);
  await client.end();
  return perSecond;
}

await main();
