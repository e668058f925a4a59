import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const ScheduledTasksDoc = graphql(`
  query ScheduledTasks { scheduledTasks { task failures lastFailedAt lastError lastSucceededAt } }
`);

const SCOPES = ["COMMISSIONS_READ", "CONVERSIONS_READ", "CONVERSIONS_WRITE", "PARTNERS_READ", "PARTNERS_WRITE", "PAYOUTS_READ", "PAYOUTS_WRITE"];

async function until(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The scheduler logs a failing task and goes on (the other tasks still get
 * their turn); logs are silent in CI, so each failure is also counted: in
 * the process (what every test app checks at stop) and in the database,
 * summed over instances and workers, where the platform role reads it.
 */
describe.each(databaseTargets())("failed scheduled tasks on %s", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  beforeAll(async () => {
    t = await startTestApp(target, { env: { ACCRUE_SCHEDULER: "0" }, expectTaskFailures: true });
    acme = await createProgramFixture(t);
  });
  afterAll(() => t?.stop());

  const tasks = async () => dataOf(await t.gql(ScheduledTasksDoc, {}, await t.token({ role: "platform" }))).scheduledTasks;
  const byName = async (name: string) => (await tasks()).find((task) => task.task === name);

  it("are counted and shown to platform operators, while the other tasks keep running", async () => {
    await t.app.scheduler.runOnce({ poll: false });
    expect(t.app.scheduler.failures()).toEqual([]);

    // The outbox's table gone, as after a bad deploy: its task fails every tick.
    await t.app.db.sql.exec("ALTER TABLE outbox_jobs RENAME TO outbox_jobs_away");
    try {
      await t.app.scheduler.runOnce({ poll: false }); // logs and carries on, as in production
    } finally {
      await t.app.db.sql.exec("ALTER TABLE outbox_jobs_away RENAME TO outbox_jobs");
    }
    expect(t.app.scheduler.failures()).toEqual([{ task: "outbox", count: 1, lastError: expect.stringMatching(/^INTERNAL_ERROR \(\w+\)$/) }]);

    await until(async () => (await byName("outbox"))?.failures === 1, "the failure to be recorded");
    const outbox = (await byName("outbox"))!;
    expect(outbox.lastError).toMatch(/^INTERNAL_ERROR \(\w+\)$/);
    expect(outbox.lastError).not.toMatch(/outbox_jobs|SELECT|relation/); // no SQL or names: the log has them
    expect(outbox.lastFailedAt).not.toBeNull();
    // The tasks before and after it in the tick ran.
    expect(await byName("releaseHolds")).toMatchObject({ failures: 0, lastSucceededAt: expect.any(String) });
    expect(await byName("scheduledPayouts")).toMatchObject({ failures: 0, lastSucceededAt: expect.any(String) });

    // Fixed, the next run succeeds and says so at once; the count stays.
    await t.app.scheduler.runOnce({ poll: false });
    await until(async () => {
      const now = await byName("outbox");
      return !!now?.lastSucceededAt && new Date(now.lastSucceededAt) > new Date(now.lastFailedAt!);
    }, "the recovery to be recorded");
    expect((await byName("outbox"))?.failures).toBe(1);
  });

  it("are for the platform role only: no program role, partner or integration scope reads them", async () => {
    const partner = await createPartnerFixture(t, acme);
    const denied = [acme.adminToken, acme.financeToken, acme.analystToken, partner.token];
    for (const scope of SCOPES) denied.push(await acme.integrationToken([scope]));
    for (const token of denied) {
      const response = await t.gql(ScheduledTasksDoc, {}, token);
      expect(response.data ?? null).toBeNull();
      expect(response.errors?.map((error) => error.extensions?.code)).toEqual(["FORBIDDEN"]);
    }
    const anonymous = await t.gql(ScheduledTasksDoc, {}, null);
    expect(anonymous.data ?? null).toBeNull();
    expect(anonymous.errors?.map((error) => error.extensions?.code)).toEqual(["UNAUTHENTICATED"]);
    expect((await tasks()).map((task) => task.task)).toEqual(["outbox", "paymentRails", "releaseHolds", "scheduledPayouts"]);
  });
});

describe("every test app checks that no scheduled task failed", () => {
  it("stop() fails when one did, however quietly the scheduler took it", async () => {
    const quiet = await startTestApp("pglite", { env: { ACCRUE_SCHEDULER: "0" } });
    await quiet.app.db.sql.exec("ALTER TABLE outbox_jobs RENAME TO outbox_jobs_away");
    await quiet.app.scheduler.runOnce({ poll: false });
    await expect(quiet.stop()).rejects.toThrow(/scheduled tasks failed during this test file: .*"task":"outbox"/);
  });
});
