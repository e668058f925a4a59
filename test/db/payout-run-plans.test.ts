import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { migrateDatabase, seedProgram, type Seeded } from "../../bench/seed.ts";
import { ManualClock } from "../../src/clock.ts";
import { ledgerTaps, type StatementLedger } from "../../src/db/statement-ledger.ts";
import { createPostgresDatabase, hasPostgres, type ScratchDatabase } from "../helpers/databases.ts";
import { explainAnalyze, type PlanNode, READ_FACTOR, READ_SLACK, rowsRead } from "../helpers/query-plans.ts";
import { startTestApp, type TestApp } from "../helpers/test-app.ts";

/**
 * What a payout run reads for each partner it drafts, under that partner's
 * balance lock, on partners with a long history: every SELECT the request
 * sends is run again with EXPLAIN ANALYZE, and a scan of the lines that
 * reads many times more rows than its statement returns fails the test.
 *
 * The case it guards: the lines whose hold has ended and that are not yet
 * marked matured (few at any time) were looked for among every line of the
 * partner still pending, approved or on hold past its hold (marked long
 * ago), because Prisma sends the statuses as casts of parameters, which
 * PostgreSQL cannot match to the partial index kept for them
 * (commissions_maturing_idx). The hold-release task asks the same for each
 * partner with due lines, every tick. In the soak on a million lines that
 * was 460 lines a partner, read again by every draft and every tick.
 *
 * Sizes: 4 partners with 3,000 lines each over the last year (bench/seed.ts,
 * seedProgram): about 1,700 of each partner's lines are past their hold and
 * pending, approved or on hold, all marked.
 */
describe.skipIf(!hasPostgres)("a payout run's reads on partners with a long history", () => {
  let database: ScratchDatabase;
  let t: TestApp;
  let explain: pg.Client;
  let seeded: Seeded;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    await migrateDatabase(database.url);
    seeded = await seedProgram(database.url, { partners: 4, linesPerPartner: 3_000 });
    explain = new pg.Client({ connectionString: database.url });
    await explain.connect();
    await explain.query("VACUUM ANALYZE");
    // The seed dates lines from the database's clock; the app reads the same time.
    t = await startTestApp("postgres", { databaseUrl: database.url, countStatements: true, clock: new ManualClock(new Date().toISOString()), env: { ACCRUE_SCHEDULER: "false" } });
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    await explain?.end();
    await database?.drop();
  });

  function overReads(plan: PlanNode): string[] {
    const problems: string[] = [];
    const visit = (node: PlanNode) => {
      if (node["Relation Name"] === "commissions") {
        const returned = node["Actual Rows"] * node["Actual Loops"];
        const read = rowsRead(node);
        if (node["Node Type"] === "Seq Scan" || read > READ_FACTOR * returned + READ_SLACK)
          problems.push(`${node["Node Type"]} on commissions${node["Index Name"] ? ` (${node["Index Name"]})` : ""} read ${read} rows for ${returned}`);
      }
      for (const child of node.Plans ?? []) visit(child);
    };
    visit(plan);
    return problems;
  }

  it("finds the lines to mark matured without reading the partner's history", async () => {
    const pendingPastHold = await explain.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM commissions WHERE partner_id = $1 AND status IN ('PENDING', 'APPROVED', 'ON_HOLD') AND payable_at <= now() AND matured`,
      [seeded.partnerIds[0]],
    );
    // The history the old statement walked (so the test would see it).
    expect(pendingPastHold.rows[0]!.n).toBeGreaterThan(1_000);

    let captured: StatementLedger | undefined;
    const tap = (ledger: StatementLedger) => void (captured = ledger);
    ledgerTaps.add(tap);
    try {
      const response = await t.raw(
        { query: "mutation { runPayouts(input: {}) { payouts { id } skipped { reason } userErrors { code } } }" },
        await t.token({ role: "admin", programId: seeded.programId }),
      );
      expect(response.errors).toBeUndefined();
      // The seeded partners have no payout method: each is skipped after its lines were looked at.
      expect((response.data as { runPayouts: { skipped: { reason: string }[] } }).runPayouts.skipped.map((s) => s.reason)).toEqual(Array(4).fill("NO_PAYOUT_METHOD"));
    } finally {
      ledgerTaps.delete(tap);
    }
    const statements = (captured?.queries ?? []).filter((statement) => /^\s*(\/\*.*?\*\/\s*)?SELECT\b/is.test(statement.sql) && /\bcommissions\b/.test(statement.sql));
    expect(statements.length).toBeGreaterThanOrEqual(4);
    const failures: string[] = [];
    for (const statement of statements) {
      const problems = overReads(await explainAnalyze(explain, statement));
      if (problems.length) failures.push(`${problems.join("; ")}\n    ${statement.sql.replace(/SELECT .*? FROM/s, "SELECT … FROM").slice(0, 400)}`);
    }
    expect(failures).toEqual([]);
  }, 60_000);
});
