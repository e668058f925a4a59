import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { balanceOf, expectReconciled, RecordConversionDoc, RecordConversionsDoc, recordSale } from "../helpers/ledger-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const ConversionsDoc = graphql(`
  query Conversions($filter: ConversionFilter, $first: Int) {
    conversions(filter: $filter, first: $first) {
      totalCount
      edges { node { id externalId metadata commissions { id partner { id } amount { amount } } } }
    }
  }
`);

const CommissionsCountDoc = graphql(`query CommissionsCount { commissions { totalCount } }`);

describe.each(databaseTargets())("recording conversions on %s", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  let other: ProgramFixture;
  let partner: Awaited<ReturnType<typeof createPartnerFixture>>;
  let second: Awaited<ReturnType<typeof createPartnerFixture>>;
  let integration: string;

  beforeAll(async () => {
    t = await startTestApp(target);
    acme = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "12.5" }, holdPeriodDays: 30 });
    other = await createProgramFixture(t, { currency: "USD" });
    partner = await createPartnerFixture(t, acme, { externalId: "crm-p1", email: "p1@example.com" });
    second = await createPartnerFixture(t, acme, { externalId: "crm-p2" });
    // PARTNERS_READ: naming partners by externalId or email is a lookup of partners.
    integration = await acme.integrationToken(["CONVERSIONS_WRITE", "CONVERSIONS_READ", "PARTNERS_READ"]);
  });
  afterAll(() => t?.stop());

  const input = (overrides: Record<string, unknown> = {}) => ({
    externalId: `order-${Math.random().toString(36).slice(2)}`,
    partners: [{ id: partner.id }],
    amount: "80.04",
    currency: "USD",
    occurredAt: "2026-03-01T10:00:00.000Z",
    ...overrides,
  });

  it("accrues a commission by the program's rule, rounded once, held for the hold period", async () => {
    const result = dataOf(await t.gql(RecordConversionDoc, { input: input({ externalId: "order-1" }) }, integration)).recordConversion;
    expect(result.userErrors).toEqual([]);
    expect(result.created).toBe(true);
    // 12.5% of $80.04 = 10.005 → $10.01 (ROUND_HALF_UP)
    expect(result.conversion?.commissions).toEqual([
      expect.objectContaining({ kind: "CONVERSION", status: "PENDING", amount: { amount: "10.01", currency: "USD" }, payableAt: "2026-03-31T10:00:00.000Z" }),
    ]);
    expect(await balanceOf(t, acme.adminToken, partner.id)).toMatchObject({ pending: "10.01", payable: "0.00", lifetimeEarned: "10.01" });
  });

  it("returns the first result for a retry with the same content, and refuses other content under the same id", async () => {
    const first = dataOf(await t.gql(RecordConversionDoc, { input: input({ externalId: "order-2", metadata: { b: 1, a: [1, 2] } }) }, integration)).recordConversion;
    // Naming the partner another way and reordering metadata keys is the same content.
    const retry = dataOf(
      await t.gql(RecordConversionDoc, { input: input({ externalId: "order-2", partners: [{ email: "P1@example.com" }], metadata: { a: [1, 2], b: 1 } }) }, integration),
    ).recordConversion;
    expect(retry.userErrors).toEqual([]);
    expect(retry.created).toBe(false);
    expect(retry.conversion?.id).toBe(first.conversion?.id);
    expect(retry.conversion?.commissions.map((c) => c.id)).toEqual(first.conversion?.commissions.map((c) => c.id));

    const conflict = dataOf(await t.gql(RecordConversionDoc, { input: input({ externalId: "order-2", amount: "80.05" }) }, integration)).recordConversion;
    expect(conflict.conversion).toBeNull();
    expect(conflict.userErrors).toEqual([expect.objectContaining({ code: "IDEMPOTENCY_CONFLICT", field: ["input", "externalId"] })]);
  });

  it("pays first and last referrer both, finding partners by id, externalId or email", async () => {
    const result = dataOf(
      await t.gql(RecordConversionDoc, { input: input({ externalId: "order-3", amount: "200.00", partners: [{ externalId: "crm-p1" }, { externalId: "crm-p2" }] }) }, integration),
    ).recordConversion;
    expect(result.conversion?.commissions.map((c) => [c.partnerId, c.amount.amount]).sort()).toEqual(
      [
        [partner.id, "25.00"],
        [second.id, "25.00"],
      ].sort(),
    );
  });

  it("converts a foreign sale with its rate, keeping the original, computing from the unrounded amount", async () => {
    const missing = dataOf(await t.gql(RecordConversionDoc, { input: input({ currency: "EUR", amount: "10.00" }) }, integration)).recordConversion;
    expect(missing.userErrors).toEqual([expect.objectContaining({ code: "EXCHANGE_RATE_REQUIRED", field: ["input", "exchangeRate"] })]);
    // €33.33 at 1.08375 = $36.1213875; 12.5% = 4.51517… → $4.52; the sale shows as $36.12.
    const result = dataOf(
      await t.gql(RecordConversionDoc, { input: input({ externalId: "order-eur", currency: "EUR", amount: "33.33", exchangeRate: "1.08375" }) }, integration),
    ).recordConversion;
    expect(result.conversion).toMatchObject({
      amount: { amount: "33.33", currency: "EUR" },
      exchangeRate: "1.08375",
      programAmount: { amount: "36.12", currency: "USD" },
      commissions: [expect.objectContaining({ amount: { amount: "4.52", currency: "USD" } })],
    });
  });

  it("answers a new sale's columns from what it wrote, as a read of the stored sale answers them", async () => {
    // The payload of a new sale is not read back when only its own columns are asked for.
    const columns = "id externalId amount { amount currency } exchangeRate reversedAmount { amount currency } occurredAt createdAt metadata";
    const written = await t.raw(
      {
        query: `mutation Record($input: RecordConversionInput!) { recordConversion(input: $input) { created conversion { ${columns} } userErrors { code } } }`,
        variables: { input: input({ externalId: "order-columns", currency: "EUR", amount: "33.30", exchangeRate: "1.0837500", metadata: { z: [1, { b: null }], a: "x" } }) },
      },
      integration,
    );
    const payload = (written.data as { recordConversion: { created: boolean; conversion: { id: string } } }).recordConversion;
    expect(payload.created).toBe(true);
    const read = await t.raw({ query: `query Read($id: ID!) { conversion(id: $id) { ${columns} } }`, variables: { id: payload.conversion.id } }, integration);
    expect(read.errors).toBeUndefined();
    expect(payload.conversion).toEqual((read.data as { conversion: unknown }).conversion);
    expect(payload.conversion).toMatchObject({ amount: { amount: "33.30", currency: "EUR" }, exchangeRate: "1.08375", metadata: { z: [1, { b: null }], a: "x" } });
  });

  it("counts the program's conversions from the count kept as they are recorded, and filtered lists by their rows", async () => {
    const counter = await createPartnerFixture(t, acme);
    const before = dataOf(await t.gql(ConversionsDoc, { first: 1 }, acme.adminToken)).conversions.totalCount;
    const batch = dataOf(await t.gql(RecordConversionsDoc, { input: { items: [input(), input(), input({ partners: [{ id: counter.id }] })] } }, integration)).recordConversions;
    expect(batch.userErrors).toEqual([]);
    // A retry adds nothing to the count.
    await t.gql(RecordConversionDoc, { input: input({ externalId: "order-1" }) }, integration);
    const all = dataOf(await t.gql(ConversionsDoc, { first: 1 }, acme.adminToken)).conversions.totalCount;
    expect(all).toBe(before + 3);
    const rows = await t.raw(
      { query: "query { conversions(first: 1, filter: { reversed: false }) { totalCount } reversed: conversions(first: 1, filter: { reversed: true }) { totalCount } }" },
      acme.adminToken,
    );
    const counted = rows.data as { conversions: { totalCount: number }; reversed: { totalCount: number } };
    expect(counted.conversions.totalCount + counted.reversed.totalCount).toBe(all);
    // A partner's count is of its own conversions.
    expect(dataOf(await t.gql(ConversionsDoc, { first: 1 }, counter.token)).conversions.totalCount).toBe(1);
  });

  it("records a batch all or nothing, naming the failing item", async () => {
    const before = dataOf(await t.gql(CommissionsCountDoc, {}, acme.adminToken)).commissions.totalCount;
    const bad = dataOf(
      await t.gql(
        RecordConversionsDoc,
        { input: { items: [input({ externalId: "b-1" }), input({ externalId: "b-2", amount: "10.001" }), input({ externalId: "b-3", partners: [{ externalId: "nobody" }] })] } },
        integration,
      ),
    ).recordConversions;
    expect(bad.conversions).toEqual([]);
    expect(bad.userErrors).toEqual([
      expect.objectContaining({ code: "NOT_FOUND", field: ["input", "items", "2", "partners", "0"] }),
      expect.objectContaining({ code: "INVALID_AMOUNT", field: ["input", "items", "1", "amount"] }),
    ]);
    expect(dataOf(await t.gql(CommissionsCountDoc, {}, acme.adminToken)).commissions.totalCount).toBe(before);

    const good = dataOf(
      await t.gql(RecordConversionsDoc, { input: { items: [input({ externalId: "b-1" }), input({ externalId: "b-2" }), input({ externalId: "order-1" })] } }, integration),
    ).recordConversions;
    expect(good.userErrors).toEqual([]);
    expect(good.createdCount).toBe(2); // order-1 was recorded before, with the same content
    expect(good.conversions.map((c) => c.externalId)).toEqual(["b-1", "b-2", "order-1"]);
  });

  it("refuses metadata nested deeper than 16 levels (2,500 fit in 16 KB and would overflow the stack)", async () => {
    const deep = JSON.parse(`${'{"a":'.repeat(2_500)}1${"}".repeat(2_500)}`) as Record<string, unknown>;
    const response = await t.gql(RecordConversionDoc, { input: input({ externalId: "deep-metadata", metadata: deep }) }, integration);
    expect(response.errors).toBeUndefined();
    expect(dataOf(response).recordConversion.userErrors).toEqual([expect.objectContaining({ code: "INVALID_INPUT", field: ["input", "metadata"] })]);
  });

  it("refuses a batch over 500 items", async () => {
    const items = Array.from({ length: 501 }, (_, i) => input({ externalId: `big-${i}` }));
    const result = dataOf(await t.gql(RecordConversionsDoc, { input: { items } }, integration)).recordConversions;
    expect(result.userErrors).toEqual([expect.objectContaining({ code: "TOO_MANY_ITEMS" })]);
  });

  it.each([
    [{ amount: "-5.00" }, "INVALID_AMOUNT", "amount"],
    [{ amount: "0" }, "INVALID_AMOUNT", "amount"],
    [{ amount: "NaN" }, "INVALID_AMOUNT", "amount"],
    [{ amount: "1e2" }, "INVALID_AMOUNT", "amount"],
    [{ amount: "10.123" }, "INVALID_AMOUNT", "amount"],
    [{ currency: "JPY", amount: "10.5", exchangeRate: "0.0067" }, "INVALID_AMOUNT", "amount"],
    [{ currency: "XYZ" }, "INVALID_CURRENCY", "currency"],
    [{ currency: "EUR", exchangeRate: "-1" }, "INVALID_AMOUNT", "exchangeRate"],
    [{ exchangeRate: "1.1" }, "INVALID_INPUT", "exchangeRate"],
    [{ externalId: "" }, "INVALID_INPUT", "externalId"],
    [{ partners: [] }, "INVALID_INPUT", "partners"],
    [{ partners: [{ externalId: "crm-p1", email: "p1@example.com" }] }, "INVALID_INPUT", "partners.0"],
    [{ occurredAt: "2027-01-01T00:00:00.000Z" }, "INVALID_INPUT", "occurredAt"],
    [{ metadata: { big: "x".repeat(17_000) } }, "INVALID_INPUT", "metadata"],
  ])("refuses %j with %s and writes nothing", async (overrides, code, field) => {
    const before = dataOf(await t.gql(CommissionsCountDoc, {}, acme.adminToken)).commissions.totalCount;
    const result = dataOf(await t.gql(RecordConversionDoc, { input: input(overrides) }, integration)).recordConversion;
    expect(result.conversion).toBeNull();
    expect(result.userErrors.map((e) => [e.code, e.field?.join(".")])).toContainEqual([code, `input.${field}`]);
    expect(dataOf(await t.gql(CommissionsCountDoc, {}, acme.adminToken)).commissions.totalCount).toBe(before);
  });

  it("refuses missing fields and numbers for amounts at the GraphQL layer", async () => {
    const missing = await t.raw(
      { query: 'mutation { recordConversion(input: { externalId: "x", partners: [], currency: "USD", occurredAt: "2026-03-01T00:00:00Z" }) { userErrors { code } } }' },
      integration,
    );
    expect(missing.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const number = await t.raw(
      { query: "mutation($i: RecordConversionInput!) { recordConversion(input: $i) { userErrors { code } } }", variables: { i: { ...input(), amount: 10.5 } } },
      integration,
    );
    expect(number.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("treats a partner of another program as not found", async () => {
    const stranger = await createPartnerFixture(t, other, { externalId: "their-partner" });
    const byId = dataOf(await t.gql(RecordConversionDoc, { input: input({ partners: [{ id: stranger.id }] }) }, integration)).recordConversion;
    expect(byId.userErrors).toEqual([expect.objectContaining({ code: "NOT_FOUND", field: ["input", "partners", "0"] })]);
    const byKey = dataOf(await t.gql(RecordConversionDoc, { input: input({ partners: [{ externalId: "their-partner" }] }) }, integration)).recordConversion;
    expect(byKey.userErrors[0]?.code).toBe("NOT_FOUND");
  });

  it("accrues nothing for a suspended partner", async () => {
    const suspended = await createPartnerFixture(t, acme);
    await t.gql(
      graphql(`mutation Suspend($input: UpdatePartnerInput!) { updatePartner(input: $input) { userErrors { code } } }`),
      { input: { id: suspended.id, status: "SUSPENDED" } },
      acme.adminToken,
    );
    const result = dataOf(await t.gql(RecordConversionDoc, { input: input({ partners: [{ id: suspended.id }] }) }, integration)).recordConversion;
    expect(result.userErrors).toEqual([expect.objectContaining({ code: "PARTNER_INACTIVE" })]);
  });

  it("shows a partner only its own conversions and lines, without the integrator's metadata", async () => {
    const own = dataOf(await t.gql(ConversionsDoc, {}, partner.token)).conversions;
    expect(own.totalCount).toBeGreaterThan(0);
    for (const edge of own.edges) {
      expect(edge.node.metadata).toBeNull();
      expect(edge.node.commissions.every((c) => c.partner.id === partner.id)).toBe(true);
    }
    const shared = own.edges.find((e) => e.node.externalId === "order-3");
    expect(shared?.node.commissions).toHaveLength(1); // the other referrer's line is not shown
    const theirs = await t.gql(ConversionsDoc, { filter: { partnerId: second.id } }, partner.token);
    expect(theirs.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const operator = dataOf(await t.gql(ConversionsDoc, { filter: { partnerId: second.id } }, acme.analystToken)).conversions;
    expect(operator.edges.map((e) => e.node.externalId)).toEqual(["order-3"]);
    const withMeta = dataOf(await t.gql(ConversionsDoc, { first: 100 }, acme.analystToken)).conversions.edges.find((e) => e.node.externalId === "order-2");
    expect(withMeta?.node.metadata).toEqual({ b: 1, a: [1, 2] });
  });

  it("keeps conversions from other programs and from tokens without the scope", async () => {
    expect(dataOf(await t.gql(ConversionsDoc, {}, other.adminToken)).conversions.totalCount).toBe(0);
    const writerOnly = await acme.integrationToken(["PARTNERS_READ"]);
    expect((await t.gql(RecordConversionDoc, { input: input() }, writerOnly)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await t.gql(RecordConversionDoc, { input: input() }, acme.financeToken)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await t.gql(RecordConversionDoc, { input: input() }, partner.token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    await expectReconciled(t, acme.adminToken);
  });

  it("fixes the program's currency once money exists", async () => {
    const locked = dataOf(
      await t.gql(
        graphql(`mutation LockedCurrency($input: UpdateProgramSettingsInput!) { updateProgramSettings(input: $input) { userErrors { code field } } }`),
        { input: { currency: "EUR" } },
        acme.adminToken,
      ),
    ).updateProgramSettings;
    expect(locked.userErrors).toEqual([{ code: "CURRENCY_LOCKED", field: ["input", "currency"] }]);
  });

  it("records with the helper too", async () => {
    const sale = await recordSale(t, integration, partner.id, { occurredAt: "2026-03-02T00:00:00.000Z" });
    expect(sale.amount).toBe("12.50");
  });
});
