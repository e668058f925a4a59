import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEDGER_HEADERS } from "../../src/db/statement-ledger.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { recordSale } from "../helpers/ledger-docs.ts";
import { rawId, startTestApp, type GraphQLResponse, type TestApp } from "../helpers/test-app.ts";

/**
 * `Partner.commissions` is a connection of its own (loaders/partner-lines-connection.ts),
 * not plugin-prisma's: these hold it to what `Query.commissions` (still
 * plugin-prisma's) answers for the same partner's lines — cursors, pageInfo,
 * pages forwards and backwards, argument errors — and check that node fields
 * which look up plugin-prisma's plan (exposed columns, relations, in fragments
 * too) are still loaded with the page, in statements that do not grow with it.
 */

const PAGE = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } }";

interface Page {
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  edges: { cursor: string; node: { id: string } }[];
}

describe("Partner.commissions", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  const partners: string[] = [];
  beforeAll(async () => {
    t = await startTestApp("pglite", {
      countStatements: true,
      env: { ACCRUE_SCHEDULER: "0", ACCRUE_MAX_QUERY_COST: "10000000", ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE: "10000000000" },
    });
    acme = await createProgramFixture(t);
    const integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    for (let i = 0; i < 6; i += 1) {
      const partner = await createPartnerFixture(t, acme);
      partners.push(partner.id);
      for (let j = 0; j < 7; j += 1) await recordSale(t, integration, partner.id, { amount: `${10 + j}.00` });
    }
  }, 300_000);
  afterAll(() => t?.stop());

  async function post(query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<any>> {
    return t.raw({ query, variables }, acme.adminToken);
  }

  /** The same page of one partner's lines, through the partner and through the top-level list. */
  async function bothWays(partnerId: string, args: string): Promise<{ nested: Page; top: Page }> {
    const response = await post(
      `query Both($id: ID!) {
        partner(id: $id) { commissions(${args}) { ${PAGE} } }
        commissions(${args ? `${args}, ` : ""}filter: { partnerId: $id }) { ${PAGE} }
      }`,
      { id: partnerId },
    );
    expect(response.errors).toBeUndefined();
    return { nested: response.data.partner.commissions, top: response.data.commissions };
  }

  it("pages forwards and backwards with the top-level list's cursors and pageInfo", async () => {
    const partner = partners[0]!;
    const first = await bothWays(partner, "first: 3");
    expect(first.nested).toEqual(first.top);
    expect(first.nested.edges).toHaveLength(3);
    expect(first.nested.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const cursor = first.nested.pageInfo.endCursor!;
    const second = await bothWays(partner, `first: 3, after: "${cursor}"`);
    expect(second.nested).toEqual(second.top);
    const rest = await bothWays(partner, `first: 5, after: "${second.nested.pageInfo.endCursor}"`);
    expect(rest.nested).toEqual(rest.top);
    expect(rest.nested.edges).toHaveLength(1);
    expect(rest.nested.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    // Backwards: the last lines, and the lines before a cursor, in the list's order.
    const last = await bothWays(partner, "last: 2");
    expect(last.nested).toEqual(last.top);
    expect(last.nested.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const before = await bothWays(partner, `last: 2, before: "${second.nested.edges[1]!.cursor}"`);
    expect(before.nested).toEqual(before.top);
    expect(before.nested.edges.map((edge) => edge.cursor)).toEqual([first.nested.edges[2]!.cursor, second.nested.edges[0]!.cursor]);
    const all = await bothWays(partner, "last: 20");
    expect(all.nested).toEqual(all.top);
    expect(all.nested.edges.map((edge) => edge.node.id)).toEqual([...first.nested.edges, ...second.nested.edges, ...rest.nested.edges].map((edge) => edge.node.id));
    expect(all.nested.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
  });

  it("gives every partner of a page its own lines' cursors, as the top-level list does", async () => {
    const response = await post(`{ partners(first: 6) { edges { node { id commissions(first: 2) { totalCount ${PAGE} } } } } }`);
    expect(response.errors).toBeUndefined();
    const edges = response.data.partners.edges as { node: { id: string; commissions: Page & { totalCount: number } } }[];
    expect(edges).toHaveLength(6);
    for (const { node } of edges) {
      const { top } = await bothWays(node.id, "first: 2");
      const { totalCount, ...page } = node.commissions;
      expect(page).toEqual(top);
      expect(totalCount).toBe(7);
    }
  });

  it.each([
    ["a page over the limit", "first: 101"],
    ["first with before", 'first: 2, before: "CURSOR"'],
    ["last with after", 'last: 2, after: "CURSOR"'],
    ["before with after", 'before: "CURSOR", after: "CURSOR"'],
    ["a cursor of nothing", 'first: 2, after: "bm90IGEgY3Vyc29y"'],
  ])("refuses %s as the top-level list does", async (_name, template) => {
    const { nested } = await bothWays(partners[1]!, "first: 1");
    const args = template.replaceAll("CURSOR", nested.edges[0]!.cursor);
    const through = await post(`query One($id: ID!) { partner(id: $id) { id commissions(${args}) { totalCount ${PAGE} } } }`, { id: partners[1] });
    const top = await post(`query Top($id: ID!) { commissions(${args}, filter: { partnerId: $id }) { totalCount ${PAGE} } }`, { id: partners[1] });
    expect(through.errors).toHaveLength(1);
    expect(top.errors).toHaveLength(1);
    expect(through.errors![0]!.message).toBe(top.errors![0]!.message);
    expect(through.errors![0]!.extensions?.code).toBe(top.errors![0]!.extensions?.code);
    expect(through.errors![0]!.extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("loads node fields that look up plugin-prisma's plan (in fragments too) with the page, in statements constant in its size", async () => {
    // `kind`, `occurredAt` and `partnerId` read their plan; `conversion` is a relation. An alias with plain columns shares the request.
    const query = `query Lines($first: Int!) {
      partners(first: $first) { edges { node { id
        plain: commissions(first: 3) { edges { node { id status amount { amount } } } }
        lines: commissions(first: 3) { edges { node { ...Line ... on Commission { conversion { externalId } } } } }
      } } }
    }
    fragment Line on Commission { id kind occurredAt partnerId }`;
    const run = async (first: number) => {
      const response = await post(query, { first });
      expect(response.errors).toBeUndefined();
      return { statements: Number(response.headers!.get(LEDGER_HEADERS.statements)), data: response.data };
    };
    const small = await run(2);
    const large = await run(6);
    expect(large.statements).toBe(small.statements);
    const rows = await t.app.db.prisma.commission.findMany({
      where: { partnerId: { in: partners.map(rawId) } },
      orderBy: { id: "desc" },
      include: { conversion: true },
    });
    const edges = large.data.partners.edges as { node: { id: string; plain: { edges: { node: { id: string } }[] }; lines: { edges: { node: Record<string, unknown> }[] } } }[];
    expect(edges).toHaveLength(6);
    for (const { node } of edges) {
      const mine = rows.filter((row) => row.partnerId === rawId(node.id)).slice(0, 3);
      expect(node.lines.edges.map((edge) => edge.node)).toEqual(
        mine.map((row) => ({
          id: expect.any(String),
          kind: row.kind,
          occurredAt: row.occurredAt.toISOString(),
          partnerId: node.id,
          conversion: { externalId: row.conversion!.externalId },
        })),
      );
      expect(node.lines.edges.map((edge) => rawId(edge.node.id as string))).toEqual(mine.map((row) => row.id));
      expect(node.plain.edges.map((edge) => edge.node.id)).toEqual(node.lines.edges.map((edge) => edge.node.id));
    }
  });
});
