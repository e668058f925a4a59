import pg from "pg";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiClient } from "../helpers/api-client.ts";
import { createMigratedPostgresDatabase } from "../helpers/database-templates.ts";
import { hasPostgres, type ScratchDatabase } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { expectReconciled } from "../helpers/ledger-docs.ts";
import { makePayable, payableSale, RunPayoutsDoc } from "../helpers/payout-docs.ts";
import { startServerProcess, type ServerProcess } from "../helpers/server-process.ts";
import { dataOf, type ApiClient } from "../helpers/test-app.ts";

const SECRET = "takeover-test-secret-long-enough-for-hs256";
const PARTNERS = 6;
/** The partner (in the run's order) whose balance the test holds, so the run stops there. */
const HELD = 3;

async function until(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A payout run's idempotency key belongs to the run that holds it only as
 * long as that run's process lives: after `kill -9` mid-run, a retry with
 * the key on another instance takes it over at once (no ten-minute wait),
 * drafts the partners the dead run had not reached, and each partner ends
 * with exactly one payout. Real processes on one PostgreSQL database.
 */
describe.runIf(hasPostgres)("a payout run killed mid-run and retried on another instance (PostgreSQL)", () => {
  let database: ScratchDatabase;
  let dataDir: string;
  let first: ServerProcess;
  let second: ServerProcess;
  let a: ApiClient;
  let b: ApiClient;
  let acme: ProgramFixture;
  let partners: { id: string; rawId: string }[];
  let sql: pg.Client;

  beforeAll(async () => {
    database = await createMigratedPostgresDatabase();
    dataDir = mkdtempSync(join(tmpdir(), "accrue-takeover-"));
    const env = {
      DATABASE_URL: database.url,
      ACCRUE_DATA_DIR: dataDir,
      ACCRUE_JWT_SECRET: SECRET,
      ACCRUE_SCHEDULER: "0",
      // The held balance row keeps the run waiting until the kill, however slow the machine.
      DATABASE_LOCK_TIMEOUT_MS: "600000",
      DATABASE_STATEMENT_TIMEOUT_MS: "600000",
    };
    first = await startServerProcess(env);
    second = await startServerProcess(env);
    a = apiClient(first.url, SECRET);
    b = apiClient(second.url, SECRET);
    acme = await createProgramFixture(a, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "10.00" });
    const integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    partners = [];
    for (let i = 0; i < PARTNERS; i += 1) {
      const p = await createPartnerFixture(a, acme);
      await makePayable(a, acme, p.id);
      await payableSale(a, acme, integration, p.id, "200.00");
      partners.push(p);
    }
    // The run drafts in partner id order.
    partners.sort((x, y) => (x.rawId < y.rawId ? -1 : 1));
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    if (first?.child.exitCode === null) first.child.kill("SIGKILL");
    await second?.stop();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const count = async (query: string, params: unknown[] = []) => {
    // The test's connection is inside a transaction at times, where pg_stat_activity would answer from its first read.
    await sql.query("SELECT pg_stat_clear_snapshot()");
    return Number((await sql.query(query, params)).rows[0].n);
  };

  it("takes the key over at once, drafts the rest, and drafts each partner once", async () => {
    const input = { idempotencyKey: "month-end-run" };
    await sql.query("BEGIN");
    await sql.query("SELECT 1 FROM balances WHERE partner_id = $1 FOR UPDATE", [partners[HELD]!.rawId]);
    const cut = a.gql(RunPayoutsDoc, { input }, acme.financeToken).catch((error: unknown) => error);
    // Positive markers: the partners before the held one are drafted
    // (committed), and the run waits on the held one.
    await until(async () => (await count("SELECT count(*) AS n FROM payouts")) === HELD, `${HELD} drafts`);
    await until(
      async () => (await count("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")) === 1,
      "the run to wait on the held partner",
    );

    // While the run lives, the other instance refuses its key.
    const meanwhile = dataOf(await b.gql(RunPayoutsDoc, { input }, acme.financeToken)).runPayouts;
    expect(meanwhile.userErrors.map((e) => e.code)).toEqual(["CONCURRENT_UPDATE"]);

    first.child.kill("SIGKILL");
    expect(await cut).toBeInstanceOf(Error); // the client saw the connection die, not an answer
    await sql.query("ROLLBACK");
    // The database frees the dead session's lock when it sees the connection close: no timer.
    await until(async () => (await count("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'")) === 0, "the dead run's key lock to go");

    const retried = dataOf(await b.gql(RunPayoutsDoc, { input }, acme.financeToken)).runPayouts;
    expect(retried.userErrors).toEqual([]);
    expect(retried.skipped).toEqual([]);
    expect(retried.payouts.map((p) => p.partner.id).sort()).toEqual(partners.map((p) => p.id).sort());

    const perPartner = (await sql.query("SELECT partner_id, count(*)::int AS n FROM payouts GROUP BY partner_id")).rows as { n: number }[];
    expect(perPartner).toHaveLength(PARTNERS);
    expect(perPartner.every((row) => row.n === 1)).toBe(true);
    expect(await count("SELECT count(*) AS n FROM (SELECT commission_id FROM payout_items GROUP BY commission_id HAVING count(*) > 1) d")).toBe(0);

    // The key now answers with that report, on either instance that lives.
    const replay = dataOf(await b.gql(RunPayoutsDoc, { input }, acme.financeToken)).runPayouts;
    expect(replay.payouts.map((p) => p.id).sort()).toEqual(retried.payouts.map((p) => p.id).sort());
    expect(await count("SELECT count(*) AS n FROM payouts")).toBe(PARTNERS);
    await expectReconciled(b, acme.adminToken);
  });
});
