import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { recordSale, ReverseDoc, ReviewDocs } from "../helpers/ledger-docs.ts";
import { ApprovePayoutsDoc, CreatePayoutDoc, makePayable, PayPayoutsDoc } from "../helpers/payout-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const TotalsDoc = graphql(`
  query AnalyticsTotals($commissions: CommissionFilter, $payouts: PayoutFilter) {
    commissionTotals(filter: $commissions) { count amount { amount currency } byStatus { status count amount { amount } } }
    payoutTotals(filter: $payouts) { count amount { amount currency } byStatus { status count amount { amount } } }
  }
`);
const CommissionTotalsDoc = graphql(`
  query AnalyticsCommissionTotals($filter: CommissionFilter) { commissionTotals(filter: $filter) { count amount { amount } } }
`);
const PayoutTotalsDoc = graphql(`query AnalyticsPayoutTotals { payoutTotals { count amount { amount } } }`);
const SeriesDoc = graphql(`
  query AnalyticsSeries($period: AnalyticsPeriod!, $from: Date!, $to: Date!, $partnerId: ID) {
    earningsSeries(period: $period, from: $from, to: $to, partnerId: $partnerId) {
      period from to timeZone partnerId
      points { periodStart sales { amount currency } conversions accrued { amount } reversed { amount } paidOut { amount } }
    }
  }
`);
const TopDoc = graphql(`
  query AnalyticsTop($from: Date!, $to: Date!, $first: Int) {
    topPartners(from: $from, to: $to, first: $first) { partnerId earned { amount currency } accrued { amount } reversed { amount } sales { amount } conversions }
  }
`);
const TopNamesDoc = graphql(`query AnalyticsTopNames($from: Date!, $to: Date!) { topPartners(from: $from, to: $to) { partner { name } earned { amount } } }`);
const NextRunDoc = graphql(`query AnalyticsNextRun { program { payoutSchedule { frequency dayOfMonth } nextPayoutRunOn } }`);

type Point = { periodStart: string; sales: { amount: string }; conversions: number; accrued: { amount: string }; reversed: { amount: string }; paidOut: { amount: string } };
const flat = (points: Point[]) => points.map((p) => [p.periodStart, p.sales.amount, p.conversions, p.accrued.amount, p.reversed.amount, p.paidOut.amount]);

describe.each(databaseTargets())("analytics on %s", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  let other: ProgramFixture;
  let a: Awaited<ReturnType<typeof createPartnerFixture>>;
  let b: Awaited<ReturnType<typeof createPartnerFixture>>;
  let stranger: Awaited<ReturnType<typeof createPartnerFixture>>;

  beforeAll(async () => {
    t = await startTestApp(target); // the clock stands at 2026-03-10T12:00Z
    // Denver is UTC-7 until DST starts on 2026-03-08, so the first sale below is February's there.
    acme = await createProgramFixture(t, {
      timeZone: "America/Denver",
      commissionRule: { type: "PERCENTAGE", percent: "10" },
      payoutSchedule: { frequency: "MONTHLY", dayOfMonth: 15 },
    });
    other = await createProgramFixture(t, { name: "Other brand" });
    a = await createPartnerFixture(t, acme, { name: "Alpha" });
    b = await createPartnerFixture(t, acme, { name: "Beta" });
    stranger = await createPartnerFixture(t, other, { name: "Stranger" });
    const post = acme.adminToken;

    const feb = await recordSale(t, post, a.id, { amount: "100.00", occurredAt: "2026-03-01T05:00:00Z" }); // $10.00, Feb 28 in Denver
    const big = await recordSale(t, post, a.id, { amount: "200.00", occurredAt: "2026-03-05T12:00:00Z" }); // $20.00
    const small = await recordSale(t, post, b.id, { amount: "50.00", occurredAt: "2026-03-06T12:00:00Z" }); // $5.00
    const shared = dataOf(
      await t.gql(
        graphql(`mutation AnalyticsShared($input: RecordConversionInput!) { recordConversion(input: $input) { conversion { commissions { id partnerId } } userErrors { code } } }`),
        { input: { externalId: "shared-80", partners: [{ id: a.id }, { id: b.id }], amount: "80.00", currency: "USD", occurredAt: "2026-03-07T12:00:00Z" } },
        post,
      ),
    ).recordConversion.conversion!.commissions; // $8.00 each
    const declined = await recordSale(t, post, a.id, { amount: "30.00", occurredAt: "2026-03-09T12:00:00Z" }); // $3.00, cancelled
    await recordSale(t, other.adminToken, stranger.id, { amount: "999.00", occurredAt: "2026-03-05T12:00:00Z" });

    const sharedA = shared.find((line) => line.partnerId === a.id)!.id;
    const approved = dataOf(await t.gql(ReviewDocs.approve, { input: { ids: [feb.commissionId, big.commissionId, sharedA] } }, post)).approveCommissions;
    expect(approved.skipped).toEqual([]);
    dataOf(await t.gql(ReviewDocs.cancel, { input: { ids: [declined.commissionId], reason: "fraud" } }, post));
    // B's sale refunded in full on Mar 8 (Denver): its line is marked REVERSED; A's big sale a quarter on Mar 9: a -5.00 share.
    expect(
      dataOf(await t.gql(ReverseDoc, { input: { conversionId: small.conversionId, refundId: "r-small", occurredAt: "2026-03-08T12:00:00Z" } }, post)).reverseConversion.userErrors,
    ).toEqual([]);
    expect(
      dataOf(await t.gql(ReverseDoc, { input: { conversionId: big.conversionId, refundId: "r-big", amount: "50.00", occurredAt: "2026-03-09T12:00:00Z" } }, post)).reverseConversion
        .userErrors,
    ).toEqual([]);

    await makePayable(t, acme, a.id);
    const payout = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: a.id } }, post)).createPayout.payout!;
    expect(payout.amount.amount).toBe("33.00"); // 10 + 20 - 5 + 8
    dataOf(await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, post));
    const paid = dataOf(await t.gql(PayPayoutsDoc, { input: { ids: [payout.id], method: "PAYPAL", reference: "PP-1" } }, post)).markPayoutsPaid;
    expect(paid.payouts[0]?.status).toBe("PAID");
  });
  afterAll(() => t?.stop());

  it("totals any filtered commissions or payouts list without its pages, per status too", async () => {
    const all = dataOf(await t.gql(TotalsDoc, {}, acme.analystToken));
    // Lines: A 10, 20, -5, 8 (paid), 3 (cancelled); B 5 (reversed), 8 (pending).
    expect(all.commissionTotals).toEqual({
      count: 7,
      amount: { amount: "49.00", currency: "USD" },
      byStatus: [
        { status: "CANCELLED", count: 1, amount: { amount: "3.00" } },
        { status: "PAID", count: 4, amount: { amount: "33.00" } },
        { status: "PENDING", count: 1, amount: { amount: "8.00" } },
        { status: "REVERSED", count: 1, amount: { amount: "5.00" } },
      ],
    });
    expect(all.payoutTotals).toEqual({ count: 1, amount: { amount: "33.00", currency: "USD" }, byStatus: [{ status: "PAID", count: 1, amount: { amount: "33.00" } }] });

    const filtered = dataOf(
      await t.gql(TotalsDoc, { commissions: { partnerId: a.id, status: ["PAID"], occurredAfter: "2026-03-02T00:00:00Z" }, payouts: { status: ["DRAFT"] } }, acme.financeToken),
    );
    expect(filtered.commissionTotals.count).toBe(3); // 20, -5, 8
    expect(filtered.commissionTotals.amount.amount).toBe("23.00");
    expect(filtered.payoutTotals).toEqual({ count: 0, amount: { amount: "0.00", currency: "USD" }, byStatus: [] });
  });

  it("gives monthly and weekly series cut in the program's time zone, for the program and for one partner", async () => {
    const monthly = dataOf(await t.gql(SeriesDoc, { period: "MONTH", from: "2026-02-01", to: "2026-03-31" }, acme.adminToken)).earningsSeries;
    expect(monthly).toMatchObject({ period: "MONTH", from: "2026-02-01", to: "2026-03-31", timeZone: "America/Denver", partnerId: null });
    expect(flat(monthly.points)).toEqual([
      ["2026-02-01", "100.00", 1, "10.00", "0.00", "0.00"],
      // sales 200 + 50 + 80 (once) + 30; accrued 20 + 5 + 8 + 8 (the cancelled 3 never accrued); reversed 5 + 5
      ["2026-03-01", "360.00", 4, "41.00", "10.00", "33.00"],
    ]);
    expect(monthly.points[0]!.sales.currency).toBe("USD");

    const weekly = dataOf(await t.gql(SeriesDoc, { period: "WEEK", from: "2026-02-28", to: "2026-03-10" }, acme.adminToken)).earningsSeries;
    expect(flat(weekly.points)).toEqual([
      ["2026-02-23", "100.00", 1, "10.00", "0.00", "0.00"],
      ["2026-03-02", "330.00", 3, "41.00", "5.00", "0.00"],
      ["2026-03-09", "30.00", 1, "0.00", "5.00", "33.00"],
    ]);

    const daily = dataOf(await t.gql(SeriesDoc, { period: "DAY", from: "2026-03-08", to: "2026-03-11" }, acme.adminToken)).earningsSeries;
    expect(daily.points.map((p) => p.periodStart)).toEqual(["2026-03-08", "2026-03-09", "2026-03-10", "2026-03-11"]);
    expect(daily.points[3]).toMatchObject({ conversions: 0, sales: { amount: "0.00" }, paidOut: { amount: "0.00" } });

    const alpha = dataOf(await t.gql(SeriesDoc, { period: "MONTH", from: "2026-02-01", to: "2026-03-31", partnerId: a.id }, acme.adminToken)).earningsSeries;
    expect(alpha.partnerId).toBe(a.id);
    expect(flat(alpha.points)).toEqual([
      ["2026-02-01", "100.00", 1, "10.00", "0.00", "0.00"],
      ["2026-03-01", "310.00", 3, "28.00", "5.00", "33.00"],
    ]);
    const beta = dataOf(await t.gql(SeriesDoc, { period: "MONTH", from: "2026-03-01", to: "2026-03-31", partnerId: b.id }, acme.adminToken)).earningsSeries;
    expect(flat(beta.points)).toEqual([["2026-03-01", "130.00", 2, "13.00", "5.00", "0.00"]]);
  });

  it("ranks partners by what they earned in a period", async () => {
    const top = dataOf(await t.gql(TopDoc, { from: "2026-02-01", to: "2026-03-31" }, acme.adminToken)).topPartners;
    expect(top).toEqual([
      { partnerId: a.id, earned: { amount: "33.00", currency: "USD" }, accrued: { amount: "38.00" }, reversed: { amount: "5.00" }, sales: { amount: "410.00" }, conversions: 4 },
      { partnerId: b.id, earned: { amount: "8.00", currency: "USD" }, accrued: { amount: "13.00" }, reversed: { amount: "5.00" }, sales: { amount: "130.00" }, conversions: 2 },
    ]);
    expect(dataOf(await t.gql(TopDoc, { from: "2026-02-01", to: "2026-03-31", first: 1 }, acme.adminToken)).topPartners.map((row) => row.partnerId)).toEqual([a.id]);
    expect(dataOf(await t.gql(TopNamesDoc, { from: "2026-03-01", to: "2026-03-31" }, acme.adminToken)).topPartners).toEqual([
      { partner: { name: "Alpha" }, earned: { amount: "23.00" } },
      { partner: { name: "Beta" }, earned: { amount: "8.00" } },
    ]);
  });

  it("says when the next scheduled payout run is, to operators and partners", async () => {
    expect(dataOf(await t.gql(NextRunDoc, {}, acme.adminToken)).program).toEqual({ payoutSchedule: { frequency: "MONTHLY", dayOfMonth: 15 }, nextPayoutRunOn: "2026-03-15" });
    expect(dataOf(await t.gql(NextRunDoc, {}, a.token)).program.nextPayoutRunOn).toBe("2026-03-15");
    expect(dataOf(await t.gql(NextRunDoc, {}, other.adminToken)).program.nextPayoutRunOn).toBeNull(); // on demand
  });

  it("refuses bad ranges with a code", async () => {
    const backwards = await t.gql(SeriesDoc, { period: "DAY", from: "2026-03-10", to: "2026-03-01" }, acme.adminToken);
    expect(backwards.errors?.[0]).toMatchObject({ message: "to must not be before from", extensions: { code: "BAD_USER_INPUT" } });
    const tooMany = await t.gql(SeriesDoc, { period: "DAY", from: "2025-01-01", to: "2026-03-01" }, acme.adminToken);
    expect(tooMany.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(tooMany.errors?.[0]?.message).toMatch(/at most 400 points/);
    const notADate = await t.gql(SeriesDoc, { period: "DAY", from: "2026-02-30", to: "2026-03-01" }, acme.adminToken);
    expect(notADate.errors?.[0]?.extensions?.code).toMatch(/BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED/);
    const first = await t.gql(TopDoc, { from: "2026-03-01", to: "2026-03-31", first: 101 }, acme.adminToken);
    expect(first.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    // A year of days is within the cost limit.
    expect((await t.gql(SeriesDoc, { period: "DAY", from: "2025-03-11", to: "2026-03-10" }, acme.adminToken)).errors).toBeUndefined();
  });

  describe("who may read them", () => {
    it("gives a partner its own figures only, and refuses it another partner's or the ranking", async () => {
      const own = dataOf(await t.gql(TotalsDoc, {}, a.token));
      expect(own.commissionTotals).toMatchObject({ count: 5, amount: { amount: "36.00" } });
      expect(own.payoutTotals).toMatchObject({ count: 1, amount: { amount: "33.00" } });
      expect(dataOf(await t.gql(TotalsDoc, {}, b.token)).commissionTotals).toMatchObject({ count: 2, amount: { amount: "13.00" } });

      const series = dataOf(await t.gql(SeriesDoc, { period: "MONTH", from: "2026-02-01", to: "2026-03-31" }, a.token)).earningsSeries;
      expect(series.partnerId).toBe(a.id);
      expect(flat(series.points)[1]).toEqual(["2026-03-01", "310.00", 3, "28.00", "5.00", "33.00"]);

      for (const response of [
        await t.gql(CommissionTotalsDoc, { filter: { partnerId: b.id } }, a.token),
        await t.gql(SeriesDoc, { period: "MONTH", from: "2026-02-01", to: "2026-03-31", partnerId: b.id }, a.token),
        await t.gql(SeriesDoc, { period: "MONTH", from: "2026-02-01", to: "2026-03-31", partnerId: stranger.id }, a.token),
        await t.gql(TopDoc, { from: "2026-02-01", to: "2026-03-31" }, a.token),
      ]) {
        expect(response.data ?? null).toBeNull();
        expect(response.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      }
    });

    it("shows another program nothing of this one", async () => {
      expect(dataOf(await t.gql(CommissionTotalsDoc, {}, other.adminToken)).commissionTotals).toEqual({ count: 1, amount: { amount: "99.90" } });
      expect(dataOf(await t.gql(CommissionTotalsDoc, { filter: { partnerId: a.id } }, other.adminToken)).commissionTotals).toEqual({ count: 0, amount: { amount: "0.00" } });
      const series = dataOf(await t.gql(SeriesDoc, { period: "MONTH", from: "2026-02-01", to: "2026-03-31", partnerId: a.id }, other.adminToken)).earningsSeries;
      expect(series.points.every((p) => p.conversions === 0 && p.accrued.amount === "0.00" && p.paidOut.amount === "0.00")).toBe(true);
      const top = dataOf(await t.gql(TopDoc, { from: "2026-02-01", to: "2026-03-31" }, other.adminToken)).topPartners;
      expect(top.map((row) => row.partnerId)).toEqual([stranger.id]);
      expect(dataOf(await t.gql(TotalsDoc, {}, stranger.token)).commissionTotals.count).toBe(1);
    });

    it("asks integrations for the scope of everything a figure sums, and anonymous callers for a token", async () => {
      const commissionsOnly = await acme.integrationToken(["COMMISSIONS_READ"]);
      expect(dataOf(await t.gql(CommissionTotalsDoc, {}, commissionsOnly)).commissionTotals.count).toBe(7);
      for (const response of [
        await t.gql(PayoutTotalsDoc, {}, commissionsOnly),
        await t.gql(SeriesDoc, { period: "MONTH", from: "2026-02-01", to: "2026-03-31" }, commissionsOnly),
        await t.gql(TopDoc, { from: "2026-02-01", to: "2026-03-31" }, commissionsOnly),
      ]) {
        expect(response.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      }
      const payouts = await acme.integrationToken(["PAYOUTS_READ"]);
      expect(dataOf(await t.gql(PayoutTotalsDoc, {}, payouts)).payoutTotals.count).toBe(1);
      expect((await t.gql(CommissionTotalsDoc, {}, payouts)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

      const reader = await acme.integrationToken(["COMMISSIONS_READ", "CONVERSIONS_READ", "PAYOUTS_READ"]);
      expect(flat(dataOf(await t.gql(SeriesDoc, { period: "MONTH", from: "2026-02-01", to: "2026-03-31" }, reader)).earningsSeries.points)[1]![1]).toBe("360.00");
      expect(dataOf(await t.gql(TopDoc, { from: "2026-02-01", to: "2026-03-31" }, reader)).topPartners).toHaveLength(2);
      // The partner itself needs a partner-reading scope, as on every other record.
      expect((await t.gql(TopNamesDoc, { from: "2026-02-01", to: "2026-03-31" }, reader)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

      for (const response of [
        await t.gql(CommissionTotalsDoc, {}, null),
        await t.gql(PayoutTotalsDoc, {}, null),
        await t.gql(SeriesDoc, { period: "MONTH", from: "2026-02-01", to: "2026-03-31" }, null),
        await t.gql(TopDoc, { from: "2026-02-01", to: "2026-03-31" }, null),
      ]) {
        expect(response.status).toBe(401);
        expect(response.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
      }
    });
  });
});
