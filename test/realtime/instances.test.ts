import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMigratedPostgresDatabase } from "../helpers/database-templates.ts";
import { hasPostgres, hasRedis } from "../helpers/databases.ts";
import { feedClient, PartnerFeedDoc, subscribe } from "../helpers/feed-client.ts";
import { createPartnerFixture, createProgramFixture } from "../helpers/fixtures.ts";
import { recordSale } from "../helpers/ledger-docs.ts";
import { startTestApp, type TestApp } from "../helpers/test-app.ts";

/**
 * Two server instances on one PostgreSQL and one Redis. The feeds' periodic
 * check of the event table is set to an hour, so that only Redis can bring
 * B's subscriber what A committed: with Redis stopped or refusing
 * connections, this test fails.
 */
describe.runIf(hasPostgres && hasRedis)("across server instances (PostgreSQL + Redis)", () => {
  let database: Awaited<ReturnType<typeof createMigratedPostgresDatabase>>;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    database = await createMigratedPostgresDatabase();
    const env = { REDIS_URL: process.env.REDIS_URL!, ACCRUE_FEED_RECONCILE_MS: "3600000" };
    a = await startTestApp("postgres", { databaseUrl: database.url, env });
    b = await startTestApp("postgres", { databaseUrl: database.url, env });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await database?.drop();
  });

  it("brings a change made through one instance to a subscriber on the other, through Redis", async () => {
    const program = await createProgramFixture(a);
    const integration = await program.integrationToken(["CONVERSIONS_WRITE"]);
    const p = await createPartnerFixture(a, program);
    const client = feedClient(b.url, p.token);
    const feed = subscribe(client, PartnerFeedDoc, {});
    await feed.started;
    const sale = await recordSale(a, integration, p.id, { amount: "60.00" });
    const items = await feed.waitFor(2);
    expect(items[0]!.partnerEvents).toMatchObject({ type: "COMMISSION_ACCRUED", sequence: "1", commission: { id: sale.commissionId } });
    expect(items[1]!.partnerEvents).toMatchObject({ type: "BALANCE_CHANGED", balance: { pending: { amount: "6.00" } } });
    await client.dispose();
  });
});
