import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { type GraphQLObjectType, isObjectType, print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEDGER_HEADERS } from "../../src/db/statement-ledger.ts";
import { buildSchema } from "../../src/graphql/schema.ts";
import { MAX_COMPILED_DOCUMENTS } from "../../src/graphql/use-compiled-queries.ts";
import { createMigratedPostgresDatabase } from "../helpers/database-templates.ts";
import { hasPostgres } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { recordSale } from "../helpers/ledger-docs.ts";
import { CommissionsWithParentsDoc, ConversionsWithLinesDoc, PartnersFirstLineDoc, PartnersNestedDoc, PartnersWithLinesDoc, PayoutsWithLinesDoc } from "../helpers/nested-reads.ts";
import { CreatePayoutDoc, makePayable, payableSale } from "../helpers/payout-docs.ts";
import { startTestApp, type TestApp } from "../helpers/test-app.ts";

const noLeak = (body: unknown) => expect(JSON.stringify(body)).not.toMatch(/node_modules|\.ts:\d+|\bat [\w.]+ \(|SELECT |prisma/i);

/** The partner portal's read (bench/reads): its own partner with the balance, and its latest lines. */
const PORTAL = `query Portal { viewer { partner { id balance { payable { amount currency } pending { amount currency } paid { amount currency } } } }
  commissions(first: 50) { edges { node { id amount { amount currency } status occurredAt } } } }`;

/**
 * Queries run compiled (graphql-jit) on PostgreSQL; mutations and
 * subscriptions, and every query on the embedded database (whose time limit
 * stops execution field by field), run on graphql's interpreter. The other
 * API tests on PostgreSQL run through the compiled path; here the two are
 * held to each other on one database: the same answer, and the same
 * statements and rows, for every nested read the N+1 tests count.
 */
describe.runIf(hasPostgres)("compiled queries (PostgreSQL)", () => {
  let compiled: TestApp;
  let interpreted: TestApp;
  let acme: ProgramFixture;
  let me: Awaited<ReturnType<typeof createPartnerFixture>>;
  let them: Awaited<ReturnType<typeof createPartnerFixture>>;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const database = await createMigratedPostgresDatabase();
    drop = () => database.drop();
    const env = { ACCRUE_SCHEDULER: "0", ACCRUE_RESPONSE_CACHE: "false", ACCRUE_MAX_QUERY_COST: "10000000", ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE: "10000000000" };
    compiled = await startTestApp("postgres", { databaseUrl: database.url, countStatements: true, env });
    interpreted = await startTestApp("postgres", { databaseUrl: database.url, countStatements: true, env: { ...env, ACCRUE_COMPILED_QUERIES: "false" } });
    acme = await createProgramFixture(compiled);
    me = await createPartnerFixture(compiled, acme, { name: "Me" });
    them = await createPartnerFixture(compiled, acme, { name: "Them" });
    const integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    for (const partner of [me, them, await createPartnerFixture(compiled, acme), await createPartnerFixture(compiled, acme)]) {
      for (let j = 0; j < 3; j += 1) await recordSale(compiled, integration, partner.id, { amount: `${10 + j}.00` });
      await makePayable(compiled, acme, partner.id);
      await payableSale(compiled, acme, integration, partner.id, "100.00");
      await compiled.gql(CreatePayoutDoc, { input: { partnerId: partner.id } }, acme.adminToken);
    }
  }, 120_000);
  afterAll(async () => {
    await compiled?.stop();
    await interpreted?.stop();
    await drop?.();
  });

  it("runs a query compiled, compiling its document once", async () => {
    const query = "query CompiledDashboard { partners(first: 2, sort: { field: NAME, direction: ASC }) { edges { node { name } } } }";
    const runs = compiled.app.compiledQueries!.runs();
    const first = await compiled.raw({ query }, acme.adminToken);
    expect(first.data).toEqual({ partners: { edges: [{ node: { name: expect.any(String) } }, { node: { name: expect.any(String) } }] } });
    const size = compiled.app.compiledQueries!.size();
    expect((await compiled.raw({ query }, acme.adminToken)).data).toEqual(first.data);
    expect(compiled.app.compiledQueries!.runs()).toBe(runs + 2);
    expect(compiled.app.compiledQueries!.size()).toBe(size); // the same document: compiled once
    expect((await interpreted.raw({ query }, acme.adminToken)).data).toEqual(first.data);
    expect(interpreted.app.compiledQueries).toBeUndefined();
  });

  it("compiles each operation of a document by its name", async () => {
    const query = "query Role { viewer { role } } query Count { partners(first: 1) { totalCount } }";
    expect((await compiled.raw({ query, operationName: "Role" }, acme.adminToken)).data).toEqual({ viewer: { role: "ADMIN" } });
    expect((await compiled.raw({ query, operationName: "Count" }, acme.adminToken)).data).toEqual({ partners: { totalCount: 4 } });
    expect((await compiled.raw({ query, operationName: "Role" }, acme.adminToken)).data).toEqual({ viewer: { role: "ADMIN" } });
  });

  it("answers a refused field with its code and null in place, the rest answered", async () => {
    const runs = compiled.app.compiledQueries!.runs();
    const response = await compiled.raw({ query: "query Mixed($id: ID!) { viewer { role } them: partner(id: $id) { id name } }", variables: { id: them.id } }, me.token);
    expect(compiled.app.compiledQueries!.runs()).toBe(runs + 1);
    noLeak(response);
    expect(response.status).toBe(200);
    expect(response.data).toEqual({ viewer: { role: "PARTNER" }, them: null });
    expect(response.errors).toEqual([expect.objectContaining({ path: ["them"], extensions: expect.objectContaining({ code: "FORBIDDEN" }) })]);
  });

  it("refuses a variable of the wrong type as BAD_USER_INPUT", async () => {
    const response = await compiled.raw({ query: "query Page($first: Int!) { partners(first: $first) { totalCount } }", variables: { first: "many" } }, acme.adminToken);
    noLeak(response);
    expect(response.data).toBeUndefined();
    expect(response.errors).toEqual([
      expect.objectContaining({ message: expect.stringContaining('Variable "$first"'), extensions: expect.objectContaining({ code: "BAD_USER_INPUT" }) }),
    ]);
  });

  it("runs mutations on the interpreter", async () => {
    const runs = compiled.app.compiledQueries!.runs();
    const response = await compiled.raw(
      { query: "mutation Rename($input: UpdatePartnerInput!) { updatePartner(input: $input) { partner { name } } }", variables: { input: { id: me.id, name: "Me" } } },
      acme.adminToken,
    );
    expect(response.data).toEqual({ updatePartner: { partner: { name: "Me" } } });
    expect(compiled.app.compiledQueries!.runs()).toBe(runs);
  });

  /** A request's answer, statements and rows (the server's statement ledger). */
  async function ledgerOf(app: TestApp, query: string, variables: object, token: string) {
    const response = await app.raw({ query, variables }, token);
    return {
      body: JSON.stringify({ data: response.data, errors: response.errors }),
      statements: Number(response.headers!.get(LEDGER_HEADERS.statements)),
      rows: Number(response.headers!.get(LEDGER_HEADERS.rows)),
    };
  }

  /**
   * The same request on both servers, each sent once before: a server's first
   * request of a kind can read what it then keeps a while (a token's standing,
   * a program's settings), and that would count on one side only.
   */
  async function sideBySide(query: string, variables: object, token: string) {
    for (const app of [compiled, interpreted]) await ledgerOf(app, query, variables, token);
    return { fast: await ledgerOf(compiled, query, variables, token), slow: await ledgerOf(interpreted, query, variables, token) };
  }

  it.each([
    ["partners, nested", PartnersNestedDoc],
    ["partners → balance, commissions → conversion, corrections", PartnersWithLinesDoc],
    ["partners → first line", PartnersFirstLineDoc],
    ["conversions → reversals, commissions → partner, related", ConversionsWithLinesDoc],
    ["commissions → partner → balance, conversion → commissions", CommissionsWithParentsDoc],
    ["payouts → partner, lines → commission; pending payouts", PayoutsWithLinesDoc],
  ] as const)("%s: the interpreter's answer, statements and rows", async (_name, document) => {
    const query = print(document as TypedDocumentNode<unknown, { first: number }>);
    const runs = compiled.app.compiledQueries!.runs();
    const { fast, slow } = await sideBySide(query, { first: 3 }, acme.adminToken);
    expect(compiled.app.compiledQueries!.runs()).toBe(runs + 2);
    expect(JSON.parse(fast.body).errors).toBeUndefined();
    expect(fast.body).toBe(slow.body);
    expect(fast.statements).toBeGreaterThan(0);
    expect(fast.statements).toBe(slow.statements);
    expect(fast.rows).toBe(slow.rows);
  });

  // One root field a request: `node` and `nodes` in one query load their partners side by side, and
  // whether both answers are back in one turn (their balances then read in one statement, or in
  // two) is the machine's timing, on either executor. It made the counts differ by one on a busy
  // machine, with the same rows.
  it.each([
    [
      "node",
      `query Node($id: ID!) { node(id: $id) { id ... on Partner { name balance { payable { amount } } commissions(first: 2) { edges { node { conversion { externalId } } } } } } }`,
    ],
    [
      "nodes",
      `query Nodes($ids: [ID!]!) { nodes(ids: $ids) { id ... on Partner { balance { pending { amount } } payouts(first: 1) { edges { node { lines { commission { status } } } } } } } }`,
    ],
  ] as const)("%s (an interface): the interpreter's answer, statements and rows", async (_name, query) => {
    const variables = { id: me.id, ids: [me.id, them.id] };
    const { fast, slow } = await sideBySide(query, variables, acme.adminToken);
    expect(JSON.parse(fast.body).errors).toBeUndefined();
    expect(fast.body).toBe(slow.body);
    expect(fast.statements).toBeGreaterThan(1);
    expect([fast.statements, fast.rows]).toEqual([slow.statements, slow.rows]);
  });

  it("the partner portal: the balance its partner's query loaded is not loaded again", async () => {
    const { fast, slow } = await sideBySide(PORTAL, {}, me.token);
    expect(fast.body).toBe(slow.body);
    expect(JSON.parse(fast.body).data.viewer.partner.balance.payable.amount).toBe("0.00");
    expect([fast.statements, fast.rows]).toEqual([slow.statements, slow.rows]);
  });

  it("keeps at most MAX_COMPILED_DOCUMENTS documents compiled, the least recently used evicted", async () => {
    for (let i = 0; i <= MAX_COMPILED_DOCUMENTS; i++) {
      const response = await compiled.raw({ query: `{ viewer { role${i}: role } }` }, acme.adminToken);
      expect(response.data).toEqual({ viewer: { [`role${i}`]: "ADMIN" } });
    }
    expect(compiled.app.compiledQueries!.size()).toBe(MAX_COMPILED_DOCUMENTS);
  });
});

describe("compiled queries (embedded database)", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  beforeAll(async () => {
    t = await startTestApp("pglite");
    acme = await createProgramFixture(t);
  });
  afterAll(() => t?.stop());

  it("runs queries on the interpreter, which its time limit stops field by field", async () => {
    expect((await t.raw({ query: "{ viewer { role } }" }, acme.adminToken)).data).toEqual({ viewer: { role: "ADMIN" } });
    expect(t.app.compiledQueries).toBeUndefined();
  });
});

/**
 * graphql-jit calls an object type's `isTypeOf` with the value alone (no
 * context, no info) and takes a promise for a match, where graphql's
 * interpreter passes both and awaits it. scope-auth's `runScopesOnType`
 * puts a type's scopes in `isTypeOf`, so under compiled queries they would
 * run without the request or pass unchecked: every type's scopes stay on its
 * fields, and no object type has an `isTypeOf` of its own.
 */
describe("compiled queries and isTypeOf", () => {
  it("no object type of the schema has isTypeOf", () => {
    const withIsTypeOf = Object.values(buildSchema().getTypeMap())
      .filter((type) => isObjectType(type) && type.isTypeOf)
      .map((type) => type.name);
    expect(withIsTypeOf).toEqual([]);
  });
});

/**
 * graphql-jit reads a field with no resolver inline, as a property; a field
 * with one costs a call per row (a response path, an info object and three
 * closures). A connection's edges and pageInfo, an edge's node
 * (builder.ts) and a column its type always selects (plain-columns.ts) are
 * properties of what their parent resolved, so they have none. Money's are
 * in schema.test.ts.
 */
describe("compiled queries and plain fields", () => {
  const schema = buildSchema();
  const objectTypes = Object.values(schema.getTypeMap()).filter(isObjectType);

  it("a connection's edges and pageInfo, and an edge's node, have no resolver", () => {
    const connections = objectTypes.filter((type) => type.name.endsWith("Connection") && "edges" in type.getFields());
    const edges = objectTypes.filter((type) => type.name.endsWith("Edge") && "node" in type.getFields());
    expect(connections.length).toBeGreaterThan(10);
    expect(edges.length).toBe(connections.length);
    const withResolver = [
      ...connections.flatMap((type) => ["edges", "pageInfo"].filter((name) => type.getFields()[name]!.resolve).map((name) => `${type.name}.${name}`)),
      ...edges.filter((type) => type.getFields().node!.resolve).map((type) => `${type.name}.node`),
    ];
    expect(withResolver).toEqual([]);
  });

  it("an exposed column in its type's select has no resolver; one outside it keeps plugin-prisma's", () => {
    const commission = schema.getType("Commission") as GraphQLObjectType;
    expect(commission.getFields().status!.resolve).toBeUndefined();
    // `kind` is not in Commission's select: its field looks its column up and loads it if missing.
    expect(commission.getFields().kind!.resolve).toBeTypeOf("function");
  });

  it("a type checked where it is reached reads an exposed column with no resolver", () => {
    // Partner has no authScopes of its own (scopes-at-entry.ts) and no select: its columns are read as properties.
    const partner = schema.getType("Partner") as GraphQLObjectType;
    expect(partner.getFields().name!.resolve).toBeUndefined();
  });
});
