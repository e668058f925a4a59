import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { createMigratedPostgresDatabase } from "../helpers/database-templates.ts";
import { hasPostgres, type ScratchDatabase } from "../helpers/databases.ts";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { CreatePartnerDoc, createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { expectReconciled, RecordConversionDoc, RecordConversionsDoc } from "../helpers/ledger-docs.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";
import { dataOf, startTestApp, type GraphQLResponse, type TestApp } from "../helpers/test-app.ts";

const PayoutCountDoc = graphql(`query FaultPayoutCount { payouts { totalCount } }`);
const ViewerDoc = graphql(`query FaultViewer { viewer { role } }`);

/** The answer every database fault must give: its own code, 503 and Retry-After, never "Unexpected error.". */
function expectUnavailable(response: GraphQLResponse<unknown>) {
  expect(response.errors?.map((error) => error.extensions?.code)).toEqual(["SERVICE_UNAVAILABLE"]);
  expect(response.status).toBe(503);
  expect(response.headers?.get("retry-after")).toBe("5");
  expect(JSON.stringify(response.errors)).not.toMatch(/Unexpected error|ECONN|pg_|SELECT|terminated/i);
}

/** Polls `check` until it holds (a positive marker), failing after `ms`. */
async function until(check: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A test's own connection to the scratch database, not through the proxy. */
async function direct(database: ScratchDatabase): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  return client;
}

/**
 * Faults between accrue and PostgreSQL, made by a TCP proxy the test drives:
 * a database that refuses connections, one that never answers them, links
 * cut in the middle of a transaction, a stalled network, slow packets, a
 * pool with no free connection. Each ends in SERVICE_UNAVAILABLE (HTTP 503,
 * Retry-After) at its configured timeout, never in a hang or a masked
 * INTERNAL_SERVER_ERROR; nothing is half-written, and a retry with the same
 * key takes effect once.
 */
describe.runIf(hasPostgres)("database faults (PostgreSQL through a proxy)", () => {
  let database: ScratchDatabase;
  let proxy: TcpProxy;
  let t: TestApp;
  let acme: ProgramFixture;
  let integration: string;
  let partner: Awaited<ReturnType<typeof createPartnerFixture>>;
  let admin: pg.Client;

  beforeAll(async () => {
    database = await createMigratedPostgresDatabase();
    proxy = await startTcpProxy(database.url);
    t = await startTestApp("postgres", {
      databaseUrl: proxy.url(database.url),
      env: {
        ACCRUE_SCHEDULER: "0",
        DATABASE_CONNECT_TIMEOUT_MS: "1000",
        DATABASE_STATEMENT_TIMEOUT_MS: "1000",
        DATABASE_TRANSACTION_START_TIMEOUT_MS: "1000",
        // The request's own time budget (QUERY_TIMEOUT) stays out of the way: these cases are the database's timeouts.
        ACCRUE_QUERY_TIMEOUT_MS: "30000",
      },
    });
    acme = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" } });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE", "CONVERSIONS_READ"]);
    partner = await createPartnerFixture(t, acme);
    admin = await direct(database);
  });
  afterAll(async () => {
    await admin?.end();
    await t?.stop();
    await proxy?.close();
    await database?.drop();
  });

  const sale = (externalId: string) => ({
    externalId,
    partners: [{ id: partner.id }],
    amount: "100.00",
    currency: "USD",
    occurredAt: "2026-03-01T00:00:00.000Z",
  });
  const conversionCount = async (externalId: string) => Number((await admin.query("SELECT count(*) AS n FROM conversions WHERE external_id = $1", [externalId])).rows[0].n);

  it("a database that refuses connections: reads and writes are SERVICE_UNAVAILABLE (503, Retry-After); the retried write lands once", async () => {
    proxy.killConnections();
    proxy.setMode("refuse");
    try {
      expectUnavailable(await t.gql(PayoutCountDoc, {}, acme.adminToken));
      expectUnavailable(await t.gql(RecordConversionDoc, { input: sale("refused-1") }, integration));
      expect(await conversionCount("refused-1")).toBe(0);
      // Load balancers see it: the process lives, but it is not ready.
      expect((await fetch(`${t.url}/health`)).status).toBe(200);
      const ready = await fetch(`${t.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ checks: { database: expect.not.stringMatching(/^ok$/) } });
    } finally {
      proxy.setMode("forward");
    }
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    const retried = dataOf(await t.gql(RecordConversionDoc, { input: sale("refused-1") }, integration)).recordConversion;
    expect(retried.created).toBe(true);
    const again = dataOf(await t.gql(RecordConversionDoc, { input: sale("refused-1") }, integration)).recordConversion;
    expect(again.created).toBe(false);
    expect(await conversionCount("refused-1")).toBe(1);
  });

  it("an integration token is not called revoked while the database is down", async () => {
    proxy.killConnections();
    proxy.setMode("refuse");
    try {
      const response = await t.gql(ViewerDoc, {}, integration);
      expectUnavailable(response);
    } finally {
      proxy.setMode("forward");
    }
    expect(dataOf(await t.gql(ViewerDoc, {}, integration)).viewer?.role).toBe("INTEGRATION");
  });

  it("a host that never answers: the connect timeout ends the wait", async () => {
    proxy.killConnections();
    proxy.setMode("hang");
    try {
      // The proxy holds every new connection unanswered for as long as this
      // test runs: only accrue's own connect timeout can produce an answer.
      const response = await t.gql(PayoutCountDoc, {}, acme.adminToken);
      expect(proxy.open).toBeGreaterThan(0);
      expectUnavailable(response);
    } finally {
      proxy.setMode("forward");
      proxy.killConnections();
    }
    expect(dataOf(await t.gql(PayoutCountDoc, {}, acme.adminToken)).payouts.totalCount).toBe(0);
  });

  it("a stalled network: a read ends at the statement timeout, with the stall still on", async () => {
    await t.gql(PayoutCountDoc, {}, acme.adminToken); // a pooled connection to stall
    proxy.stall();
    try {
      const response = await t.gql(PayoutCountDoc, {}, acme.adminToken);
      // Still stalled, bytes still held: the answer came from accrue's timeout, not from the database.
      expect(proxy.held).toBeGreaterThan(0);
      expectUnavailable(response);
    } finally {
      proxy.resume();
    }
    expect(dataOf(await t.gql(PayoutCountDoc, {}, acme.adminToken)).payouts.totalCount).toBe(0);
  });

  it("a connection cut in the middle of a batch's transaction leaves none of it; the retried batch lands once", async () => {
    const conversions = Array.from({ length: 40 }, (_, i) => sale(`batch-cut-${i}`));
    // Every packet late, so the transaction is open long enough to be seen and cut.
    proxy.setDelay(150);
    const pending = t.gql(RecordConversionsDoc, { input: { items: conversions } }, integration);
    try {
      // Positive marker: a backend of accrue's inside a transaction that has written (it has an xid).
      await until(async () => {
        const { rows } = await admin.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL");
        return Number(rows[0].n) > 0;
      }, "the batch's transaction to write");
      expect(proxy.killConnections()).toBeGreaterThan(0);
    } finally {
      proxy.setDelay(0);
    }
    expectUnavailable(await pending);
    // The server rolls back what the cut connection had written.
    await until(async () => {
      const { rows } = await admin.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL");
      return Number(rows[0].n) === 0;
    }, "the cut transaction to end");
    expect(Number((await admin.query("SELECT count(*) AS n FROM conversions WHERE external_id LIKE 'batch-cut-%'")).rows[0].n)).toBe(0);
    expect(
      Number((await admin.query("SELECT count(*) AS n FROM commissions c JOIN conversions v ON v.id = c.conversion_id WHERE v.external_id LIKE 'batch-cut-%'")).rows[0].n),
    ).toBe(0);

    const retried = dataOf(await t.gql(RecordConversionsDoc, { input: { items: conversions } }, integration)).recordConversions;
    expect(retried.userErrors).toEqual([]);
    expect(retried.createdCount).toBe(40);
    const replayed = dataOf(await t.gql(RecordConversionsDoc, { input: { items: conversions } }, integration)).recordConversions;
    expect(replayed.createdCount).toBe(0);
    const rows = (await admin.query("SELECT external_id, count(*) AS n FROM conversions WHERE external_id LIKE 'batch-cut-%' GROUP BY 1")).rows;
    expect(rows).toHaveLength(40);
    expect(rows.every((row: { n: string }) => Number(row.n) === 1)).toBe(true);
    await expectReconciled(t, acme.adminToken);
  });

  it("every packet 200 ms late: slower, and still correct", async () => {
    proxy.setDelay(200);
    try {
      const written = dataOf(await t.gql(RecordConversionDoc, { input: sale("slow-1") }, integration)).recordConversion;
      expect(written.created).toBe(true);
    } finally {
      proxy.setDelay(0);
    }
    expect(await conversionCount("slow-1")).toBe(1);
  });

  it("CSV exports answer 503 with Retry-After and the code, as JSON", async () => {
    proxy.killConnections();
    proxy.setMode("refuse");
    try {
      const response = await fetch(`${t.url}/exports/payouts.csv`, { headers: { authorization: `Bearer ${acme.adminToken}` } });
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("5");
      const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors.map((error) => error.extensions.code)).toEqual(["SERVICE_UNAVAILABLE"]);
    } finally {
      proxy.setMode("forward");
    }
    const ok = await fetch(`${t.url}/exports/payouts.csv`, { headers: { authorization: `Bearer ${acme.adminToken}` } });
    expect(ok.status).toBe(200);
    await ok.text();
  });

  it("over WebSocket the operation fails with SERVICE_UNAVAILABLE, and the socket stays for the next one", async () => {
    const closes: number[] = [];
    let opened = 0;
    // Not lazy: one socket for the three operations, so "the socket stays" is seen.
    const client = createClient({
      url: `${t.url.replace(/^http/, "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${acme.adminToken}` },
      lazy: false,
      retryAttempts: 0,
      on: { opened: () => void (opened += 1), closed: (event) => void closes.push((event as { code: number }).code) },
    });
    const run = () =>
      new Promise<{ data?: unknown; errors?: readonly { extensions?: Record<string, unknown> }[] }>((resolve, reject) => {
        let result: { data?: unknown; errors?: readonly { extensions?: Record<string, unknown> }[] } = {};
        client.subscribe({ query: "{ payouts { totalCount } }" }, { next: (value) => (result = value as typeof result), error: reject, complete: () => resolve(result) });
      });
    try {
      expect(await run()).toEqual({ data: { payouts: { totalCount: 0 } } });
      proxy.killConnections();
      proxy.setMode("refuse");
      let failed;
      try {
        failed = await run();
      } finally {
        proxy.setMode("forward");
      }
      expect(failed.errors?.map((error) => error.extensions?.code)).toEqual(["SERVICE_UNAVAILABLE"]);
      expect(await run()).toEqual({ data: { payouts: { totalCount: 0 } } });
      expect(closes).toEqual([]);
      expect(opened).toBe(1);
    } finally {
      await client.dispose();
    }
  });
});

/** Runs a sale for `partner` through `t`; resolves with the response. */
function saleFor(t: TestApp, token: string, partner: { id: string }, externalId: string) {
  return t.gql(RecordConversionDoc, { input: { externalId, partners: [{ id: partner.id }], amount: "10.00", currency: "USD", occurredAt: "2026-03-01T00:00:00.000Z" } }, token);
}

/** Backends of the app waiting for a lock (the test's own connection excluded). */
async function lockWaiters(client: pg.Client): Promise<number> {
  // Inside a transaction pg_stat_activity answers from its first read's snapshot unless told otherwise.
  await client.query("SELECT pg_stat_clear_snapshot()");
  const { rows } = await client.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'");
  return Number(rows[0].n);
}

/**
 * The timeouts that need a lock held by the test: a statement PostgreSQL
 * itself cancels, and a transaction that cannot get a connection because
 * the pool's only one is busy.
 */
function withHeldLock(env: Record<string, string>) {
  const state = {} as { database: ScratchDatabase; t: TestApp; acme: ProgramFixture; integration: string; holder: pg.Client };
  beforeAll(async () => {
    state.database = await createMigratedPostgresDatabase();
    state.t = await startTestApp("postgres", {
      databaseUrl: state.database.url,
      env: { ACCRUE_SCHEDULER: "0", DATABASE_CONNECT_TIMEOUT_MS: "1000", DATABASE_TRANSACTION_START_TIMEOUT_MS: "1000", ...env },
    });
    state.acme = await createProgramFixture(state.t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" } });
    state.integration = await state.acme.integrationToken(["CONVERSIONS_WRITE"]);
    state.holder = await direct(state.database);
  });
  afterAll(async () => {
    await state.holder?.end();
    await state.t?.stop();
    await state.database?.drop();
  });
  return state;
}

describe.runIf(hasPostgres)("the statement timeout (PostgreSQL)", () => {
  const s = withHeldLock({ DATABASE_STATEMENT_TIMEOUT_MS: "1000", DATABASE_LOCK_TIMEOUT_MS: "600000" });

  it("a statement blocked past statement_timeout is cancelled by PostgreSQL: SERVICE_UNAVAILABLE, nothing written", async () => {
    const { t, acme, integration, holder } = s;
    const partner = await createPartnerFixture(t, acme);
    await holder.query("BEGIN");
    await holder.query("SELECT 1 FROM balances WHERE partner_id = $1 FOR UPDATE", [partner.rawId]);
    try {
      // lock_timeout is ten minutes here, and the lock is held until this
      // test lets go: only statement_timeout can end the wait.
      expectUnavailable(await saleFor(t, integration, partner, "blocked-1"));
    } finally {
      await holder.query("ROLLBACK");
    }
    expect(Number((await holder.query("SELECT count(*) AS n FROM conversions WHERE external_id = 'blocked-1'")).rows[0].n)).toBe(0);
    expect((await saleFor(t, integration, partner, "blocked-1")).data?.recordConversion.created).toBe(true);
  });
});

describe.runIf(hasPostgres)("the transaction-start timeout (PostgreSQL)", () => {
  // Every other wait is ten minutes here: only the transaction-start timeout can answer.
  const s = withHeldLock({
    DATABASE_POOL_SIZE: "1",
    DATABASE_CONNECT_TIMEOUT_MS: "600000",
    DATABASE_STATEMENT_TIMEOUT_MS: "600000",
    DATABASE_LOCK_TIMEOUT_MS: "600000",
  });

  it("with the pool's one connection busy, a transaction that cannot start is SERVICE_UNAVAILABLE; the busy one still completes", async () => {
    const { t, acme, integration, holder } = s;
    const partner = await createPartnerFixture(t, acme);
    const other = await createPartnerFixture(t, acme);
    await holder.query("BEGIN");
    await holder.query("SELECT 1 FROM balances WHERE partner_id = $1 FOR UPDATE", [partner.rawId]);
    let blocked: Promise<GraphQLResponse<unknown>> | undefined;
    try {
      blocked = saleFor(t, integration, partner, "holds-the-pool");
      await until(async () => (await lockWaiters(holder)) === 1, "the first sale to wait for the lock");
      // An operator's write (its token needs no database) starts a
      // transaction, which needs the pool's only connection: it waits on
      // the lock for as long as the test holds it.
      expectUnavailable(await t.gql(CreatePartnerDoc, { input: { name: "No Connection", email: "none@partners.test" } }, acme.adminToken));
      expect(await lockWaiters(holder)).toBe(1);
    } finally {
      await holder.query("ROLLBACK");
    }
    expect(((await blocked) as GraphQLResponse<{ recordConversion: { created: boolean } }>).data?.recordConversion.created).toBe(true);
    expect(Number((await holder.query("SELECT count(*) AS n FROM partners WHERE email = 'none@partners.test'")).rows[0].n)).toBe(0);
    // The pool has its connection back.
    expect((await saleFor(t, integration, other, "after-the-wait")).data?.recordConversion.created).toBe(true);
  });
});
