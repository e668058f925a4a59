import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { parse, print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEDGER_HEADERS } from "../../src/db/statement-ledger.ts";
import { hasPostgres } from "../helpers/databases.ts";
import { CommissionsWithParentsDoc, ConversionsWithLinesDoc, PartnersFirstLineDoc, PartnersNestedDoc, PartnersWithLinesDoc, PayoutsWithLinesDoc } from "../helpers/nested-reads.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { recordSale } from "../helpers/ledger-docs.ts";
import { CreatePayoutDoc, makePayable, payableSale } from "../helpers/payout-docs.ts";
import { dataOf, startTestApp, type GraphQLResponse, type TestApp } from "../helpers/test-app.ts";

/**
 * Lists are never N+1: the SQL statements a request sends do not grow with
 * the page size, and the rows they bring back stay proportional to the
 * records the answer holds (a nested page reads its page, not every child of
 * its parents). Counted per request by the real server (src/db/statement-ledger.ts:
 * the driver adapter's statements and rows, reported in response headers),
 * so the scheduler's work at the same time is not counted.
 */
/**
 * Rows read per record answered: a record's own row, a count or a joined row
 * or two (a payout line's commission, a balance); FIXED_ROWS covers the
 * token check and the counts of the top list.
 */
const ROWS_PER_RECORD = 3;
const FIXED_ROWS = 10;

/** Records in an answer: its objects, but for edges and amounts (a connection with a count is one). */
function countRecords(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + countRecords(item), 0);
  if (!value || typeof value !== "object") return 0;
  const keys = Object.keys(value);
  const wrapper = keys.includes("node") || keys.every((key) => key === "amount" || key === "currency") || keys.every((key) => key === "edges");
  return (wrapper ? 0 : 1) + Object.values(value).reduce((sum: number, item) => sum + countRecords(item), 0);
}

describe("statements and rows per request", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  // Setting up through the API takes a while on a busy machine; nothing here is timed.
  beforeAll(async () => {
    // This file counts statements; the cost limit is query-cost.test.ts's (a page of payouts with their lines is over it).
    // The count is the app's: with the scheduler off, nothing but this file's
    // requests (sent one at a time, no feed open) sends a statement, so a
    // difference is one request's statements and never a background task's.
    t = await startTestApp("pglite", {
      countStatements: true,
      env: { ACCRUE_SCHEDULER: "0", ACCRUE_MAX_QUERY_COST: "10000000", ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE: "10000000000" },
    });
    acme = await createProgramFixture(t);
    const integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    for (let i = 0; i < 25; i += 1) {
      const partner = await createPartnerFixture(t, acme);
      for (let j = 0; j < 6; j += 1) await recordSale(t, integration, partner.id, { amount: `${10 + j}.00` });
      await makePayable(t, acme, partner.id);
      for (let j = 0; j < 2; j += 1) await payableSale(t, acme, integration, partner.id, "100.00");
      if (i % 2 === 0) await t.gql(CreatePayoutDoc, { input: { partnerId: partner.id } }, acme.adminToken);
      if (i % 2 === 1) await payableSale(t, acme, integration, partner.id, "50.00");
    }
  }, 300_000);
  afterAll(() => t?.stop());

  /** The request's statements and rows read (the server's ledger), and the records in its answer. */
  async function ledgerOf<T, V>(document: TypedDocumentNode<T, V>, variables: V): Promise<{ statements: number; rows: number; records: number; data: T }> {
    const response = await t.raw({ query: print(document), variables }, acme.adminToken);
    const data = dataOf(response as GraphQLResponse<T>);
    return {
      statements: Number(response.headers!.get(LEDGER_HEADERS.statements)),
      rows: Number(response.headers!.get(LEDGER_HEADERS.rows)),
      records: countRecords(data),
      data,
    };
  }

  it("lists partners with nested fields in the same number of statements for 2 or 25 rows", async () => {
    const small = await ledgerOf(PartnersNestedDoc, { first: 2 });
    const large = await ledgerOf(PartnersNestedDoc, { first: 25 });
    expect(large.data.partners.edges).toHaveLength(25);
    expect(large.statements).toBe(small.statements);
    expect(small.statements).toBeGreaterThan(0);
    expect(small.statements).toBeLessThanOrEqual(3);
    expect(large.rows).toBeLessThanOrEqual(ROWS_PER_RECORD * large.records + FIXED_ROWS);
  });

  // The lines' page is read ahead with the partners (one statement; loaders/lines-ahead.ts, whose rows travel
  // inside the partners' and are not counted apart), or, inside a fragment, by a statement of its own.
  const PartnersFirstLineInFragmentDoc = parse(
    "query PartnersFirstLineInFragment($first: Int!) { partners(first: $first) { edges { node { id ... on Partner { commissions(first: 1) { totalCount edges { node { id status } } } } } } } }",
  ) as unknown as typeof PartnersFirstLineDoc;
  it.each([
    ["read ahead", PartnersFirstLineDoc, 2],
    ["in a fragment", PartnersFirstLineInFragmentDoc, 5],
  ] as const)("reads a nested page of one line per partner, not each partner's lines (%s)", async (_name, document, maxStatements) => {
    const { statements, rows, records, data } = await ledgerOf(document, { first: 20 });
    expect(data.partners.edges).toHaveLength(20);
    for (const { node } of data.partners.edges) {
      expect(node.commissions.edges).toHaveLength(1);
      expect(node.commissions.totalCount).toBeGreaterThanOrEqual(8);
    }
    expect(records).toBe(61); // the answer, the partners, their connections (with a count) and lines
    // The partners, the ids of each one's line, the lines, the counts: about 80 rows. Prisma's own nested load read every line (199 rows).
    expect(rows).toBeLessThanOrEqual(2 * records);
    expect(statements).toBeLessThanOrEqual(maxStatements);
  });

  it.each([
    ["partners → balance, commissions → conversion, corrections", PartnersWithLinesDoc, "partners"],
    ["conversions → reversals, commissions → partner, related", ConversionsWithLinesDoc, "conversions"],
    ["commissions → partner → balance, conversion → commissions", CommissionsWithParentsDoc, "commissions"],
    ["payouts → partner → methods, billing, blockers; lines → commission → conversion; pending payouts", PayoutsWithLinesDoc, "payouts"],
  ] as const)("%s: constant in the page size", async (_name, document, field) => {
    const count = async (first: number) => {
      const ledger = await ledgerOf(document as typeof PartnersWithLinesDoc, { first });
      expect((ledger.data as unknown as Record<string, { edges: unknown[] }>)[field]!.edges).toHaveLength(first);
      return ledger;
    };
    const small = await count(2);
    const large = await count(field === "payouts" ? 12 : 20);
    expect(large.statements).toBe(small.statements);
    expect(small.statements).toBeGreaterThan(0);
    // A partner's page of lines is one statement (each partner's page with its own limit), or two when its selection needs Prisma, plus the counts: loaders/partner-commissions.ts.
    // A page of balances is two: the rows, and the lines whose hold ended that the rows have not counted yet (loaders.ts, unmarkedPayable).
    expect(small.statements).toBeLessThanOrEqual(field === "payouts" ? 24 : field === "partners" ? 9 : 7);
    expect(large.rows).toBeLessThanOrEqual(ROWS_PER_RECORD * large.records + FIXED_ROWS);
  });
  it("records a sale in three statements and a batch of 50 in as many", async () => {
    const { one, many } = await saleStatements(t, acme);
    // Two statements and the COMMIT (which the embedded database's adapter does not pass through the ledger).
    expect(one).toBeGreaterThanOrEqual(2);
    expect(one).toBeLessThanOrEqual(3);
    expect(many).toBe(one);
  });
});

describe.runIf(hasPostgres)("a sale's statements on PostgreSQL", () => {
  // Its transaction runs on a pg connection, without Prisma (transact's sqlOnly, Database.sqlTransaction): counted there.
  let t: TestApp;
  let acme: ProgramFixture;
  beforeAll(async () => {
    t = await startTestApp("postgres", { countStatements: true, env: { ACCRUE_SCHEDULER: "0" } });
    acme = await createProgramFixture(t);
  });
  afterAll(() => t?.stop());

  it("records a sale in three statements and a batch of 50 in as many (the COMMIT counted)", async () => {
    expect(await saleStatements(t, acme)).toEqual({ one: 3, many: 3 });
  });
});

/**
 * The statements of one sale and of a batch of 50: the context (program,
 * partners, earlier posts), the conversions with their lines and the
 * ledger's flush in one, COMMIT (BEGIN is the driver's): record-conversions.ts.
 * The payload's columns come from what was written.
 */
async function saleStatements(t: TestApp, acme: ProgramFixture): Promise<{ one: number; many: number }> {
  const partner = await createPartnerFixture(t, acme);
  const sale = (i: number) => ({
    externalId: `n1-${i}-${Math.random()}`,
    partners: [{ id: partner.id }],
    amount: "10.00",
    currency: "USD",
    occurredAt: "2026-03-01T00:00:00.000Z",
  });
  const statementsOf = async (query: string, variables: unknown) => {
    const response = await t.raw({ query, variables }, acme.adminToken);
    expect(response.errors).toBeUndefined();
    expect(JSON.stringify(response.data)).not.toContain('userErrors":[{');
    return Number(response.headers!.get(LEDGER_HEADERS.statements));
  };
  const one = await statementsOf("mutation One($input: RecordConversionInput!) { recordConversion(input: $input) { created conversion { id externalId } userErrors { code } } }", {
    input: sale(0),
  });
  const many = await statementsOf("mutation Many($input: RecordConversionsInput!) { recordConversions(input: $input) { createdCount userErrors { code } } }", {
    input: { items: Array.from({ length: 50 }, (_, i) => sale(i + 1)) },
  });
  return { one, many };
}
