// `npm run bench:rls`: what PostgreSQL row-level security would cost accrue
// as a tenancy seam, on the embedded database and on the server. Each
// database is migrated and seeded (BENCH_PROGRAMS programs of 100 partners,
// 50 lines each), then the same statements run in transactions two ways, on
// one connection as a role without superuser rights (superusers bypass RLS):
//   plain: BEGIN; statements (which name program_id, as accrue's do); COMMIT
//   rls:   the tenant tables have RLS enabled with a policy
//          program_id = current_setting('app.program_id'); BEGIN;
//          SELECT set_config('app.program_id', <program>, true) (SET LOCAL);
//          the same statements; COMMIT
// Modes alternate in blocks (BENCH_ROUNDS rounds of BENCH_OPS transactions per
// statement and mode, the order flipped each round), so a machine whose load
// drifts weighs on both alike; the median of the rounds' mean is kept.
// Prints one JSON line; a table and progress on stderr. Options (env):
// BENCH_TARGET (pglite | postgres | both, default both), BENCH_DATABASE_URL,
// BENCH_ROUNDS (6), BENCH_OPS (200), BENCH_PROGRAMS (4).
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import type { SqlRunner } from "../src/db/database.ts";
import { migrate } from "../src/db/migrate.ts";
import { freshDatabase } from "./lib.ts";

const TARGETS = process.env.BENCH_TARGET === "pglite" || process.env.BENCH_TARGET === "postgres" ? [process.env.BENCH_TARGET] : ["pglite", "postgres"];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const OPS = Number(process.env.BENCH_OPS ?? 200);
const PROGRAMS = Number(process.env.BENCH_PROGRAMS ?? 4);
const PARTNERS = 100;
const LINES_PER_PARTNER = 50;
const log = (text: string) => process.stderr.write(`rls: ${text}\n`);

/** The tables that carry program_id (Program itself is keyed by id). */
const TENANT_TABLES = [
  "partners",
  "payout_methods",
  "billing_profiles",
  "conversions",
  "reversals",
  "commissions",
  "balances",
  "payouts",
  "payout_items",
  "events",
  "audit_entries",
  "idempotency_keys",
  "integration_tokens",
  "accounting_connections",
  "outbox_jobs",
  "payment_provider_connections",
  "provider_events",
];

/** One connection: session settings (the role) hold across calls. */
interface Connection {
  query(text: string, params?: unknown[]): Promise<unknown[]>;
  exec(text: string): Promise<void>;
  close(): Promise<void>;
}

function runnerOf(connection: Connection): SqlRunner {
  const inner = { exec: connection.exec, query: connection.query as SqlRunner["query"] };
  return {
    ...inner,
    async transaction(work) {
      await connection.exec("BEGIN");
      try {
        const value = await work(inner);
        await connection.exec("COMMIT");
        return value;
      } catch (error) {
        await connection.exec("ROLLBACK");
        throw error;
      }
    },
  };
}

async function open(target: string): Promise<{ connection: Connection; drop(): Promise<void> }> {
  if (target === "pglite") {
    const dir = mkdtempSync(join(tmpdir(), "accrue-bench-rls-"));
    const db = new PGlite(join(dir, "pgdata"));
    return {
      connection: {
        query: async (text, params = []) => (await db.query(text, params)).rows,
        exec: async (text) => void (await db.exec(text)),
        close: () => db.close(),
      },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const scratch = await freshDatabase();
  const client = new pg.Client({ connectionString: scratch.url });
  await client.connect();
  return {
    connection: {
      query: async (text, params = []) => (await client.query(text, params)).rows,
      exec: async (text) => void (await client.query(text)),
      close: () => client.end(),
    },
    drop: () => scratch.drop(),
  };
}

interface Seeded {
  programs: string[];
  /** Per program, its partners. */
  partners: Map<string, string[]>;
  /** Per program, some of its line ids. */
  lines: Map<string, string[]>;
}

async function seed(sql: Connection): Promise<Seeded> {
  const programs = Array.from({ length: PROGRAMS }, () => randomUUID());
  for (const programId of programs) {
    await sql.query(`INSERT INTO programs (id, name, currency, commission_rule, updated_at) VALUES ($1, 'bench', 'USD', '{}', now())`, [programId]);
    await sql.query(`INSERT INTO partners (id, program_id, name, updated_at) SELECT gen_random_uuid(), $1, 'partner ' || n, now() FROM generate_series(1, ${PARTNERS}) n`, [
      programId,
    ]);
    await sql.query(`INSERT INTO balances (partner_id, program_id, currency, updated_at) SELECT id, program_id, 'USD', now() FROM partners WHERE program_id = $1`, [programId]);
    await sql.query(
      `INSERT INTO commissions (id, program_id, partner_id, kind, status, amount, currency, occurred_at, payable_at, matured, created_by, created_at, updated_at)
       SELECT gen_random_uuid(), p.program_id, p.id, 'CREDIT', (ARRAY['PENDING', 'APPROVED', 'PAID', 'CANCELLED']::"CommissionStatus"[])[1 + n % 4],
              (n % 97) + 0.25, 'USD', now() - n * interval '1 hour', now(), n % 2 = 0, 'system', now() - n * interval '1 hour', now()
         FROM partners p, generate_series(1, ${LINES_PER_PARTNER}) n WHERE p.program_id = $1`,
      [programId],
    );
  }
  await sql.exec("ANALYZE");
  const partners = new Map<string, string[]>();
  const lines = new Map<string, string[]>();
  for (const programId of programs) {
    partners.set(
      programId,
      ((await sql.query(`SELECT id::text FROM partners WHERE program_id = $1`, [programId])) as { id: string }[]).map((r) => r.id),
    );
    lines.set(
      programId,
      ((await sql.query(`SELECT id::text FROM commissions WHERE program_id = $1 LIMIT 500`, [programId])) as { id: string }[]).map((r) => r.id),
    );
  }
  return { programs, partners, lines };
}

/** RLS on every tenant table, a policy per table, and a role that is subject to it. */
async function prepareRls(sql: Connection): Promise<void> {
  await sql.exec(`DO $$ BEGIN CREATE ROLE accrue_bench_app NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
  await sql.exec(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO accrue_bench_app;
                  GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO accrue_bench_app`);
  for (const table of TENANT_TABLES) {
    await sql.exec(`CREATE POLICY tenant ON ${table} USING (program_id = nullif(current_setting('app.program_id', true), '')::uuid)
                    WITH CHECK (program_id = nullif(current_setting('app.program_id', true), '')::uuid)`);
  }
  await sql.exec(`CREATE POLICY tenant ON programs USING (id = nullif(current_setting('app.program_id', true), '')::uuid)`);
}

async function setRls(sql: Connection, on: boolean): Promise<void> {
  await sql.exec("RESET ROLE");
  for (const table of [...TENANT_TABLES, "programs"]) await sql.exec(`ALTER TABLE ${table} ${on ? "ENABLE" : "DISABLE"} ROW LEVEL SECURITY`);
  await sql.exec("SET ROLE accrue_bench_app");
}

interface Statement {
  name: string;
  /** The statements of one transaction, for program `programId`; `i` picks rows. */
  run(sql: Connection, data: Seeded, programId: string, i: number): Promise<void>;
}

const pick = <T>(list: T[], i: number): T => list[i % list.length]!;

const STATEMENTS: Statement[] = [
  {
    name: "point read (one line by id)",
    run: async (sql, data, programId, i) => void (await sql.query(`SELECT * FROM commissions WHERE program_id = $1 AND id = $2`, [programId, pick(data.lines.get(programId)!, i)])),
  },
  {
    name: "partner page (50 lines, keyset order)",
    run: async (sql, data, programId, i) =>
      void (await sql.query(`SELECT id, amount, status FROM commissions WHERE program_id = $1 AND partner_id = $2 ORDER BY created_at, id LIMIT 50`, [
        programId,
        pick(data.partners.get(programId)!, i),
      ])),
  },
  {
    name: "join (lines with partner and program)",
    run: async (sql, data, programId, i) =>
      void (await sql.query(
        `SELECT c.id, c.amount, p.name, g.currency FROM commissions c JOIN partners p ON p.id = c.partner_id JOIN programs g ON g.id = c.program_id
          WHERE c.program_id = $1 AND c.partner_id = $2 ORDER BY c.created_at DESC LIMIT 20`,
        [programId, pick(data.partners.get(programId)!, i)],
      )),
  },
  {
    name: "program aggregate (5,000 lines by status)",
    run: async (sql, _data, programId) => void (await sql.query(`SELECT status, count(*), sum(amount) FROM commissions WHERE program_id = $1 GROUP BY status`, [programId])),
  },
  {
    name: "write (line insert + balance update)",
    run: async (sql, data, programId, i) => {
      const partnerId = pick(data.partners.get(programId)!, i);
      await sql.query(
        `INSERT INTO commissions (id, program_id, partner_id, kind, status, amount, currency, occurred_at, payable_at, created_by, updated_at)
         VALUES (gen_random_uuid(), $1, $2, 'CREDIT', 'PENDING', 1, 'USD', now(), now(), 'bench', now())`,
        [programId, partnerId],
      );
      await sql.query(`UPDATE balances SET pending = pending + 1 WHERE program_id = $1 AND partner_id = $2`, [programId, partnerId]);
    },
  },
];

/** Mean µs per transaction over OPS transactions of `statement`. */
async function block(sql: Connection, data: Seeded, statement: Statement, rls: boolean): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < OPS; i += 1) {
    const programId = pick(data.programs, i);
    await sql.exec("BEGIN");
    if (rls) await sql.query(`SELECT set_config('app.program_id', $1, true)`, [programId]);
    await statement.run(sql, data, programId, i);
    await sql.exec("COMMIT");
  }
  return ((performance.now() - started) * 1000) / OPS;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function measure(target: string) {
  const { connection, drop } = await open(target);
  try {
    log(`${target}: migrating and seeding ${PROGRAMS} programs x ${PARTNERS} partners x ${LINES_PER_PARTNER} lines`);
    await migrate(runnerOf(connection));
    const data = await seed(connection);
    await prepareRls(connection);
    // Fails closed: with RLS on, a transaction that set no program sees no rows.
    await setRls(connection, true);
    const [unset] = (await connection.query(`SELECT count(*)::int AS n FROM commissions`)) as { n: number }[];
    if (unset!.n !== 0) throw new Error(`RLS let ${unset!.n} rows through without a program`);
    await connection.exec("BEGIN");
    await connection.query(`SELECT set_config('app.program_id', $1, true)`, [data.programs[0]]);
    const [scoped] = (await connection.query(`SELECT count(*)::int AS n FROM commissions`)) as { n: number }[];
    await connection.exec("COMMIT");
    if (scoped!.n !== PARTNERS * LINES_PER_PARTNER) throw new Error(`RLS showed ${scoped!.n} rows of one program`);
    const results = [];
    for (const statement of STATEMENTS) {
      const plain: number[] = [];
      const rls: number[] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const on of round % 2 === 0 ? [false, true] : [true, false]) {
          await setRls(connection, on);
          (on ? rls : plain).push(await block(connection, data, statement, on));
        }
      }
      const row = { statement: statement.name, plainUs: Math.round(median(plain)), rlsUs: Math.round(median(rls)) };
      const overhead = { ...row, overheadUs: row.rlsUs - row.plainUs, overheadPct: Math.round(((row.rlsUs - row.plainUs) / row.plainUs) * 1000) / 10 };
      log(`${target}: ${statement.name}: plain ${overhead.plainUs} µs, rls ${overhead.rlsUs} µs (${overhead.overheadPct > 0 ? "+" : ""}${overhead.overheadPct}%)`);
      results.push(overhead);
    }
    // The round trip RLS adds to every transaction, alone.
    const setOnly: number[] = [];
    const empty: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      empty.push(await block(connection, data, { name: "empty", run: async () => {} }, false));
      setOnly.push(await block(connection, data, { name: "empty", run: async () => {} }, true));
    }
    return { target, statements: results, emptyTransactionUs: Math.round(median(empty)), setConfigTransactionUs: Math.round(median(setOnly)) };
  } finally {
    await connection.close();
    await drop();
  }
}

const out = [];
for (const target of TARGETS) out.push(await measure(target));
process.stderr.write("\n| database | statement | plain µs | RLS µs | overhead |\n|---|---|---:|---:|---:|\n");
for (const r of out) {
  for (const s of r.statements) process.stderr.write(`| ${r.target} | ${s.statement} | ${s.plainUs} | ${s.rlsUs} | ${s.overheadPct > 0 ? "+" : ""}${s.overheadPct}% |\n`);
  process.stderr.write(
    `| ${r.target} | BEGIN; COMMIT (set_config alone) | ${r.emptyTransactionUs} | ${r.setConfigTransactionUs} | ${r.setConfigTransactionUs - r.emptyTransactionUs} µs |\n`,
  );
}
console.log(JSON.stringify({ bench: "rls", rounds: ROUNDS, ops: OPS, programs: PROGRAMS, loadAverage: loadavg()[0]!.toFixed(1), results: out }));
