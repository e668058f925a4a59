import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { recordSale } from "../helpers/ledger-docs.ts";
import { globalId, startTestApp, type TestApp } from "../helpers/test-app.ts";

/** Malformed requests get a clear error with a code, never a stack trace or SQL. */
describe("malformed requests", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  let integration: string;
  let partner: { id: string; rawId: string };
  let sale: { conversionId: string; commissionId: string };
  beforeAll(async () => {
    t = await startTestApp("pglite", { env: { ACCRUE_MAX_QUERY_COST: "25000", ACCRUE_MAX_QUERY_DEPTH: "5" } });
    acme = await createProgramFixture(t);
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    partner = await createPartnerFixture(t, acme, { externalId: "known-partner" });
    sale = await recordSale(t, integration, partner.id);
  });
  afterAll(() => t?.stop());

  /** Every table a refused request could have touched, to show it touched none. */
  const ledger = async () => {
    const db = t.app.db.prisma;
    const counts = await Promise.all(
      [db.program, db.partner, db.conversion, db.reversal, db.commission, db.payout, db.auditEntry].map((model) => (model as { count(): Promise<number> }).count()),
    );
    const balances = await db.balance.findMany({ orderBy: { partnerId: "asc" } });
    return JSON.stringify({ counts, balances }, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value));
  };
  /** Sends `body`, expects a top-level error with `code` (no leak), and that nothing changed. */
  const refused = async (body: { query: string; variables?: unknown }, token: string, code = "BAD_USER_INPUT") => {
    const before = await ledger();
    const response = await t.raw(body, token);
    noLeak(response);
    expect(response.errors?.[0]?.extensions?.code, JSON.stringify(response)).toBe(code);
    expect(await ledger()).toBe(before);
    return response.errors![0]!;
  };
  const notAUuid = (type: string) => globalId(type, "notauuid");
  const cursor = (value: string) => Buffer.from(`GPC:S:${value}`).toString("base64");

  const noLeak = (body: unknown) => {
    const text = JSON.stringify(body);
    expect(text).not.toMatch(/node_modules|\.ts:\d+|\bat [\w.]+ \(|SELECT |INSERT |prisma/i);
  };

  it.each([
    ["a syntax error", { query: "{ viewer { role " }, "GRAPHQL_PARSE_FAILED"],
    ["an unknown field", { query: "{ viewer { role password } }" }, "GRAPHQL_VALIDATION_FAILED"],
    ["a wrong argument type", { query: '{ partners(first: "ten") { totalCount } }' }, "GRAPHQL_VALIDATION_FAILED"],
    ["a wrong variable type", { query: "query($n: Int) { partners(first: $n) { totalCount } }", variables: { n: "ten" } }, "BAD_USER_INPUT"],
    ["a number for a Decimal", { query: "mutation { updateProgramSettings(input: { minimumPayout: 10.5 }) { userErrors { code } } }" }, "BAD_USER_INPUT"],
    [
      "a Decimal variable sent as a number",
      { query: "mutation($m: Decimal) { updateProgramSettings(input: { minimumPayout: $m }) { userErrors { code } } }", variables: { m: 10.5 } },
      "BAD_USER_INPUT",
    ],
    ["a malformed global id", { query: '{ partner(id: "not-an-id") { id } }' }, "BAD_USER_INPUT"],
    ["a global id of another type", { query: `{ partner(id: "${Buffer.from("Program:0190d4a0-0000-7000-8000-000000000000").toString("base64")}") { id } }` }, "BAD_USER_INPUT"],
  ])("answers %s with a code", async (_name, body, code) => {
    const response = await t.raw(body, acme.adminToken);
    noLeak(response);
    expect(response.errors?.[0]?.extensions?.code).toBe(code);
  });

  describe("a well-formed global id or cursor holding no uuid", () => {
    it.each([
      ["partner", () => ({ query: `{ partner(id: "${notAUuid("Partner")}") { id } }` })],
      ["node", () => ({ query: `{ node(id: "${notAUuid("Partner")}") { id } }` })],
      ["node of an unknown type", () => ({ query: `{ node(id: "${globalId("Nothing", "0190d4a0-0000-7000-8000-000000000000")}") { id } }` })],
      ["node of a type without ids", () => ({ query: `{ node(id: "${globalId("Balance", partner.rawId)}") { id } }` })],
      ["nodes", () => ({ query: `{ nodes(ids: ["${notAUuid("Payout")}"]) { id } }` })],
      ["a connection's after", () => ({ query: `{ partners(after: "${cursor("notauuid")}") { totalCount } }` })],
      ["a connection's before", () => ({ query: `{ payouts(last: 5, before: "${cursor("notauuid")}") { totalCount } }` })],
      ["a nested connection's after", () => ({ query: `{ partner(id: "${partner.id}") { payouts(after: "${cursor("x")}") { totalCount } } }` })],
      [
        "creditPartner",
        () => ({ query: 'mutation($id: ID!) { creditPartner(input: { partnerId: $id, amount: "5.00" }) { userErrors { code } } }', variables: { id: notAUuid("Partner") } }),
      ],
      ["createPayout", () => ({ query: "mutation($id: ID!) { createPayout(input: { partnerId: $id }) { userErrors { code } } }", variables: { id: notAUuid("Partner") } })],
      ["updatePartner", () => ({ query: 'mutation($id: ID!) { updatePartner(input: { id: $id, name: "X" }) { userErrors { code } } }', variables: { id: notAUuid("Partner") } })],
      ["approvePayouts", () => ({ query: "mutation($ids: [ID!]!) { approvePayouts(input: { ids: $ids }) { userErrors { code } } }", variables: { ids: [notAUuid("Payout")] } })],
      ["the commissions filter's conversionId", () => ({ query: `{ commissions(first: 5, filter: { conversionId: "${notAUuid("Conversion")}" }) { totalCount } }` })],
      [
        "approveCommissions",
        () => ({
          query: "mutation($ids: [ID!]!) { approveCommissions(input: { ids: $ids }) { userErrors { code } } }",
          variables: { ids: [sale.commissionId, notAUuid("Commission")] },
        }),
      ],
    ])("%s: BAD_USER_INPUT, nothing changed", async (_name, body) => {
      const error = await refused(body(), acme.adminToken);
      expect(error.message).toMatch(/is not a (global id|\w+ id)|not a cursor/);
    });

    it("a conversionId naming another type: BAD_USER_INPUT", async () => {
      const error = await refused({ query: `{ commissions(first: 5, filter: { conversionId: "${partner.id}" }) { totalCount } }` }, acme.adminToken);
      expect(error.message).toMatch(/name no conversion/);
    });

    it("still pages with the cursors it hands out, and takes a null after", async () => {
      const first = await t.raw({ query: "{ partners(first: 1) { pageInfo { endCursor } } }" }, acme.adminToken);
      const endCursor = (first.data as { partners: { pageInfo: { endCursor: string } } }).partners.pageInfo.endCursor;
      const next = await t.raw({ query: "query($after: String) { partners(first: 1, after: $after) { totalCount } }", variables: { after: endCursor } }, acme.adminToken);
      expect(next.errors).toBeUndefined();
      expect((await t.raw({ query: "{ partners(first: 1, after: null) { totalCount } }" }, acme.adminToken)).errors).toBeUndefined();
    });

    it("page sizes outside 1–100 are refused with zod's words, at the top and nested; the bounds themselves pass", async () => {
      // The page arguments are checked without zod when they pass (builder.ts, checkedFirst); what fails is zod's to word.
      const cases = [
        ["first: 0", "first: Too small: expected number to be >=1"],
        ["first: 101", "first: Too big: expected number to be <=100"],
        ["last: -3", "last: Too small: expected number to be >=1"],
      ] as const;
      for (const [args, message] of cases) {
        expect((await refused({ query: `{ partners(${args}) { totalCount } }` }, acme.adminToken)).message).toBe(message);
        expect((await refused({ query: `{ partners(first: 1) { edges { node { commissions(${args}) { totalCount } } } } }` }, acme.adminToken)).message).toBe(message);
      }
      for (const args of ["first: 1", "first: 100", "last: 100"]) {
        expect((await t.raw({ query: `{ partners(${args}) { totalCount } }` }, acme.adminToken)).errors).toBeUndefined();
        expect((await t.raw({ query: `{ partners(first: 1) { edges { node { commissions(${args}) { totalCount } } } } }` }, acme.adminToken)).errors).toBeUndefined();
      }
    });

    it("still finds what a valid id names, in any letter case", async () => {
      const upper = globalId("Partner", partner.rawId.toUpperCase());
      const response = await t.raw({ query: `{ partner(id: "${upper}") { id } }` }, acme.adminToken);
      expect(response.data).toEqual({ partner: { id: partner.id } });
    });
  });

  describe("nodes", () => {
    it("answers an id of nothing with null in its place, not an error for the list", async () => {
      const missing = globalId("Partner", "0190d4a0-0000-7000-8000-000000000000");
      const response = await t.raw({ query: `{ nodes(ids: ["${partner.id}", "${missing}"]) { id } }` }, acme.adminToken);
      expect(response.errors).toBeUndefined();
      expect(response.data).toEqual({ nodes: [{ id: partner.id }, null] });
    });

    it("takes at most 100 ids", async () => {
      const ids = [partner.id, ...Array.from({ length: 100 }, (_, i) => globalId("Partner", `0190d4a0-0000-7000-8000-${String(i).padStart(12, "0")}`))];
      const error = await refused({ query: "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", variables: { ids } }, acme.adminToken);
      expect(error.message).toMatch(/at most 100/);
      const hundred = await t.raw({ query: "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", variables: { ids: ids.slice(1) } }, acme.adminToken);
      expect(hundred.errors).toBeUndefined();
    });
  });

  describe("a NUL character (\\u0000) in a string", () => {
    const NUL = "a\u0000b";
    it.each([
      [
        "createPartner externalId",
        "admin",
        "mutation($input: CreatePartnerInput!) { createPartner(input: $input) { userErrors { code } } }",
        () => ({ input: { name: "Nul", email: "nul@partners.test", externalId: NUL } }),
        /\$input\.externalId/,
      ],
      ["partnerByExternalId", "admin", "query($x: String!) { partnerByExternalId(externalId: $x) { id } }", () => ({ x: NUL }), /\$x/],
      ["partners search", "admin", "query($s: String) { partners(filter: { search: $s }) { totalCount } }", () => ({ s: NUL }), /\$s/],
      ["auditEntries action", "admin", "query($a: String) { auditEntries(filter: { action: $a }) { totalCount } }", () => ({ a: NUL }), /\$a/],
      [
        "conversion externalId",
        "integration",
        "mutation($input: RecordConversionInput!) { recordConversion(input: $input) { userErrors { code } } }",
        () => ({ input: { externalId: NUL, partners: [{ id: partner.id }], amount: "10.00", currency: "USD", occurredAt: "2026-03-01T00:00:00Z" } }),
        /\$input\.externalId/,
      ],
      [
        "conversion metadata value",
        "integration",
        "mutation($input: RecordConversionInput!) { recordConversion(input: $input) { userErrors { code } } }",
        () => ({
          input: {
            externalId: "nul-meta",
            partners: [{ id: partner.id }],
            amount: "10.00",
            currency: "USD",
            occurredAt: "2026-03-01T00:00:00Z",
            metadata: { note: { deep: [NUL] } },
          },
        }),
        /\$input\.metadata\.note\.deep\.0/,
      ],
      [
        "conversion metadata key",
        "integration",
        "mutation($input: RecordConversionInput!) { recordConversion(input: $input) { userErrors { code } } }",
        () => ({ input: { externalId: "nul-key", partners: [{ id: partner.id }], amount: "10.00", currency: "USD", occurredAt: "2026-03-01T00:00:00Z", metadata: { [NUL]: 1 } } }),
        /\$input\.metadata/,
      ],
      [
        "refundId",
        "integration",
        "mutation($input: ReverseConversionInput!) { reverseConversion(input: $input) { userErrors { code } } }",
        () => ({ input: { conversionId: sale.conversionId, refundId: NUL } }),
        /\$input\.refundId/,
      ],
      [
        "a batch item",
        "integration",
        "mutation($input: RecordConversionsInput!) { recordConversions(input: $input) { userErrors { code } } }",
        () => ({
          input: {
            items: [
              { externalId: "fine", partners: [{ id: partner.id }], amount: "10.00", currency: "USD", occurredAt: "2026-03-01T00:00:00Z" },
              { externalId: NUL, partners: [{ id: partner.id }], amount: "10.00", currency: "USD", occurredAt: "2026-03-01T00:00:00Z" },
            ],
          },
        }),
        /\$input\.items\.1\.externalId/,
      ],
    ])("%s: BAD_USER_INPUT naming the path, nothing changed", async (_name, who, query, variables, path) => {
      const error = await refused({ query, variables: variables() }, who === "admin" ? acme.adminToken : integration);
      expect(error.message).toMatch(path);
      expect(error.message).toMatch(/NUL/);
    });

    it("in a string literal of the document", async () => {
      const error = await refused({ query: '{ partnerByExternalId(externalId: "a\\u0000b") { id } }' }, acme.adminToken);
      expect(error.message).toMatch(/^externalId contains a NUL/);
    });
  });

  describe("dates outside 1900–9999 or not strict ISO 8601", () => {
    it.each([
      [
        "recordConversion occurredAt",
        "integration",
        "mutation($input: RecordConversionInput!) { recordConversion(input: $input) { userErrors { code } } }",
        () => ({ input: { externalId: "year-0", partners: [{ id: partner.id }], amount: "10.00", currency: "USD", occurredAt: "0000-01-01T00:00:00Z" } }),
      ],
      [
        "reverseConversion occurredAt",
        "integration",
        "mutation($input: ReverseConversionInput!) { reverseConversion(input: $input) { userErrors { code } } }",
        () => ({ input: { conversionId: sale.conversionId, refundId: "year-0", occurredAt: "0000-01-01T00:00:00Z" } }),
      ],
      [
        "createPayout payableBefore",
        "admin",
        "mutation($input: CreatePayoutInput!) { createPayout(input: $input) { userErrors { code } } }",
        () => ({ input: { partnerId: partner.id, payableBefore: "0000-01-01T00:00:00Z" } }),
      ],
      ["payouts paidAfter", "admin", "query($after: DateTime) { payouts(filter: { paidAfter: $after }) { totalCount } }", () => ({ after: "0000-01-01T00:00:00Z" })],
      ["an offset pushing past 9999", "admin", "query($after: DateTime) { payouts(filter: { paidAfter: $after }) { totalCount } }", () => ({ after: "9999-12-31T23:00:00-05:00" })],
      ["a date-time without its offset", "admin", "query($after: DateTime) { payouts(filter: { paidAfter: $after }) { totalCount } }", () => ({ after: "2026-01-01T00:00:00" })],
      [
        "anchorDate of a payout schedule",
        "platform",
        "mutation($input: CreateProgramInput!) { createProgram(input: $input) { userErrors { code } } }",
        () => ({
          input: {
            name: "Year zero",
            currency: "USD",
            commissionRule: { type: "PERCENTAGE", percent: "10" },
            payoutSchedule: { frequency: "MONTHLY", dayOfMonth: 1, anchorDate: "0000-01-01" },
          },
        }),
      ],
    ])("%s: BAD_USER_INPUT, nothing changed", async (_name, who, query, variables) => {
      const token = who === "admin" ? acme.adminToken : who === "integration" ? integration : await t.token({ role: "platform" });
      const error = await refused({ query, variables: variables() }, token);
      expect(error.message).toMatch(/1900 to 9999/);
    });

    it("in a literal too", async () => {
      await refused({ query: '{ payouts(filter: { paidAfter: "0000-01-01T00:00:00Z" }) { totalCount } }' }, acme.adminToken);
    });
  });

  describe("amounts past what NUMERIC(19,4) holds once combined", () => {
    const Record = "mutation($input: RecordConversionInput!) { recordConversion(input: $input) { conversion { id } userErrors { code message } } }";
    const sold = (externalId: string, amount: string, extra: Record<string, string> = {}) => ({
      query: Record,
      variables: { input: { externalId, partners: [{ id: partner.id }], amount, currency: "USD", occurredAt: "2026-03-01T00:00:00Z", ...extra } },
    });

    it("amount × exchange rate: INVALID_AMOUNT, nothing written", async () => {
      const before = await ledger();
      const response = await t.raw(sold("overflow-rate", "999999999999999.00", { currency: "EUR", exchangeRate: "1000" }), integration);
      noLeak(response);
      expect(response.errors).toBeUndefined();
      expect(response.data).toEqual({ recordConversion: { conversion: null, userErrors: [{ code: "INVALID_AMOUNT", message: "the amount is more than the ledger can hold" }] } });
      expect(await ledger()).toBe(before);
    });

    it("a balance that would overflow: INVALID_AMOUNT for the sale that would push it over, nothing written", async () => {
      // 10% of $900 trillion is $90 trillion; the 12th such line passes $999 trillion.
      let refusedAt: number | undefined;
      for (let i = 1; i <= 12 && refusedAt === undefined; i += 1) {
        const before = await ledger();
        const response = await t.raw(sold(`overflow-balance-${i}`, "900000000000000.00"), integration);
        noLeak(response);
        expect(response.errors).toBeUndefined();
        const result = (response.data as { recordConversion: { conversion: unknown; userErrors: { code: string }[] } }).recordConversion;
        if (result.userErrors.length > 0) {
          expect(result.userErrors).toEqual([expect.objectContaining({ code: "INVALID_AMOUNT" })]);
          expect(await ledger()).toBe(before);
          refusedAt = i;
        }
      }
      expect(refusedAt).toBeDefined();
    });
  });

  it("refuses depth beyond the limit (5 in this test)", async () => {
    const deep = "{ partners { edges { node { commissionRuleOverride { tiers { upTo } } } } } }";
    const response = await t.raw({ query: deep }, acme.adminToken);
    noLeak(response);
    expect(response.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(response.errors?.[0]?.message).toMatch(/depth/i);
    const shallow = "{ partners { edges { node { commissionRuleOverride { type } } } } }";
    expect((await t.raw({ query: shallow }, acme.adminToken)).errors).toBeUndefined();
  });

  it("refuses a body that is not JSON", async () => {
    const response = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${acme.adminToken}` },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    const body = await response.json();
    noLeak(body);
  });

  it("refuses a query whose page sizes multiply past the cost limit", async () => {
    const fields = Array.from({ length: 2 }, (_, i) => `p${i}: partners(first: 100) { edges { node { id name email externalId status } } }`).join(" ");
    const response = await t.raw({ query: `{ ${fields} }` }, acme.adminToken);
    noLeak(response);
    expect(response.errors?.[0]?.extensions?.code).toBe("QUERY_TOO_COMPLEX");
    // The same shape with small pages is cheap enough.
    const small = await t.raw({ query: `{ ${fields.replaceAll("first: 100", "first: 5")} }` }, acme.adminToken);
    expect(small.errors).toBeUndefined();
  });
});
