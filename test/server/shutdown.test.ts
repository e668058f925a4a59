import { Agent, request } from "node:http";
import { connect } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiClient } from "../helpers/api-client.ts";
import { createMigratedPostgresDatabase } from "../helpers/database-templates.ts";
import { hasPostgres, type ScratchDatabase } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture } from "../helpers/fixtures.ts";
import { recordSale } from "../helpers/ledger-docs.ts";
import { startServerProcess, type ServerProcess } from "../helpers/server-process.ts";

const SECRET = "shutdown-test-secret-long-enough-for-hs256";

async function until(check: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** POSTs a GraphQL document over `agent` (keep-alive), resolving with status, headers and body. */
function post(url: string, agent: Agent, body: unknown, token: string) {
  return new Promise<{ status: number; connection: string | undefined; body: any }>((resolve, reject) => {
    const req = request(`${url}/graphql`, { method: "POST", agent, headers: { "content-type": "application/json", authorization: `Bearer ${token}` } }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, connection: res.headers.connection, body: JSON.parse(text) }));
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

/**
 * SIGTERM on a real server process: it stops accepting connections at once,
 * lets the request in flight finish, closes idle keep-alive connections, and
 * exits as soon as the last request has ended, not at the grace limit
 * (ten minutes here, so the process can only exit early by design).
 */
describe.runIf(hasPostgres)("SIGTERM (a real process on PostgreSQL)", () => {
  let database: ScratchDatabase;
  let dataDir: string;
  let server: ServerProcess;
  let sql: pg.Client;

  beforeAll(async () => {
    database = await createMigratedPostgresDatabase();
    dataDir = mkdtempSync(join(tmpdir(), "accrue-shutdown-"));
    server = await startServerProcess({
      DATABASE_URL: database.url,
      ACCRUE_DATA_DIR: dataDir,
      ACCRUE_JWT_SECRET: SECRET,
      ACCRUE_SHUTDOWN_GRACE_MS: "600000",
      DATABASE_LOCK_TIMEOUT_MS: "600000",
      DATABASE_STATEMENT_TIMEOUT_MS: "600000",
      ACCRUE_SCHEDULER_INTERVAL_MS: "200",
    });
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    if (server?.child.exitCode === null) server.child.kill("SIGKILL");
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("refuses new connections at once, finishes the request and the scheduled task in flight, closes idle keep-alives, and exits when they are done", async () => {
    const api = apiClient(server.url, SECRET);
    const acme = await createProgramFixture(api, { currency: "USD", timeZone: "UTC", holdPeriodDays: 1, commissionRule: { type: "PERCENTAGE", percent: "10" } });
    const integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    const partner = await createPartnerFixture(api, acme);
    // A line whose one-day hold ends a few seconds from now: the scheduler
    // will release it, under the partner's balance lock the test is about to hold.
    await recordSale(api, integration, partner.id, { amount: "20.00", occurredAt: new Date(Date.now() - 86_400_000 + 3_000).toISOString() });

    // An idle keep-alive connection: it has served a request and waits for the next.
    const idleAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await post(server.url, idleAgent, { query: "{ viewer { role } }" }, acme.adminToken)).status).toBe(200);
    const idleSocket = Object.values(idleAgent.freeSockets).flat()[0]!;
    const idleClosed = new Promise<void>((resolve) => idleSocket.once("close", () => resolve()));

    // A scheduled task and a request in flight for as long as the test holds the partner's balance row.
    await sql.query("BEGIN");
    await sql.query("SELECT 1 FROM balances WHERE partner_id = $1 FOR UPDATE", [partner.rawId]);
    const lockWaiters = async () => {
      // Inside the test's transaction pg_stat_activity would answer from its first read's snapshot.
      await sql.query("SELECT pg_stat_clear_snapshot()");
      return Number((await sql.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows[0].n);
    };
    await until(async () => (await lockWaiters()) === 1, "the hold release to wait for the partner");
    const busyAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const inFlight = post(
      server.url,
      busyAgent,
      {
        query: "mutation ($input: RecordConversionInput!) { recordConversion(input: $input) { created } }",
        variables: { input: { externalId: "in-flight", partners: [{ id: partner.id }], amount: "50.00", currency: "USD", occurredAt: "2026-03-01T00:00:00.000Z" } },
      },
      integration,
    );
    await until(async () => (await lockWaiters()) === 2, "the request to be in flight too");

    const exited = new Promise<number | null>((resolve) => server.child.once("exit", (code) => resolve(code)));
    server.child.kill("SIGTERM");
    await until(() => /shutting down/.test(server.output()), "the shutdown to begin");

    // No new connection is accepted.
    const port = Number(new URL(server.url).port);
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve("connected")));
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    });
    expect(refused).toBe("ECONNREFUSED");
    // The idle keep-alive connection is closed by the server.
    await idleClosed;
    expect(server.child.exitCode).toBeNull(); // still serving the request in flight

    await sql.query("ROLLBACK");
    const done = await inFlight;
    expect(done.status).toBe(200);
    expect(done.body.data.recordConversion.created).toBe(true);
    // Its connection is told it closes, so no keep-alive holds the exit.
    expect(done.connection).toBe("close");

    // The grace period is ten minutes: exiting now means it did not wait for it.
    expect(await exited).toBe(0);
    expect(server.output()).toMatch(/"msg":"stopped"/);
    expect(Number((await sql.query("SELECT count(*) AS n FROM conversions WHERE external_id = 'in-flight'")).rows[0].n)).toBe(1);
    // The scheduled task finished its work too: the line it was releasing is payable.
    expect(Number((await sql.query("SELECT count(*) AS n FROM commissions WHERE matured = false")).rows[0].n)).toBe(0);
    idleAgent.destroy();
    busyAgent.destroy();
  });
});
