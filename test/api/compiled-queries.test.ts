import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_COMPILED_DOCUMENTS } from "../../src/graphql/use-compiled-queries.ts";
import { hasPostgres } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { startTestApp, type TestApp } from "../helpers/test-app.ts";

const noLeak = (body: unknown) => expect(JSON.stringify(body)).not.toMatch(/node_modules|\.ts:\d+|\bat [\w.]+ \(|SELECT |prisma/i);

/**
 * Queries run compiled (graphql-jit) on PostgreSQL; mutations and
 * subscriptions, and every query on the embedded database (whose time limit
 * stops execution field by field), run on graphql's interpreter. The answers
 * are the interpreter's: the other API tests run through the compiled path.
 */
describe.runIf(hasPostgres)("compiled queries (PostgreSQL)", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  let me: Awaited<ReturnType<typeof createPartnerFixture>>;
  let them: Awaited<ReturnType<typeof createPartnerFixture>>;
  beforeAll(async () => {
    t = await startTestApp("postgres");
    acme = await createProgramFixture(t);
    me = await createPartnerFixture(t, acme, { name: "Me" });
    them = await createPartnerFixture(t, acme, { name: "Them" });
  });
  afterAll(() => t?.stop());

  it("runs a query compiled, compiling its document once", async () => {
    const query = "query CompiledDashboard { partners(first: 5, sort: { field: NAME, direction: ASC }) { edges { node { name } } } }";
    const runs = t.app.compiledQueries.runs();
    const first = await t.raw({ query }, acme.adminToken);
    expect(first.data).toEqual({ partners: { edges: [{ node: { name: "Me" } }, { node: { name: "Them" } }] } });
    const size = t.app.compiledQueries.size();
    expect(await t.raw({ query }, acme.adminToken)).toEqual(first);
    expect(t.app.compiledQueries.runs()).toBe(runs + 2);
    expect(t.app.compiledQueries.size()).toBe(size); // the same document: compiled once
  });

  it("compiles each operation of a document by its name", async () => {
    const query = "query Role { viewer { role } } query Count { partners(first: 1) { totalCount } }";
    expect((await t.raw({ query, operationName: "Role" }, acme.adminToken)).data).toEqual({ viewer: { role: "ADMIN" } });
    expect((await t.raw({ query, operationName: "Count" }, acme.adminToken)).data).toEqual({ partners: { totalCount: 2 } });
    expect((await t.raw({ query, operationName: "Role" }, acme.adminToken)).data).toEqual({ viewer: { role: "ADMIN" } });
  });

  it("answers a refused field with its code and null in place, the rest answered", async () => {
    const runs = t.app.compiledQueries.runs();
    const response = await t.raw({ query: "query Mixed($id: ID!) { viewer { role } them: partner(id: $id) { id name } }", variables: { id: them.id } }, me.token);
    expect(t.app.compiledQueries.runs()).toBe(runs + 1);
    noLeak(response);
    expect(response.status).toBe(200);
    expect(response.data).toEqual({ viewer: { role: "PARTNER" }, them: null });
    expect(response.errors).toEqual([expect.objectContaining({ path: ["them"], extensions: expect.objectContaining({ code: "FORBIDDEN" }) })]);
  });

  it("refuses a variable of the wrong type as BAD_USER_INPUT", async () => {
    const response = await t.raw({ query: "query Page($first: Int!) { partners(first: $first) { totalCount } }", variables: { first: "many" } }, acme.adminToken);
    noLeak(response);
    expect(response.data).toBeUndefined();
    expect(response.errors).toEqual([
      expect.objectContaining({ message: expect.stringContaining('Variable "$first"'), extensions: expect.objectContaining({ code: "BAD_USER_INPUT" }) }),
    ]);
  });

  it("runs mutations on the interpreter", async () => {
    const runs = t.app.compiledQueries.runs();
    const response = await t.raw(
      { query: "mutation Rename($input: UpdatePartnerInput!) { updatePartner(input: $input) { partner { name } } }", variables: { input: { id: me.id, name: "Me" } } },
      acme.adminToken,
    );
    expect(response.data).toEqual({ updatePartner: { partner: { name: "Me" } } });
    expect(t.app.compiledQueries.runs()).toBe(runs);
  });

  it("keeps at most MAX_COMPILED_DOCUMENTS documents compiled, the least recently used evicted", async () => {
    for (let i = 0; i <= MAX_COMPILED_DOCUMENTS; i++) {
      const response = await t.raw({ query: `{ viewer { role${i}: role } }` }, acme.adminToken);
      expect(response.data).toEqual({ viewer: { [`role${i}`]: "ADMIN" } });
    }
    expect(t.app.compiledQueries.size()).toBe(MAX_COMPILED_DOCUMENTS);
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
    expect(t.app.compiledQueries.runs()).toBe(0);
  });
});
