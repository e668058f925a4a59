import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { hasPostgres } from "../helpers/databases.ts";
import { lockWaiters } from "../helpers/lock-gate.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { READS_WITHOUT_PRISMA } from "../helpers/sql-read-queries.ts";
import { startTestApp, type GraphQLResponse, type TestApp } from "../helpers/test-app.ts";

const CreatePartnerDoc = graphql(`
  mutation TimeoutCreatePartner($input: CreatePartnerInput!) { createPartner(input: $input) { partner { id } userErrors { code } } }
`);

const noLeak = (body: unknown) => expect(JSON.stringify(body)).not.toMatch(/node_modules|\.ts:\d+|\bat [\w.]+ \(|SELECT |INSERT |prisma|lock/i);
const codeOf = (response: GraphQLResponse<unknown>) => response.errors?.[0]?.extensions?.code;

/** Resolves once `check` returns true, polling; rejects after `ms` (a marker, not a timing assertion). */
async function until(check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("the awaited state never came");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A query that runs past ACCRUE_QUERY_TIMEOUT_MS is stopped with
 * QUERY_TIMEOUT while whatever holds it up is still holding it up: the
 * answer comes first, the hold is released after it. Without the limit these
 * tests would wait forever for the hold that only they release.
 */
describe("query time limit (embedded database)", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  beforeAll(async () => {
    t = await startTestApp("pglite", { env: { ACCRUE_QUERY_TIMEOUT_MS: "300" } });
    acme = await createProgramFixture(t);
    await createPartnerFixture(t, acme);
  });
  afterAll(() => t?.stop());

  /** Opens a transaction on the one embedded connection and keeps it open until released. */
  async function holdDatabase(): Promise<{ release(): Promise<void> }> {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    const held = t.app.db.prisma.$transaction(
      async (tx) => {
        await tx.program.count();
        holding = true;
        await gate;
      },
      { timeout: 60_000, maxWait: 60_000 },
    );
    await until(() => holding);
    return {
      async release() {
        release();
        await held;
      },
    };
  }

  it("stops a query waiting on the database, answers the rest, and the server carries on", async () => {
    const hold = await holdDatabase();
    let released = false;
    try {
      const stuck = t.raw({ query: "{ partners(first: 5) { totalCount edges { node { id name } } } }" }, acme.adminToken);
      const small = await t.raw({ query: "{ viewer { role } }" }, acme.adminToken);
      expect(small.data).toEqual({ viewer: { role: "ADMIN" } });
      const response = await stuck;
      expect(released).toBe(false); // answered while the database was still held
      noLeak(response);
      expect(response.status).toBe(503);
      expect(codeOf(response)).toBe("QUERY_TIMEOUT");
      expect(response.data).toBeUndefined();
    } finally {
      released = true;
      await hold.release();
    }
    expect(t.app.limits.stats.timedOutQueries).toBeGreaterThanOrEqual(1);
    const after = await t.raw({ query: "{ partners(first: 5) { totalCount } }" }, acme.adminToken);
    expect(after.errors).toBeUndefined();
  });

  it("does not stop a mutation halfway: it waits and completes", async () => {
    const hold = await holdDatabase();
    let mutationDone = false;
    const mutation = t.gql(CreatePartnerDoc, { input: { name: "Patient" } }, acme.adminToken).then((response) => {
      mutationDone = true;
      return response;
    });
    try {
      // A query sent with it is stopped at the limit: the limit has passed for the mutation too.
      const stopped = t.app.limits.stats.timedOutQueries;
      expect(codeOf(await t.raw({ query: "{ partners(first: 1) { totalCount } }" }, acme.adminToken))).toBe("QUERY_TIMEOUT");
      expect(t.app.limits.stats.timedOutQueries).toBe(stopped + 1);
      expect(mutationDone).toBe(false);
    } finally {
      await hold.release();
    }
    const response = await mutation;
    expect(response.errors).toBeUndefined();
    expect(response.data?.createPartner.partner?.id).toBeTruthy();
  });
});

describe.runIf(hasPostgres)("query time limit (PostgreSQL): the stopped query's SQL is cancelled", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  let locker: pg.Client;
  let watcher: pg.Client;
  beforeAll(async () => {
    t = await startTestApp("postgres", { env: { ACCRUE_QUERY_TIMEOUT_MS: "500", DATABASE_POOL_SIZE: "2" } });
    acme = await createProgramFixture(t);
    await createPartnerFixture(t, acme);
    const url = t.app.config.database.kind === "postgres" ? t.app.config.database.url : "";
    locker = new pg.Client({ connectionString: url });
    watcher = new pg.Client({ connectionString: url });
    await locker.connect();
    await watcher.connect();
  });
  afterAll(async () => {
    await locker?.end();
    await watcher?.end();
    await t?.stop();
  });

  /** The server's statements waiting for a lock (our own connections excluded). */
  const waiting = () => lockWaiters(watcher, locker);

  it("frees the pool a stuck query held, so a small request is answered while the hold lasts", async () => {
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE commissions IN ACCESS EXCLUSIVE MODE");
    const cancelledBefore = t.app.limits.stats.cancelledStatements;
    try {
      // Two statements on the two pooled connections, both waiting for the lock.
      const stuck = t.raw({ query: "{ a: commissions { totalCount } b: commissions(first: 1) { edges { node { id } } } }" }, acme.adminToken);
      await until(async () => (await waiting()) >= 2);
      const response = await stuck;
      noLeak(response);
      expect(codeOf(response)).toBe("QUERY_TIMEOUT");
      expect(t.app.limits.stats.cancelledStatements - cancelledBefore).toBeGreaterThanOrEqual(2);
      expect(await waiting()).toBe(0); // cancelled, not left waiting for the lock (or its 5 s timeout)
      // This one needs a connection too; had the stuck query kept its two, it
      // would wait for the lock. (Sent now, not beside the stuck one: its own
      // 500 ms would be spent waiting for a connection on a busy machine.)
      const answered = await t.raw({ query: "{ partners(first: 1) { edges { node { id } } } }" }, acme.adminToken);
      expect(answered.errors).toBeUndefined();
      expect((answered.data as { partners: { edges: unknown[] } }).partners.edges).toHaveLength(1);
      // Still held: the small request did not wait for the hold to end.
      const held = await watcher.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE pid = $1 AND mode = 'AccessExclusiveLock' AND granted", [
        (locker as unknown as { processID: number }).processID,
      ]);
      expect(held.rows[0]!.n).toBeGreaterThanOrEqual(1);
    } finally {
      await locker.query("ROLLBACK");
    }
    const after = await t.raw({ query: "{ commissions { totalCount } }" }, acme.adminToken);
    expect(after.errors).toBeUndefined();
  });

  // Reads sent without Prisma (db/sql-read.ts): the partners' plain page and each partner's lines.
  it.each(READS_WITHOUT_PRISMA)("cancels a %s statement sent without Prisma, as it cancels Prisma's", async (table, query) => {
    await locker.query("BEGIN");
    await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    const cancelled = t.app.limits.stats.cancelledStatements;
    try {
      const response = await t.raw({ query }, acme.adminToken);
      noLeak(response);
      expect(codeOf(response)).toBe("QUERY_TIMEOUT");
      expect(t.app.limits.stats.cancelledStatements).toBeGreaterThan(cancelled);
      // Cancelled, not left waiting for the lock.
      await until(async () => (await waiting()) === 0, 5_000);
    } finally {
      await locker.query("ROLLBACK");
    }
  });

  it("stops a query, and cancels its SQL, when its client goes away", async () => {
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE commissions IN ACCESS EXCLUSIVE MODE");
    const { timedOutQueries, abandonedQueries, cancelledStatements } = t.app.limits.stats;
    try {
      const client = new AbortController();
      const request = fetch(`${t.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${acme.adminToken}` },
        body: JSON.stringify({ query: "{ commissions { totalCount } }" }),
        signal: client.signal,
      }).catch((error: unknown) => error);
      await until(async () => (await waiting()) >= 1);
      client.abort();
      expect(await request).toBeInstanceOf(Error);
      // Stopped because the client left, not at the time limit; the lock is still held and the statement is gone.
      await until(() => t.app.limits.stats.abandonedQueries > abandonedQueries);
      expect(t.app.limits.stats.timedOutQueries).toBe(timedOutQueries);
      expect(t.app.limits.stats.cancelledStatements).toBeGreaterThan(cancelledStatements);
      expect(await waiting()).toBe(0);
    } finally {
      await locker.query("ROLLBACK");
    }
  });
});
