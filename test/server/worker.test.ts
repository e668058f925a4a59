import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { apiClient } from "../helpers/api-client.ts";
import { createMigratedPostgresDatabase } from "../helpers/database-templates.ts";
import { hasPostgres, type ScratchDatabase } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture } from "../helpers/fixtures.ts";
import { balanceOf, expectReconciled, recordSale, ReviewDocs } from "../helpers/ledger-docs.ts";
import { ROOT, runToExit, startServerProcess, type ServerProcess } from "../helpers/server-process.ts";
import { dataOf } from "../helpers/test-app.ts";

const SECRET = "worker-test-secret-long-enough-for-hs256";
const TasksDoc = graphql(`query WorkerTasks { scheduledTasks { task failures lastSucceededAt } }`);

async function until(check: () => Promise<boolean> | boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("npm run worker", () => {
  it("refuses the embedded database, saying the server runs the scheduled work itself", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "accrue-worker-"));
    try {
      const npm = process.platform === "win32" ? "npm.cmd" : "npm";
      const { DATABASE_URL: _ignored, ...env } = process.env;
      const result = await runToExit(npm, ["run", "-s", "worker"], { ...(env as Record<string, string>), DATABASE_URL: "", ACCRUE_DATA_DIR: dataDir });
      expect(result.code).toBe(2);
      expect(result.output).toContain("npm run worker needs DATABASE_URL");
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/**
 * The worker as a process of its own on PostgreSQL, next to a server whose
 * scheduler is off: a commission whose hold has ended stays pending until
 * the worker releases it; the release is the worker's (counted in
 * scheduledTasks, which the server's own tasks never touched), and SIGTERM
 * stops it cleanly.
 */
describe.runIf(hasPostgres)("npm run worker on PostgreSQL", () => {
  let database: ScratchDatabase;
  let dataDir: string;
  let server: ServerProcess;
  let worker: ChildProcess | undefined;
  let sql: pg.Client;

  beforeAll(async () => {
    database = await createMigratedPostgresDatabase();
    dataDir = mkdtempSync(join(tmpdir(), "accrue-worker-pg-"));
    server = await startServerProcess({ DATABASE_URL: database.url, ACCRUE_DATA_DIR: dataDir, ACCRUE_JWT_SECRET: SECRET, ACCRUE_SCHEDULER: "0" });
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  });
  afterAll(async () => {
    if (worker && worker.exitCode === null) worker.kill("SIGKILL");
    await sql?.end();
    await server?.stop();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("releases a commission whose hold has ended, counts its runs, and stops on SIGTERM", async () => {
    const api = apiClient(server.url, SECRET);
    const platform = await api.token({ role: "platform" });
    const acme = await createProgramFixture(api, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, holdPeriodDays: 30 });
    const integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    const p = await createPartnerFixture(api, acme);
    const sale = await recordSale(api, integration, p.id, { amount: "100.00", occurredAt: new Date().toISOString() });
    expect(dataOf(await api.gql(ReviewDocs.approve, { input: { ids: [sale.commissionId] } }, acme.adminToken)).approveCommissions.commissions).toHaveLength(1);
    // The hold ends (the test moves its end into the past; no clock is shared with a process).
    const moved = await sql.query("UPDATE commissions SET payable_at = now() - interval '1 second' WHERE NOT matured RETURNING id");
    expect(moved.rowCount).toBe(1);
    // What the projection has stored: the line's mark and the partner's balance row.
    const stored = async () => {
      const { rows } = await sql.query<{ matured: boolean; pending: string; payable: string }>(
        `SELECT c.matured, b.pending::numeric(20, 2)::text AS pending, b.payable::numeric(20, 2)::text AS payable
           FROM commissions c JOIN balances b ON b.program_id = c.program_id AND b.partner_id = c.partner_id WHERE c.id = $1`,
        [moved.rows[0]!.id],
      );
      return rows[0]!;
    };
    // The line is payable by the rule at once (domain/payable.ts: time alone makes it so), and the
    // balance answers so; with the server's scheduler off, nobody marks it in the stored projection.
    expect(await balanceOf(api, acme.adminToken, p.id)).toMatchObject({ pending: "0.00", payable: "10.00" });
    expect(await stored()).toEqual({ matured: false, pending: "10.00", payable: "0.00" });
    expect(dataOf(await api.gql(TasksDoc, {}, platform)).scheduledTasks).toEqual([]);

    let output = "";
    const child = spawn(process.execPath, ["--import", "tsx", "src/worker.ts"], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: "test", LOG_LEVEL: "info", DATABASE_URL: database.url, ACCRUE_JWT_SECRET: SECRET, ACCRUE_SCHEDULER_INTERVAL_MS: "200" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    worker = child;
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

    await until(() => output.includes("accrue worker running"), `the worker to start:\n${output}`);
    await until(async () => (await stored()).matured, `the worker to release the hold:\n${output}`);
    expect(await stored()).toEqual({ matured: true, pending: "0.00", payable: "10.00" });
    expect(await balanceOf(api, acme.adminToken, p.id)).toMatchObject({ pending: "0.00", payable: "10.00" });
    await expectReconciled(api, acme.adminToken);
    await until(
      async () => dataOf(await api.gql(TasksDoc, {}, platform)).scheduledTasks.some((task) => task.task === "releaseHolds" && task.lastSucceededAt !== null),
      "the worker's run to be counted",
    );
    expect(dataOf(await api.gql(TasksDoc, {}, platform)).scheduledTasks.every((task) => task.failures === 0)).toBe(true);

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(output).toMatch(/"msg":"worker stopping"/);
  }, 120_000);
});
