import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { hasPostgres } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { expectReconciled, recordSale, ReviewDocs } from "../helpers/ledger-docs.ts";
import { CreatePayoutDoc, makePayable } from "../helpers/payout-docs.ts";
import { dataOf, rawId, startTestApp, type TestApp } from "../helpers/test-app.ts";

/**
 * One definition of "payable" (domain/payable.ts): APPROVED, payableAt
 * passed, in no open payout. Every place that answers "is this line
 * payable" or sums payable lines must answer alike, and time alone decides:
 * a line past its hold before the hold-release job has run is reported
 * payable by `isPayable`, the balance, the payable summary, the payouts
 * overview, the `payable` filter of the lists and the export, and is what a
 * payout draft gathers; after the job runs nothing changes.
 */

const LineDoc = graphql(`query PayableLine($id: ID!) { commission(id: $id) { id isPayable } }`);
const ViewsDoc = graphql(`
  query PayableViews($partnerId: ID!) {
    partner(id: $partnerId) {
      balance { pending { amount } payable { amount } inPayouts { amount } recoverable { amount } payoutBlockers payableCommissionCount }
      commissions(first: 50, filter: { payable: true }) { totalCount edges { node { id } } }
      notPayable: commissions(first: 50, filter: { payable: false }) { totalCount edges { node { id } } }
    }
    commissions(first: 50, filter: { partnerId: $partnerId, payable: true }) { totalCount edges { node { id } } }
    pendingPayouts(first: 50) { edges { node { partnerId payable { amount } } } }
    partnerBalances(first: 50, filter: { minimumPayable: "0.01" }) { edges { node { partnerId } } }
  }
`);
const OverviewDoc = graphql(`query PayableOverview { payoutsOverview { payableNow { amount } payableNowPartners owedToPartners { amount } pending { amount } } }`);

const DAY = 86_400_000;

describe.skipIf(!hasPostgres)("one rule for payable (PostgreSQL, over HTTP)", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  let integration: string;

  beforeAll(async () => {
    // No scheduler timer: the hold-release job runs only when this test says so.
    t = await startTestApp("postgres", { env: { ACCRUE_SCHEDULER: "false" } });
    t.clock.set("2026-03-10T12:00:00.000Z");
    acme = await createProgramFixture(t, { commissionRule: { type: "PERCENTAGE", percent: "10" }, holdPeriodDays: 3, minimumPayout: "1.00" });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
  });
  afterAll(() => t?.stop());

  /** Every answer the API gives about which of the partner's lines are payable, and how much they make. */
  async function views(partnerId: string, lineIds: string[]) {
    const isPayable: string[] = [];
    for (const id of lineIds) if (dataOf(await t.gql(LineDoc, { id }, acme.adminToken)).commission?.isPayable) isPayable.push(id);
    const data = dataOf(await t.gql(ViewsDoc, { partnerId }, acme.adminToken));
    const partner = data.partner!;
    const csv = await fetch(`${t.url}/exports/commissions.csv?payable=true&partnerId=${encodeURIComponent(partnerId)}`, {
      headers: { authorization: `Bearer ${acme.adminToken}` },
    });
    expect(csv.status).toBe(200);
    const exported = (parse(await csv.text(), { columns: true }) as { commission_id: string }[]).map((row) => row.commission_id);
    const ids = (connection: { edges: { node: { id: string } }[] }) => connection.edges.map((edge) => edge.node.id).sort();
    return {
      isPayable: isPayable.sort(),
      list: ids(data.commissions),
      nested: ids(partner.commissions),
      nestedCount: partner.commissions.totalCount,
      notPayable: ids(partner.notPayable),
      exported: exported.sort(),
      balance: partner.balance,
      inPendingPayouts: data.pendingPayouts.edges.find((edge) => edge.node.partnerId === partnerId)?.node.payable.amount ?? null,
      inPartnerBalances: data.partnerBalances.edges.some((edge) => edge.node.partnerId === partnerId),
    };
  }

  async function matured(lineId: string): Promise<boolean> {
    const row = await t.app.db.prisma.commission.findUniqueOrThrow({ where: { id: rawId(lineId) }, select: { matured: true } });
    return row.matured;
  }

  it("reports a line past its hold as payable everywhere before the hold-release job runs, drafts it, and changes nothing when the job runs", async () => {
    const partners = [await createPartnerFixture(t, acme), await createPartnerFixture(t, acme)];
    const lines: Record<string, { due: string; held: string; pending: string }> = {};
    for (const p of partners) await makePayable(t, acme, p.id);
    const t0 = t.clock.now().getTime();
    for (const p of partners) {
      // $10 approved, hold ends at t0 + 3 days; $10 never approved.
      const due = (await recordSale(t, integration, p.id, { amount: "100.00" })).commissionId;
      const pending = (await recordSale(t, integration, p.id, { amount: "100.00" })).commissionId;
      lines[p.id] = { due, held: "", pending };
    }
    t.clock.set(new Date(t0 + 2 * DAY).toISOString());
    for (const p of partners) {
      // $5 approved, hold ends at t0 + 5 days.
      lines[p.id]!.held = (await recordSale(t, integration, p.id, { amount: "50.00" })).commissionId;
      const approved = dataOf(await t.gql(ReviewDocs.approve, { input: { ids: [lines[p.id]!.due, lines[p.id]!.held] } }, acme.adminToken)).approveCommissions;
      expect(approved.commissions).toHaveLength(2);
    }
    const all = (p: { id: string }) => [lines[p.id]!.due, lines[p.id]!.held, lines[p.id]!.pending];

    // Still inside every hold: nothing is payable anywhere.
    for (const p of partners) {
      const before = await views(p.id, all(p));
      expect(before).toMatchObject({ isPayable: [], list: [], nested: [], exported: [], inPendingPayouts: null, inPartnerBalances: false });
      expect(before.balance).toMatchObject({ pending: { amount: "25.00" }, payable: { amount: "0.00" }, payableCommissionCount: 0 });
    }

    // One millisecond past the first line's hold. The job has not run: the stored mark still says "in its hold".
    t.clock.set(new Date(t0 + 3 * DAY + 1).toISOString());
    for (const p of partners) expect(await matured(lines[p.id]!.due)).toBe(false);

    const window = new Map<string, Awaited<ReturnType<typeof views>>>();
    for (const p of partners) {
      const seen = await views(p.id, all(p));
      window.set(p.id, seen);
      const due = [lines[p.id]!.due];
      expect(seen.isPayable, "isPayable").toEqual(due);
      expect(seen.list, "commissions(filter: { payable: true })").toEqual(due);
      expect(seen.nested, "Partner.commissions(filter: { payable: true })").toEqual(due);
      expect(seen.nestedCount).toBe(1);
      expect(seen.notPayable, "filter: { payable: false }").toEqual([lines[p.id]!.held, lines[p.id]!.pending].sort());
      expect(seen.exported, "commissions.csv?payable=true").toEqual(due);
      expect(seen.balance, "balance buckets").toMatchObject({
        pending: { amount: "15.00" },
        payable: { amount: "10.00" },
        inPayouts: { amount: "0.00" },
        recoverable: { amount: "0.00" },
        payoutBlockers: [],
        payableCommissionCount: 1,
      });
      expect(seen.inPendingPayouts, "pendingPayouts").toBe("10.00");
      expect(seen.inPartnerBalances, "partnerBalances(minimumPayable)").toBe(true);
    }
    const overview = dataOf(await t.gql(OverviewDoc, {}, acme.adminToken)).payoutsOverview;
    expect(overview).toMatchObject({ payableNow: { amount: "20.00" }, payableNowPartners: 2, owedToPartners: { amount: "20.00" }, pending: { amount: "30.00" } });
    // Stored balances still lag behind (the projection is marked by the job); reconcile checks the projection, not the rule.
    await expectReconciled(t, acme.adminToken);

    // A payout drafted now gathers exactly the lines reported payable, for the amount the balance reported.
    const [first, second] = partners as [(typeof partners)[0], (typeof partners)[0]];
    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: first.id } }, acme.financeToken)).createPayout;
    expect(draft.userErrors).toEqual([]);
    expect(draft.payout!.amount.amount).toBe(window.get(first.id)!.balance!.payable.amount);
    expect(draft.payout!.lines.map((line) => line.commission.id).sort()).toEqual(window.get(first.id)!.isPayable);
    const drafted = await views(first.id, all(first));
    expect(drafted).toMatchObject({ isPayable: [], list: [], exported: [], inPendingPayouts: null });
    expect(drafted.balance).toMatchObject({ pending: { amount: "15.00" }, payable: { amount: "0.00" }, inPayouts: { amount: "10.00" } });

    // The job marks the second partner's line: every answer stays what it was.
    expect(await t.app.scheduler.tasks.releaseHolds()).toBeGreaterThan(0);
    expect(await matured(lines[second.id]!.due)).toBe(true);
    expect(await views(second.id, all(second))).toEqual(window.get(second.id));
    await expectReconciled(t, acme.adminToken);
  });
});
