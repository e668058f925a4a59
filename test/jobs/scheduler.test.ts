import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { connectQuickBooks } from "../helpers/accounting-docs.ts";
import { createMigratedPostgresDatabase } from "../helpers/database-templates.ts";
import { databaseTargets, hasPostgres } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture } from "../helpers/fixtures.ts";
import { balanceOf, recordSale, ReviewDocs } from "../helpers/ledger-docs.ts";
import { ApprovePayoutsDoc, CreatePayoutDoc, makePayable, payableSale, RunPayoutsDoc } from "../helpers/payout-docs.ts";
import { startQuickBooksStandIn, type StandIn } from "../helpers/quickbooks-stand-in.ts";
import { dataOf, rawId, startTestApp, type TestApp } from "../helpers/test-app.ts";

const PayoutsDoc = graphql(`query ScheduledPayouts { payouts(first: 50) { totalCount edges { node { id status createdBy amount { amount } } } } }`);
const ScheduleDoc = graphql(`mutation ChangeSchedule($input: UpdateProgramSettingsInput!) { updateProgramSettings(input: $input) { program { id } userErrors { code message } } }`);
const ScheduledStoredRunsDoc = graphql(`query ScheduledStoredRuns { payoutRuns(first: 5) { edges { node { trigger createdBy totals { drafted { count } } } } } }`);
const RunsDoc = graphql(`query ScheduledRuns { auditEntries(filter: { action: "payout.run" }) { totalCount edges { node { actorId after } } } }`);

describe.each(databaseTargets())("scheduled work on %s", (target) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(target, { env: { ACCRUE_SCHEDULER: "0" } });
  });
  afterAll(() => t?.stop());

  it("makes a held commission payable at the instant its hold ends, not a millisecond before", async () => {
    const program = await createProgramFixture(t, { timeZone: "Europe/Berlin", holdPeriodDays: 7, commissionRule: { type: "PERCENTAGE", percent: "10" } });
    const integration = await program.integrationToken(["CONVERSIONS_WRITE"]);
    const p = await createPartnerFixture(t, program);
    t.clock.set("2026-03-26T10:00:00.000Z");
    // 2026-03-25 09:30 Berlin (CET); seven calendar days later the clocks have
    // gone forward (CEST), so payableAt is 2026-04-01 09:30 Berlin = 07:30Z.
    const sale = await recordSale(t, integration, p.id, { amount: "100.00", occurredAt: "2026-03-25T08:30:00.000Z" });
    dataOf(await t.gql(ReviewDocs.approve, { input: { ids: [sale.commissionId] } }, program.adminToken));
    t.clock.set("2026-04-01T07:29:59.999Z");
    await t.app.scheduler.tasks.releaseHolds();
    expect(await balanceOf(t, program.adminToken, p.id)).toMatchObject({ pending: "10.00", payable: "0.00" });
    t.clock.set("2026-04-01T07:30:00.000Z");
    await t.app.scheduler.tasks.releaseHolds();
    expect(await balanceOf(t, program.adminToken, p.id)).toMatchObject({ pending: "0.00", payable: "10.00" });
    // Nothing more to release: running again changes nothing.
    await t.app.scheduler.tasks.releaseHolds();
    expect(await balanceOf(t, program.adminToken, p.id)).toMatchObject({ payable: "10.00" });
  });

  it("runs monthly payouts on the day, in the program's time zone, and once; days 29–31 run on a short month's last day", async () => {
    t.clock.set("2026-01-20T12:00:00.000Z");
    const programs: { day: number; program: Awaited<ReturnType<typeof createProgramFixture>> }[] = [];
    for (const day of [28, 29, 30, 31]) {
      const program = await createProgramFixture(t, {
        name: `Monthly ${day}`,
        timeZone: "America/Los_Angeles",
        payoutSchedule: { frequency: "MONTHLY", dayOfMonth: day },
        minimumPayout: "5.00",
        commissionRule: { type: "PERCENTAGE", percent: "10" },
      });
      const integration = await program.integrationToken(["CONVERSIONS_WRITE"]);
      const p = await createPartnerFixture(t, program);
      await makePayable(t, program, p.id);
      await payableSale(t, program, integration, p.id, "100.00");
      programs.push({ day, program });
    }
    const drafted = async () => Promise.all(programs.map(async ({ program }) => dataOf(await t.gql(PayoutsDoc, {}, program.adminToken)).payouts.totalCount));

    // The programs were made on January 20th: by January 31st (Los Angeles)
    // each has had its January run.
    t.clock.set("2026-01-31T08:00:00.000Z"); // January 31st, 00:00 in Los Angeles
    await t.app.scheduler.tasks.scheduledPayouts();
    expect(await drafted()).toEqual([1, 1, 1, 1]);
    // Pay them out of the way (cancel), so the February runs draft again.
    for (const { program } of programs) {
      const open = dataOf(await t.gql(PayoutsDoc, {}, program.adminToken)).payouts.edges[0]!.node;
      await t.gql(
        graphql(`mutation CancelScheduled($input: CancelPayoutsInput!) { cancelPayouts(input: $input) { userErrors { code } } }`),
        { input: { ids: [open.id], reason: "test" } },
        program.adminToken,
      );
    }
    t.clock.set("2026-02-28T07:59:00.000Z"); // February 27th, 23:59 in Los Angeles
    await t.app.scheduler.tasks.scheduledPayouts();
    expect(await drafted()).toEqual([1, 1, 1, 1]);
    t.clock.set("2026-02-28T08:00:00.000Z"); // February 28th, 00:00: every one of them runs
    await t.app.scheduler.tasks.scheduledPayouts();
    expect(await drafted()).toEqual([2, 2, 2, 2]);
    await t.app.scheduler.tasks.scheduledPayouts();
    expect(await drafted()).toEqual([2, 2, 2, 2]); // once per scheduled date
    const runs = dataOf(await t.gql(RunsDoc, {}, programs[3]!.program.adminToken)).auditEntries;
    expect(runs.totalCount).toBe(2);
    expect(runs.edges[0]!.node.actorId).toBe("payout-schedule");
    // Each scheduled run is stored too, as the schedule's, with the payout it drafted.
    const stored = dataOf(await t.gql(ScheduledStoredRunsDoc, {}, programs[3]!.program.adminToken)).payoutRuns;
    expect(stored.edges.map((e) => [e.node.trigger, e.node.createdBy, e.node.totals.drafted.count])).toEqual([
      ["SCHEDULE", "payout-schedule", 1],
      ["SCHEDULE", "payout-schedule", 1],
    ]);
  });

  it("starts a changed schedule at its next date, and keeps its runs apart from operators' idempotency keys", async () => {
    t.clock.set("2026-01-05T12:00:00.000Z");
    const program = await createProgramFixture(t, { timeZone: "UTC", minimumPayout: "5.00", commissionRule: { type: "PERCENTAGE", percent: "10" } });
    const integration = await program.integrationToken(["CONVERSIONS_WRITE"]);
    const p = await createPartnerFixture(t, program);
    await makePayable(t, program, p.id);
    await payableSale(t, program, integration, p.id, "100.00");
    const drafted = async () => dataOf(await t.gql(PayoutsDoc, {}, program.adminToken)).payouts.totalCount;

    // On Friday 2026-03-20 an admin switches to monthly on the 1st: March 1st is past, so nothing runs before April 1st.
    t.clock.set("2026-03-20T12:00:00.000Z");
    const changed = dataOf(await t.gql(ScheduleDoc, { input: { payoutSchedule: { frequency: "MONTHLY", dayOfMonth: 1 } } }, program.adminToken));
    expect(changed.updateProgramSettings.userErrors).toEqual([]);
    await t.app.scheduler.tasks.scheduledPayouts();
    expect(await drafted()).toBe(0);

    // An operator's run under the key the schedule will use for April 1st does not stand in for it.
    t.clock.set("2026-03-25T12:00:00.000Z");
    const manual = dataOf(await t.gql(RunPayoutsDoc, { input: { idempotencyKey: "scheduled-2026-04-01", payableBefore: "2026-03-25T00:00:00Z" } }, program.adminToken)).runPayouts;
    expect(manual.userErrors).toEqual([]);
    expect(manual.payouts).toHaveLength(1);
    await t.gql(
      graphql(`mutation CancelManualRun($input: CancelPayoutsInput!) { cancelPayouts(input: $input) { userErrors { code } } }`),
      { input: { ids: [manual.payouts[0]!.id], reason: "wrong day" } },
      program.adminToken,
    );
    t.clock.set("2026-04-01T00:00:00.000Z");
    await t.app.scheduler.tasks.scheduledPayouts();
    expect(await drafted()).toBe(2); // the schedule's own run drafted again
  });
});

describe.runIf(hasPostgres)("two worker instances at once (PostgreSQL)", () => {
  let database: Awaited<ReturnType<typeof createMigratedPostgresDatabase>>;
  let qbo: StandIn;
  let a: TestApp;
  let b: TestApp;
  let sql: pg.Client;
  beforeAll(async () => {
    database = await createMigratedPostgresDatabase();
    qbo = await startQuickBooksStandIn();
    // Instances of one deployment share its secrets: each test app would
    // otherwise generate its own encryption key in its own data folder, and
    // one instance could not open the QuickBooks tokens another sealed.
    const env = { ...qbo.env, ACCRUE_SCHEDULER: "0", ACCRUE_ENCRYPTION_KEY: randomBytes(32).toString("base64") };
    a = await startTestApp("postgres", { databaseUrl: database.url, env });
    b = await startTestApp("postgres", { databaseUrl: database.url, env, clock: a.clock });
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await a?.stop();
    await b?.stop();
    await qbo?.close();
    await database?.drop();
  });
  const billPosts = () => qbo.requests.filter((r) => r.method === "POST" && r.path.endsWith("/bill")).length;
  const syncJobs = async (payoutId: string) =>
    (
      await sql.query<{ status: string; attempts: number; last_error: string | null }>(`SELECT status, attempts, last_error FROM outbox_jobs WHERE subject_id = $1`, [
        rawId(payoutId),
      ])
    ).rows;

  it("run each job once", async () => {
    a.clock.set("2026-01-20T12:00:00.000Z");
    const program = await createProgramFixture(a, { timeZone: "UTC", payoutSchedule: { frequency: "WEEKLY", weekday: "MONDAY" }, minimumPayout: "1.00", holdPeriodDays: 3 });
    const integration = await program.integrationToken(["CONVERSIONS_WRITE"]);
    await connectQuickBooks(a, program, qbo);
    const partners = [];
    for (let i = 0; i < 4; i += 1) {
      const p = await createPartnerFixture(a, program);
      await makePayable(a, program, p.id);
      partners.push(p);
    }
    // Lines whose hold ends on Friday the 23rd, approved.
    for (const p of partners) {
      const sale = await recordSale(a, integration, p.id, { amount: "100.00", occurredAt: "2026-01-20T00:00:00.000Z" });
      await a.gql(ReviewDocs.approve, { input: { ids: [sale.commissionId] } }, program.adminToken);
    }
    // An approved payout to book in QuickBooks.
    const q = await createPartnerFixture(a, program);
    await makePayable(a, program, q.id);
    await payableSale(a, program, integration, q.id, "500.00");
    const payout = dataOf(await a.gql(CreatePayoutDoc, { input: { partnerId: q.id } }, program.financeToken)).createPayout.payout!;
    await a.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, program.financeToken);

    a.clock.set("2026-01-26T00:00:01.000Z"); // Monday: holds have ended, the weekly run is due
    const postsBefore = billPosts();
    await Promise.all([a.app.scheduler.runOnce({ poll: false }), b.app.scheduler.runOnce({ poll: false })]);
    await Promise.all([a.app.scheduler.runOnce({ poll: false }), b.app.scheduler.runOnce({ poll: false })]);

    const runs = dataOf(await a.gql(RunsDoc, {}, program.adminToken)).auditEntries;
    expect(runs.totalCount).toBe(1);
    const payouts = dataOf(await a.gql(PayoutsDoc, {}, program.adminToken)).payouts.edges.map((e) => e.node);
    expect(payouts.filter((p) => p.createdBy === "payout-schedule")).toHaveLength(4);
    for (const p of partners) expect(await balanceOf(a, program.adminToken, p.id)).toMatchObject({ inPayouts: "10.00", pending: "0.00" });
    // Whichever instance took it, the job ran once, at its first attempt.
    expect(await syncJobs(payout.id)).toEqual([{ status: "DONE", attempts: 1, last_error: null }]);
    expect(billPosts() - postsBefore).toBe(1);
    expect(qbo.bills.size).toBe(1);
  }, 60_000);

  // Which instance takes a task first is a matter of timing; each must be able to do it.
  for (const [name, runs] of [
    ["the instance that queued it", () => a],
    ["another instance", () => b],
  ] as const) {
    it(`delivers a job through ${name}`, async () => {
      a.clock.set("2026-02-02T12:00:00.000Z");
      const program = await createProgramFixture(a, { timeZone: "UTC", minimumPayout: "1.00" });
      const integration = await program.integrationToken(["CONVERSIONS_WRITE"]);
      await connectQuickBooks(a, program, qbo);
      const q = await createPartnerFixture(a, program);
      await makePayable(a, program, q.id);
      await payableSale(a, program, integration, q.id, "200.00");
      const payout = dataOf(await a.gql(CreatePayoutDoc, { input: { partnerId: q.id } }, program.financeToken)).createPayout.payout!;
      dataOf(await a.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, program.financeToken));
      a.clock.advance(2 * 3_600_000); // the access token has expired: the job refreshes it first
      const postsBefore = billPosts();
      expect(await runs().app.scheduler.tasks.outbox()).toMatchObject({ done: 1, retried: 0, failed: 0 });
      expect(await syncJobs(payout.id)).toEqual([{ status: "DONE", attempts: 1, last_error: null }]);
      expect(billPosts() - postsBefore).toBe(1);
    }, 60_000);
  }
});
