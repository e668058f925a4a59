import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { recordSale, RecordConversionsDoc, ReverseDoc } from "../helpers/ledger-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

/**
 * Every statement the analytics send reads commissions, conversions,
 * reversals and payouts through an index that starts with program_id: each
 * request's own SQL (captured from Prisma's query log, parameters included)
 * is EXPLAINed with sequential scans disabled, so a plan that still scans a
 * table whole has no index to use, over a few thousand analysed lines in two
 * programs, so the planner weighs the indexes as it would in production.
 */
const AnalyticsDoc = graphql(`
  query ExplainedAnalytics($partnerId: ID) {
    commissionTotals(filter: { occurredAfter: "2026-02-25T00:00:00Z", occurredBefore: "2026-03-01T00:00:00Z" }) { count amount { amount } }
    pending: commissionTotals(filter: { status: [PENDING] }) { count }
    payoutTotals(filter: { status: [PAID], paidAfter: "2026-01-01T00:00:00Z" }) { count amount { amount } }
    program: earningsSeries(period: DAY, from: "2026-02-01", to: "2026-02-07") { points { accrued { amount } } }
    partner: earningsSeries(period: DAY, from: "2026-02-01", to: "2026-02-07", partnerId: $partnerId) { points { accrued { amount } } }
    topPartners(from: "2026-02-01", to: "2026-02-07") { earned { amount } }
  }
`);
const PartnerTotalsDoc = graphql(`query ExplainedPartnerTotals { commissionTotals { count } payoutTotals { count } }`);

const TABLES = new Set(["commissions", "conversions", "reversals", "payouts"]);

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Index Cond"?: string;
  Plans?: PlanNode[];
}

function scans(node: PlanNode, found: PlanNode[] = []): PlanNode[] {
  if (node["Relation Name"] || node["Node Type"] === "Bitmap Index Scan") found.push(node);
  for (const child of node.Plans ?? []) scans(child, found);
  return found;
}

describe.each(databaseTargets())("analytics indexes on %s", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  let partnerId: string;
  let partnerToken: string;
  const captured: { query: string; params: string }[] = [];

  beforeAll(async () => {
    t = await startTestApp(target, { countStatements: true });
    acme = await createProgramFixture(t);
    const other = await createProgramFixture(t, { name: "Other" });
    const partner = await createPartnerFixture(t, acme);
    partnerId = partner.id;
    partnerToken = partner.token;
    const sale = await recordSale(t, acme.adminToken, partnerId, { occurredAt: "2026-02-01T00:00:00Z" });
    await t.gql(ReverseDoc, { input: { conversionId: sale.conversionId, refundId: "r1" } }, acme.adminToken);
    const others = [await createPartnerFixture(t, other), await createPartnerFixture(t, acme), await createPartnerFixture(t, acme)];
    for (let batch = 0; batch < 6; batch += 1) {
      const program = batch < 2 ? other : acme;
      const items = Array.from({ length: 500 }, (_, i) => ({
        externalId: `bulk-${batch}-${i}`,
        partners: [{ id: batch < 2 ? others[0]!.id : [partnerId, others[1]!.id, others[2]!.id][i % 3]! }],
        amount: "40.00",
        currency: "USD",
        occurredAt: new Date(Date.UTC(2026, 0, 1) + (i * 86_400_000 * 60) / 500).toISOString(),
      }));
      const posted = dataOf(await t.gql(RecordConversionsDoc, { input: { items } }, program.adminToken)).recordConversions;
      expect(posted.userErrors).toEqual([]);
    }
    await t.app.db.sql.exec("ANALYZE");
    (t.app.db.prisma as unknown as { $on(event: "query", listener: (e: { query: string; params: string }) => void): void }).$on("query", (e) => captured.push(e));
  });
  afterAll(() => t?.stop());

  async function explain(statement: { query: string; params: string }): Promise<PlanNode> {
    const params = JSON.parse(statement.params) as unknown[];
    return t.app.db.sql.transaction(async (sql) => {
      await sql.exec("SET LOCAL enable_seqscan = off");
      const [row] = await sql.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${statement.query}`, params);
      return row!["QUERY PLAN"][0].Plan;
    });
  }

  it.each([
    ["an operator's", () => ({ doc: AnalyticsDoc, variables: { partnerId }, token: acme.adminToken })],
    ["a partner's", () => ({ doc: PartnerTotalsDoc, variables: {}, token: partnerToken })],
  ] as const)("serves %s totals, series and ranking from program_id indexes", async (_who, request) => {
    const { doc, variables, token } = request();
    captured.length = 0;
    dataOf(await t.gql(doc as typeof AnalyticsDoc, variables, token));
    const statements = captured.filter((s) => [...TABLES].some((table) => s.query.includes(`"${table}"`) || s.query.includes(` ${table} `)));
    expect(statements.length).toBeGreaterThan(0);
    const indexesUsed = new Set<string>();
    for (const statement of statements) {
      for (const node of scans(await explain(statement))) {
        const table = node["Relation Name"];
        if (table && !TABLES.has(table)) continue;
        const where = `${node["Node Type"]} on ${table ?? "(bitmap)"} using ${node["Index Name"]} (${node["Index Cond"]}) in: ${statement.query}`;
        expect(node["Node Type"], where).not.toBe("Seq Scan");
        if (node["Index Name"]) {
          indexesUsed.add(node["Index Name"]);
          // The index's leading column is the tenant: the scan is cut to one program.
          if (table !== "conversions" || !node["Index Name"].endsWith("_pkey")) expect(node["Index Cond"] ?? "", where).toMatch(/program_id/);
        }
      }
    }
    if (doc === AnalyticsDoc) {
      expect([...indexesUsed]).toEqual(expect.arrayContaining(["commissions_program_id_occurred_at_idx", "commissions_program_id_partner_id_occurred_at_idx"]));
    }
  });
});
