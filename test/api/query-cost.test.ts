import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { feedClient } from "../helpers/feed-client.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { globalId, startTestApp, type GraphQLResponse, type TestApp } from "../helpers/test-app.ts";

const RecordManyDoc = graphql(`
  mutation CostRecordMany($input: RecordConversionsInput!) {
    recordConversions(input: $input) { createdCount userErrors { code message field } }
  }
`);

const noLeak = (body: unknown) => expect(JSON.stringify(body)).not.toMatch(/node_modules|\.ts:\d+|\bat [\w.]+ \(|SELECT |INSERT |prisma/i);
const aliases = (count: number, field: string) => `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(" ")} }`;
const codeOf = (response: GraphQLResponse<unknown>) => response.errors?.[0]?.extensions?.code;

/**
 * Every list costs what it can hold, `nodes` included: the path that let
 * 100 ids with 100 lines each (and five aliases of it) run for 20 s while
 * the rest of the server waited.
 */
describe.each(databaseTargets())("query cost (%s)", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  let partners: { id: string; rawId: string }[];
  let integration: string;
  beforeAll(async () => {
    t = await startTestApp(target, { countStatements: true });
    acme = await createProgramFixture(t);
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    partners = [];
    for (let i = 0; i < 12; i += 1) partners.push(await createPartnerFixture(t, acme));
    const items = Array.from({ length: 48 }, (_, i) => ({
      externalId: `cost-${i}`,
      partners: [{ id: partners[i % 12]!.id }],
      amount: "20.00",
      currency: "USD",
      occurredAt: "2026-03-01T00:00:00Z",
    }));
    const recorded = await t.gql(RecordManyDoc, { input: { items } }, integration);
    expect(recorded.data?.recordConversions.createdCount).toBe(48);
  });
  afterAll(() => t?.stop());

  it("refuses the nodes request that froze the server: 5 aliases of 100 ids with 100 lines each", async () => {
    const ids = Array.from({ length: 100 }, (_, i) => globalId("Partner", `0190d4a0-0000-7000-8000-${String(i).padStart(12, "0")}`));
    const query = aliases(5, `nodes(ids: ${JSON.stringify(ids)}) { ... on Partner { commissions(first: 100) { edges { node { id amount { amount } status } } } } }`);
    const response = await t.raw({ query }, acme.adminToken);
    noLeak(response);
    expect(response.status).toBe(400);
    expect(response.errors).toHaveLength(1); // one refusal for the operation, not one per alias
    expect(codeOf(response)).toBe("QUERY_TOO_COMPLEX");
    expect(response.errors![0]!.extensions!.cost as number).toBeGreaterThan(response.errors![0]!.extensions!.maxCost as number);
    expect(response.data).toBeUndefined();
  });

  it("costs nodes by how many ids it is given", async () => {
    const field = (ids: string[]) => `nodes(ids: ${JSON.stringify(ids)}) { ... on Partner { name commissions(first: 100) { totalCount edges { node { id status } } } } }`;
    const two = partners.slice(0, 2).map((p) => p.id);
    const twelve = partners.map((p) => p.id);
    expect((await t.raw({ query: aliases(1, field(two)) }, acme.adminToken)).errors).toBeUndefined();
    // Thirty aliases are over the limit either way; the refusal says what each cost.
    const costOf = async (ids: string[]) => {
      const response = await t.raw({ query: aliases(30, field(ids)) }, acme.adminToken);
      expect(codeOf(response)).toBe("QUERY_TOO_COMPLEX");
      return response.errors![0]!.extensions!.cost as number;
    };
    expect(await costOf(twelve)).toBeGreaterThan(5 * (await costOf(two)));
  });

  it("refuses an id given twice, however it is spelled, before anything runs", async () => {
    const [first, second] = partners;
    const upper = globalId("Partner", first!.rawId.toUpperCase());
    for (const ids of [
      [first!.id, second!.id, first!.id],
      [first!.id, upper],
    ]) {
      const before = t.app.db.statements.count;
      const response = await t.raw({ query: "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", variables: { ids } }, acme.adminToken);
      noLeak(response);
      expect(codeOf(response)).toBe("BAD_USER_INPUT");
      expect(response.errors![0]!.message).toMatch(/each id once/);
      expect(t.app.db.statements.count).toBe(before);
    }
  });

  it("loads nodes, and what is selected under them, in the same number of statements for 2 or 12 ids", async () => {
    const query = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Partner { name commissions(first: 3) { totalCount edges { node { id conversion { externalId } } } } } } }";
    const statementsFor = async (ids: string[]) => {
      const before = t.app.db.statements.count;
      const response = await t.raw({ query, variables: { ids } }, acme.adminToken);
      expect(response.errors).toBeUndefined();
      const nodes = (response.data as { nodes: { id: string; commissions: { totalCount: number; edges: unknown[] } }[] }).nodes;
      expect(nodes.map((node) => node.id)).toEqual(ids);
      for (const node of nodes) expect(node.commissions).toMatchObject({ totalCount: 4, edges: [{}, {}, {}] });
      return t.app.db.statements.count - before;
    };
    const two = await statementsFor(partners.slice(0, 2).map((p) => p.id));
    const twelve = await statementsFor(partners.map((p) => p.id));
    expect(twelve).toBe(two);
    // The nodes, each partner's page of line ids (one LATERAL statement), those
    // lines, their counts, and the lines' conversions.
    expect(two).toBeLessThanOrEqual(5);
  });

  it("still answers null, in place, for an id of nothing or of another program", async () => {
    const other = await createProgramFixture(t, { name: "Other" });
    const theirs = await createPartnerFixture(t, other);
    const missing = globalId("Partner", "0190d4a0-0000-7000-8000-000000000000");
    const response = await t.raw(
      { query: "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", variables: { ids: [missing, partners[1]!.id, theirs.id, partners[0]!.id] } },
      acme.adminToken,
    );
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ nodes: [null, { id: partners[1]!.id }, null, { id: partners[0]!.id }] });
    // A partner token sees only itself among them.
    const partnerToken = await acme.partnerToken(partners[0]!.id);
    const mine = await t.raw({ query: "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", variables: { ids: [partners[1]!.id, partners[0]!.id] } }, partnerToken);
    expect(mine.data).toEqual({ nodes: [null, { id: partners[0]!.id }] });
  });

  it("costs a page by its size, with its variables", async () => {
    const query = `query($n: Int!) { ${Array.from({ length: 5 }, (_, i) => `a${i}: commissions(first: $n) { edges { node { id status partner { name email } conversion { externalId amount { amount } commissions { id status } } } } }`).join(" ")} }`;
    const small = await t.raw({ query, variables: { n: 2 } }, acme.adminToken);
    expect(small.errors).toBeUndefined();
    const large = await t.raw({ query, variables: { n: 100 } }, acme.adminToken);
    expect(codeOf(large)).toBe("QUERY_TOO_COMPLEX");
  });

  it("costs the operation the request names, not the first in the document", async () => {
    const document = `query Cheap { viewer { role } } query Dear ${aliases(30, "commissions(first: 100) { edges { node { id partner { name } conversion { externalId } } } }").slice(0)}`;
    expect((await t.raw({ query: document, operationName: "Cheap" } as never, acme.adminToken)).errors).toBeUndefined();
    expect(codeOf(await t.raw({ query: document, operationName: "Dear" } as never, acme.adminToken))).toBe("QUERY_TOO_COMPLEX");
  });

  /** A batch of `n` sales for the fixture's partners. */
  const saleItems = (n: number, prefix: string) =>
    Array.from({ length: n }, (_, i) => ({
      externalId: `${prefix}-${i}`,
      partners: [{ id: partners[i % 12]!.id }],
      amount: "5.00",
      currency: "USD",
      occurredAt: "2026-03-01T00:00:00Z",
    }));
  const count = () => t.app.db.prisma.conversion.count();

  it("costs a bulk mutation's payload by the length of its input", async () => {
    const before = await count();
    const rich =
      "recordConversions(input: $input) { createdCount conversions { id metadata commissions { id status amount { amount } corrections { id amount { amount } } } reversals { id } } }";
    const refused = await t.raw({ query: `mutation($input: RecordConversionsInput!) { ${rich} }`, variables: { input: { items: saleItems(500, "rich") } } }, integration);
    noLeak(refused);
    expect(codeOf(refused)).toBe("QUERY_TOO_COMPLEX");
    expect(await count()).toBe(before);
    // The largest batch with a plain payload is what integrators send: it fits.
    const plain = await t.raw(
      {
        query: "mutation($input: RecordConversionsInput!) { recordConversions(input: $input) { createdCount conversions { id externalId } } }",
        variables: { input: { items: saleItems(500, "plain") } },
      },
      integration,
    );
    expect(plain.errors).toBeUndefined();
    expect(await count()).toBe(before + 500);
  });

  it("refuses several batches in one request (aliases), writing nothing", async () => {
    const before = await count();
    const aliased = (n: number) =>
      `mutation(${Array.from({ length: n }, (_, i) => `$i${i}: RecordConversionsInput!`).join(", ")}) { ${Array.from({ length: n }, (_, i) => `m${i}: recordConversions(input: $i${i}) { createdCount }`).join(" ")} }`;
    const variables = (n: number, size: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`i${i}`, { items: saleItems(size, `aliased-${size}-${i}`) }]));
    const refused = await t.raw({ query: aliased(3), variables: variables(3, 200) } as never, integration);
    noLeak(refused);
    expect(codeOf(refused)).toBe("QUERY_TOO_COMPLEX");
    expect(refused.errors![0]!.extensions!.inputItems).toBe(600);
    expect(await count()).toBe(before);
    const accepted = await t.raw({ query: aliased(3), variables: variables(3, 100) } as never, integration);
    expect(accepted.errors).toBeUndefined();
    expect(await count()).toBe(before + 300);
  });

  it("applies the same limit over WebSocket", async () => {
    const client = feedClient(t.url, acme.adminToken);
    try {
      const result = await new Promise<{ errors?: readonly { extensions?: Record<string, unknown> }[] }>((resolve, reject) => {
        const ids = partners.map((p) => p.id);
        client.subscribe(
          { query: aliases(30, `nodes(ids: ${JSON.stringify(ids)}) { ... on Partner { commissions(first: 100) { edges { node { id } } } } }`) },
          {
            next: (value) => resolve(value as never),
            error: (error) => resolve({ errors: Array.isArray(error) ? error : [{ extensions: { code: String(error) } }] }),
            complete: () => reject(new Error("no result")),
          },
        );
      });
      expect(result.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COMPLEX");
    } finally {
      await client.dispose();
    }
  });

  it("answers a malformed id with BAD_USER_INPUT, costed or not", async () => {
    const response = await t.raw({ query: `{ nodes(ids: ["not-an-id"]) { id } }` }, acme.adminToken);
    noLeak(response);
    expect(codeOf(response)).toBe("BAD_USER_INPUT");
  });
});
