import { getNamedType, type GraphQLObjectType, isObjectType } from "graphql";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEDGER_HEADERS, ledgerTaps, type StatementLedger } from "../../src/db/statement-ledger.ts";
import { getDatamodel } from "../../src/generated/pothos-prisma-types.ts";
import { PARTNER_COLUMNS } from "../../src/graphql/loaders/partners-connection.ts";
import { buildSchema } from "../../src/graphql/schema.ts";
import { hasPostgres } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { recordSale } from "../helpers/ledger-docs.ts";
import { READS_WITHOUT_PRISMA } from "../helpers/sql-read-queries.ts";
import { startTestApp, type GraphQLResponse, type TestApp } from "../helpers/test-app.ts";

/**
 * The dashboard's two statements are sent without Prisma on PostgreSQL
 * (db/sql-read.ts): `Query.partners` when its nodes are plain
 * (graphql/loaders/partners-connection.ts) and `Partner.commissions`' page
 * and count (loaders/partner-commissions.ts). These hold each answer to the
 * one Prisma gives for the same query — a node field with a `select`
 * (`commissionRuleOverride`) sends the partners' page through plugin-prisma,
 * and `Query.commissions` is plugin-prisma's — and check that the statements
 * without Prisma are tenant-scoped, counted, and mapped on failure as
 * Prisma's are.
 */

const PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }";
const PARTNER_FIELDS = "__typename id name email externalId status country createdAt updatedAt";
const LINE_FIELDS = "id amount { amount currency } status kind occurredAt payableAt paidAt tierSequence createdBy note statusReason reasonCode heldFromStatus createdAt updatedAt";

/** The partners' page with `extra` among each node's fields. */
const partnersQuery = (args: string, extra = "") =>
  `{ partners(${args}) { totalCount ${PAGE_INFO} edges { cursor node { ${PARTNER_FIELDS} ${extra} commissions(first: 3) { totalCount ${PAGE_INFO} edges { cursor node { ${LINE_FIELDS} } } } } } } }`;

const FAST_PAGE = /FROM partners p\s/;
/** Prisma's read of a page of partners (its count reads "partners"."id" alone). */
const PRISMA_PAGE = /SELECT "public"\."partners"\."id", "public"\."partners"\."program_id"/;

// A node field reads the row the page holds: a column added to Partner and not to the page would answer nothing.
it("reads every column of Partner that Prisma's datamodel has", () => {
  const partner = getDatamodel().datamodel.models.Partner!;
  const columns = partner.fields.filter((field) => field.kind === "scalar" || field.kind === "enum").map((field) => field.name);
  expect(Object.keys(PARTNER_COLUMNS).sort()).toEqual(columns.sort());
});

// On the embedded database the same statements go through `$queryRaw` (db/sql-read.ts): the answers must not differ either.
describe.each(hasPostgres ? (["postgres", "pglite"] as const) : (["pglite"] as const))("the dashboard's statements of our own (%s)", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  let other: ProgramFixture;
  const partners: { id: string; rawId: string; token: string }[] = [];
  beforeAll(async () => {
    t = await startTestApp(target, {
      countStatements: true,
      env: { ACCRUE_SCHEDULER: "0", ACCRUE_MAX_QUERY_COST: "10000000", ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE: "10000000000" },
    });
    acme = await createProgramFixture(t);
    other = await createProgramFixture(t);
    const integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    for (let i = 0; i < 5; i += 1) {
      const partner = await createPartnerFixture(t, acme);
      partners.push(partner);
      for (let j = 0; j < 4; j += 1) await recordSale(t, integration, partner.id, { amount: `${10 + j}.${i}5` });
    }
    await createPartnerFixture(t, other);
  }, 300_000);
  afterAll(() => t?.stop());

  /** The answer, and the statements the request sent. */
  async function send(query: string, token = acme.adminToken, variables?: Record<string, unknown>): Promise<{ response: GraphQLResponse<any>; sql: string[] }> {
    let ledger: StatementLedger | undefined;
    const tap = (seen: StatementLedger) => void (ledger = seen);
    ledgerTaps.add(tap);
    try {
      const response = await t.raw({ query, ...(variables ? { variables } : {}) }, token);
      return { response, sql: (ledger?.queries ?? []).map((q) => q.sql) };
    } finally {
      ledgerTaps.delete(tap);
    }
  }

  /** The page through our statement and through plugin-prisma (a node field with a select), which must answer alike. */
  async function bothPaths(args: string, token = acme.adminToken) {
    const fast = await send(partnersQuery(args), token);
    const prisma = await send(partnersQuery(args, "commissionRuleOverride { type }"), token);
    // A page that is read is read by the path it is meant for (refused arguments read none).
    const read = !fast.response.errors;
    expect(fast.sql.some((sql) => FAST_PAGE.test(sql))).toBe(read);
    expect(fast.sql.some((sql) => PRISMA_PAGE.test(sql))).toBe(false);
    expect(prisma.sql.some((sql) => PRISMA_PAGE.test(sql))).toBe(read);
    for (const edge of prisma.response.data?.partners?.edges ?? []) delete edge.node.commissionRuleOverride;
    expect(JSON.stringify(fast.response)).toBe(JSON.stringify(prisma.response));
    return fast.response;
  }

  it("answers Query.partners as plugin-prisma does: nodes, cursors, pageInfo and totals, forwards and backwards", async () => {
    const first = await bothPaths("first: 2");
    expect(first.errors).toBeUndefined();
    const edges = first.data.partners.edges;
    expect(edges).toHaveLength(2);
    expect(first.data.partners.totalCount).toBe(5);
    expect(edges[0].node.commissions.edges[0].node.amount.amount).toMatch(/^\d+\.\d\d$/);
    const after = edges[1].cursor;
    const next = await bothPaths(`first: 2, after: ${JSON.stringify(after)}`);
    expect(next.data.partners.edges).toHaveLength(2);
    expect(next.data.partners.pageInfo.hasPreviousPage).toBe(true);
    const back = await bothPaths(`last: 2, before: ${JSON.stringify(next.data.partners.edges[1].cursor)}`);
    expect(back.data.partners.edges.map((e: { cursor: string }) => e.cursor)).toEqual([edges[1].cursor, next.data.partners.edges[0].cursor]);
    await bothPaths("last: 3");
    expect((await bothPaths("first: 0")).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    await bothPaths("first: 100");
    // Errors of the arguments come as plugin-prisma's.
    const refused = await bothPaths(`first: 1, last: 1, after: ${JSON.stringify(after)}`);
    expect(refused.errors?.length).toBeGreaterThan(0);
  });

  it("takes another program's cursor as Prisma does (its position only, never its row)", async () => {
    const foreign = await send(`{ partners(first: 1) { edges { cursor } } }`, other.adminToken);
    const cursor = foreign.response.data.partners.edges[0].cursor as string;
    const answer = await bothPaths(`first: 3, after: ${JSON.stringify(cursor)}`);
    expect(JSON.stringify(answer)).not.toContain(cursor);
  });

  it("refuses a partner token on either path, before any page is read", async () => {
    const own = partners[2]!;
    for (const extra of ["", "commissionRuleOverride { type }"]) {
      const { response, sql } = await send(partnersQuery("first: 10", extra), own.token);
      expect(response.errors?.map((error) => error.extensions?.code)).toEqual(["FORBIDDEN"]);
      expect(response.data).toBeNull();
      expect(sql.filter((text) => FAST_PAGE.test(text) || PRISMA_PAGE.test(text))).toEqual([]);
    }
  });

  it("answers Partner.commissions as Query.commissions does, every column alike", async () => {
    for (const partner of partners.slice(0, 2)) {
      const { response } = await send(`{
        partner(id: "${partner.id}") { commissions(first: 3) { totalCount ${PAGE_INFO} edges { cursor node { ${LINE_FIELDS} } } } }
        commissions(first: 3, filter: { partnerId: "${partner.id}" }) { totalCount ${PAGE_INFO} edges { cursor node { ${LINE_FIELDS} } } }
      }`);
      expect(response.errors).toBeUndefined();
      expect(JSON.stringify(response.data.partner.commissions)).toBe(JSON.stringify(response.data.commissions));
    }
  });

  it("counts the statements sent without Prisma in the request's ledger", async () => {
    const response = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${acme.adminToken}` },
      body: JSON.stringify({ query: "{ partners(first: 20) { edges { node { id name commissions(first: 10) { edges { node { id amount { amount currency } status } } } } } } }" }),
    });
    expect(response.status).toBe(200);
    // The partners' page (5 rows), each row with its page of lines (4 each) as text: one statement (lines-ahead.ts).
    expect(response.headers.get(LEDGER_HEADERS.statements)).toBe("1");
    expect(response.headers.get(LEDGER_HEADERS.rows)).toBe("5");
    const answer = (await response.json()) as GraphQLResponse<any>;
    expect(answer.data.partners.edges.map((edge: any) => edge.node.commissions.edges.length)).toEqual([4, 4, 4, 4, 4]);
  });

  it("reads each partner's page of lines with the partners' page when asked plainly, and answers as the page's own statement does", async () => {
    // Every field of a line that is read ahead (no selection of its own, see row-connection.ts), and the dashboard's.
    const commission = buildSchema().getType("Commission") as GraphQLObjectType;
    const plainFields = Object.values(commission.getFields())
      .filter((field) => !field.extensions?.pothosPrismaSelect)
      .map((field) => {
        const type = getNamedType(field.type);
        return isObjectType(type) ? `${field.name} { ${Object.keys(type.getFields()).join(" ")} }` : field.name;
      });
    expect(plainFields).toEqual(expect.arrayContaining(["id", "status", "amount { amount currency }"]));
    const dashboardFields = "__typename id amount { amount currency } status";
    const defined = (args: string) => (args.includes("$n") ? "($n: Int)" : "");
    const lines = (args: string, nodeFields: string) => `commissions(${args}) { totalCount ${PAGE_INFO} edges { cursor node { ${nodeFields} } } }`;
    // Ahead: the field alone under edges { node }. Not ahead: the same field inside a fragment, loaded by its own statement.
    const ahead = (args: string, nodeFields = dashboardFields) => `query Lines${defined(args)} { partners(first: 5) { edges { node { id ${lines(args, nodeFields)} } } } }`;
    const alone = (args: string, nodeFields = dashboardFields) =>
      `query Lines${defined(args)} { partners(first: 5) { edges { node { id ... on Partner { ${lines(args, nodeFields)} } } } } }`;
    const lineCursor = (await send(ahead("first: 4"))).response.data.partners.edges[0].node.commissions.edges[1].cursor as string;
    for (const nodeFields of [plainFields.join(" "), dashboardFields]) {
      for (const args of [
        "first: 3",
        "first: 4",
        "first: 10",
        "last: 2",
        "last: 5",
        `first: 2, after: ${JSON.stringify(lineCursor)}`,
        `last: 1, before: ${JSON.stringify(lineCursor)}`,
        "first: $n",
      ]) {
        const variables = args.includes("$n") ? { n: 2 } : undefined;
        const [one, two] = [await send(ahead(args, nodeFields), acme.adminToken, variables), await send(alone(args, nodeFields), acme.adminToken, variables)];
        expect(one.response.errors, args).toBeUndefined();
        // One statement reads the lines, the partners' own; without the lines ahead, a statement of their own.
        expect(
          one.sql.filter((sql) => /\bcommissions c\b/.test(sql)),
          args,
        ).toHaveLength(1);
        expect(
          one.sql.filter((sql) => FAST_PAGE.test(sql) && /string_agg/.test(sql)),
          args,
        ).toHaveLength(1);
        expect(
          two.sql.filter((sql) => /string_agg/.test(sql)),
          args,
        ).toEqual([]);
        expect(one.sql.length, args).toBe(two.sql.length - 1);
        expect(JSON.stringify(one.response), args).toBe(JSON.stringify(two.response));
      }
    }
    // A filter, a count alone, or a field with a selection of its own: the lines' own statement, as before.
    for (const query of [
      ahead("first: 2, filter: { status: [PENDING] }"),
      "{ partners(first: 5) { edges { node { id commissions(first: 2) { totalCount } } } } }",
      "{ partners(first: 5) { edges { node { id commissions(first: 2) { edges { node { id kind } } } } } } }",
    ]) {
      const { response, sql } = await send(query);
      expect(response.errors).toBeUndefined();
      expect(sql.filter((text) => /string_agg/.test(text))).toEqual([]);
    }
    // Refused arguments are refused as before, by the field itself, and nothing is read ahead.
    const refused = await send(ahead(`first: 1, before: ${JSON.stringify(lineCursor)}`));
    expect(refused.response.errors?.map((error) => error.message)).toEqual(['Arguments "before" and "first" are not supported at the same time']);
    expect(refused.sql.filter((text) => /string_agg/.test(text))).toEqual([]);
    // A token that reads partners and not lines: the field is refused, and no line was read for it.
    const partnersOnly = await send(ahead("first: 2"), await acme.integrationToken(["PARTNERS_READ"]));
    expect(partnersOnly.response.errors?.map((error) => error.extensions?.code)).toContain("FORBIDDEN");
    expect(partnersOnly.sql.some((text) => FAST_PAGE.test(text))).toBe(true);
    expect(partnersOnly.sql.filter((text) => /\bcommissions\b/.test(text))).toEqual([]);
    // Another program's admin reads its own partner, and no line of this program's.
    const foreign = await send(ahead("first: 10"), other.adminToken);
    expect(foreign.response.errors).toBeUndefined();
    expect(foreign.response.data.partners.edges).toHaveLength(1);
    expect(foreign.response.data.partners.edges[0].node.commissions.edges).toEqual([]);
  });
});

describe.runIf(hasPostgres)("reads without Prisma when the database does not answer (PostgreSQL)", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  let holder: pg.Client;
  beforeAll(async () => {
    t = await startTestApp("postgres", { env: { ACCRUE_SCHEDULER: "0", DATABASE_STATEMENT_TIMEOUT_MS: "500", DATABASE_LOCK_TIMEOUT_MS: "600000" } });
    acme = await createProgramFixture(t);
    await createPartnerFixture(t, acme);
    holder = new pg.Client({ connectionString: t.app.config.database.kind === "postgres" ? t.app.config.database.url : "" });
    await holder.connect();
  }, 120_000);
  afterAll(async () => {
    await holder?.end();
    await t?.stop();
  });

  it.each(READS_WITHOUT_PRISMA)("a %s statement past statement_timeout is SERVICE_UNAVAILABLE (503), as through Prisma", async (table, query) => {
    await holder.query("BEGIN");
    await holder.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    try {
      const response = await t.raw({ query }, acme.adminToken);
      expect(response.errors?.map((error) => error.extensions?.code)).toEqual(["SERVICE_UNAVAILABLE"]);
      expect(response.status).toBe(503);
      expect(JSON.stringify(response.errors)).not.toMatch(/Unexpected error|canceling|SELECT/i);
    } finally {
      await holder.query("ROLLBACK");
    }
  });
});
