import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { databaseTargets } from "../helpers/databases.ts";
import type { CurrencyCode } from "../../src/domain/currency.ts";
import { dec, formatAmount } from "../../src/domain/money.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { recordSale } from "../helpers/ledger-docs.ts";
import { dataOf, globalId, rawId, startTestApp, type TestApp } from "../helpers/test-app.ts";

const PartnersDoc = graphql(`
  query Partners($first: Int, $after: String, $last: Int, $filter: PartnerFilter, $sort: PartnerSort) {
    partners(first: $first, after: $after, last: $last, filter: $filter, sort: $sort) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id name email externalId status } }
    }
  }
`);

const PartnersCountDoc = graphql(`
  query PartnersCount($first: Int) {
    partners(first: $first) { totalCount }
  }
`);

const PartnerDoc = graphql(`
  query Partner($id: ID!) {
    partner(id: $id) { id name email }
  }
`);

const PartnerByExternalIdDoc = graphql(`
  query PartnerByExternalId($externalId: String!) {
    partnerByExternalId(externalId: $externalId) { id name }
  }
`);

const NodeDoc = graphql(`
  query Node($id: ID!) {
    node(id: $id) { id ... on Partner { name } ... on Program { name } }
  }
`);

const UpdatePartnerDoc = graphql(`
  mutation UpdatePartner($input: UpdatePartnerInput!) {
    updatePartner(input: $input) {
      partner { id name email externalId status country commissionRuleOverride { type percent } }
      userErrors { code message field }
    }
  }
`);

const CreatePartnerDoc = graphql(`
  mutation CreatePartnerForTest($input: CreatePartnerInput!) {
    createPartner(input: $input) {
      partner { id name email externalId }
      userErrors { code message field }
    }
  }
`);

describe.each(databaseTargets())("partners on %s", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  let other: ProgramFixture;

  beforeAll(async () => {
    t = await startTestApp(target);
    acme = await createProgramFixture(t);
    other = await createProgramFixture(t, { name: "Other Brand", currency: "EUR" });
  });
  afterAll(() => t?.stop());

  it("creates a partner with the integrator's key and a lower-cased email, unique in the program", async () => {
    const created = dataOf(await t.gql(CreatePartnerDoc, { input: { name: " Jane Creator ", email: "Jane@Example.COM", externalId: "crm-1" } }, acme.adminToken)).createPartner;
    expect(created.userErrors).toEqual([]);
    expect(created.partner).toMatchObject({ name: "Jane Creator", email: "jane@example.com", externalId: "crm-1" });

    const dupEmail = dataOf(await t.gql(CreatePartnerDoc, { input: { name: "X", email: "JANE@example.com" } }, acme.adminToken)).createPartner;
    expect(dupEmail.partner).toBeNull();
    expect(dupEmail.userErrors).toEqual([expect.objectContaining({ code: "TAKEN", field: ["input", "email"] })]);

    const dupKey = dataOf(await t.gql(CreatePartnerDoc, { input: { name: "X", externalId: "crm-1" } }, acme.adminToken)).createPartner;
    expect(dupKey.userErrors).toEqual([expect.objectContaining({ code: "TAKEN", field: ["input", "externalId"] })]);

    // The same key in another program is fine: uniqueness is per program.
    const elsewhere = dataOf(await t.gql(CreatePartnerDoc, { input: { name: "Jane", email: "jane@example.com", externalId: "crm-1" } }, other.adminToken)).createPartner;
    expect(elsewhere.userErrors).toEqual([]);
  });

  it("refuses bad fields with typed errors and writes nothing", async () => {
    const before = dataOf(await t.gql(PartnersCountDoc, {}, acme.adminToken)).partners.totalCount;
    const result = dataOf(
      await t.gql(CreatePartnerDoc, { input: { name: "", email: "not-an-email", country: "XX", commissionRuleOverride: { type: "PERCENTAGE", percent: "120" } } }, acme.adminToken),
    ).createPartner;
    expect(result.partner).toBeNull();
    expect(result.userErrors.map((e) => [e.code, e.field?.join(".")])).toEqual(
      expect.arrayContaining([
        ["INVALID_INPUT", "input.name"],
        ["INVALID_EMAIL", "input.email"],
        ["INVALID_INPUT", "input.country"],
        ["INVALID_COMMISSION_RULE", "input.commissionRuleOverride.percent"],
      ]),
    );
    expect(dataOf(await t.gql(PartnersCountDoc, {}, acme.adminToken)).partners.totalCount).toBe(before);
  });

  it("pages with cursors, filters, sorts and counts", async () => {
    const names = ["Zed", "Amy", "Bob", "Cat", "Dan"];
    for (const name of names) await createPartnerFixture(t, acme, { name: `Sort ${name}` });
    const first = dataOf(await t.gql(PartnersDoc, { first: 2, filter: { search: "sort " }, sort: { field: "NAME", direction: "ASC" } }, acme.adminToken)).partners;
    expect(first.totalCount).toBe(5);
    expect(first.edges.map((e) => e.node.name)).toEqual(["Sort Amy", "Sort Bob"]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = dataOf(
      await t.gql(PartnersDoc, { first: 10, after: first.pageInfo.endCursor, filter: { search: "SORT" }, sort: { field: "NAME", direction: "ASC" } }, acme.adminToken),
    ).partners;
    expect(second.edges.map((e) => e.node.name)).toEqual(["Sort Cat", "Sort Dan", "Sort Zed"]);
    expect(second.pageInfo.hasNextPage).toBe(false);

    const desc = dataOf(await t.gql(PartnersDoc, { first: 1, filter: { search: "sort" }, sort: { field: "NAME", direction: "DESC" } }, acme.adminToken)).partners;
    expect(desc.edges[0]?.node.name).toBe("Sort Zed");

    const suspendedId = first.edges[0]!.node.id;
    dataOf(await t.gql(UpdatePartnerDoc, { input: { id: suspendedId, status: "SUSPENDED" } }, acme.adminToken));
    const suspended = dataOf(await t.gql(PartnersDoc, { filter: { status: ["SUSPENDED"] } }, acme.adminToken)).partners;
    expect(suspended.edges.map((e) => e.node.id)).toEqual([suspendedId]);
    expect(suspended.totalCount).toBe(1);
  });

  it.each([0, 101, -1])("refuses page size %i with an error, also when only totalCount is asked", async (first) => {
    const list = await t.gql(PartnersDoc, { first }, acme.adminToken);
    expect(list.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const count = await t.gql(PartnersCountDoc, { first }, acme.adminToken);
    expect(count.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(count.data?.partners ?? null).toBeNull();
  });

  it("finds partners by id, by externalId and through node, within the program only", async () => {
    const p = await createPartnerFixture(t, acme, { externalId: "ext-find" });
    expect(dataOf(await t.gql(PartnerDoc, { id: p.id }, acme.analystToken)).partner?.id).toBe(p.id);
    expect(dataOf(await t.gql(PartnerByExternalIdDoc, { externalId: "ext-find" }, acme.financeToken)).partnerByExternalId?.id).toBe(p.id);
    expect(dataOf(await t.gql(NodeDoc, { id: p.id }, acme.adminToken)).node).toMatchObject({ id: p.id, name: p.name });

    // Another program's operator: not found, through every path.
    expect(dataOf(await t.gql(PartnerDoc, { id: p.id }, other.adminToken)).partner).toBeNull();
    expect(dataOf(await t.gql(PartnerByExternalIdDoc, { externalId: "ext-find" }, other.adminToken)).partnerByExternalId).toBeNull();
    expect(dataOf(await t.gql(NodeDoc, { id: p.id }, other.adminToken)).node).toBeNull();
    expect(dataOf(await t.gql(NodeDoc, { id: acme.id }, other.adminToken)).node).toBeNull();
    const list = dataOf(await t.gql(PartnersDoc, { first: 100 }, other.adminToken)).partners;
    expect(list.edges.map((e) => e.node.id)).not.toContain(p.id);

    // Updating another program's partner: NOT_FOUND, nothing changed.
    const update = dataOf(await t.gql(UpdatePartnerDoc, { input: { id: p.id, name: "Hijacked" } }, other.adminToken)).updatePartner;
    expect(update.userErrors).toEqual([expect.objectContaining({ code: "NOT_FOUND" })]);
    expect(dataOf(await t.gql(PartnerDoc, { id: p.id }, acme.adminToken)).partner?.name).toBe(p.name);
  });

  it("lets a partner read itself and nothing of another partner", async () => {
    const me = await createPartnerFixture(t, acme);
    const them = await createPartnerFixture(t, acme);
    expect(dataOf(await t.gql(PartnerDoc, { id: me.id }, me.token)).partner?.id).toBe(me.id);

    const forbidden = await t.gql(PartnerDoc, { id: them.id }, me.token);
    expect(forbidden.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    // The same answer for an id that does not exist: nothing to probe.
    const ghost = await t.gql(PartnerDoc, { id: globalId("Partner", "0190d4a0-0000-7000-8000-000000000000") }, me.token);
    expect(ghost.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

    expect(dataOf(await t.gql(NodeDoc, { id: them.id }, me.token)).node).toBeNull();
    expect((await t.gql(PartnersDoc, {}, me.token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await t.gql(PartnerByExternalIdDoc, { externalId: "x" }, me.token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const write = await t.gql(UpdatePartnerDoc, { input: { id: me.id, name: "Me" } }, me.token);
    expect(write.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("updates fields, sets and clears a commission override, and audits nothing for other programs", async () => {
    const p = await createPartnerFixture(t, acme);
    const set = dataOf(
      await t.gql(UpdatePartnerDoc, { input: { id: p.id, country: "de", commissionRuleOverride: { type: "PERCENTAGE", percent: "12.5" } } }, acme.adminToken),
    ).updatePartner;
    expect(set.userErrors).toEqual([]);
    expect(set.partner).toMatchObject({ country: "DE", commissionRuleOverride: { type: "PERCENTAGE", percent: "12.5" } });
    const cleared = dataOf(await t.gql(UpdatePartnerDoc, { input: { id: p.id, commissionRuleOverride: null } }, acme.adminToken)).updatePartner;
    expect(cleared.partner?.commissionRuleOverride).toBeNull();
  });

  it("lets integrations read and write partners only with the scopes for it", async () => {
    const reader = await acme.integrationToken(["PARTNERS_READ"]);
    const writer = await acme.integrationToken(["PARTNERS_WRITE"]);
    expect(dataOf(await t.gql(PartnersCountDoc, {}, reader)).partners.totalCount).toBeGreaterThan(0);
    expect((await t.gql(CreatePartnerDoc, { input: { name: "nope" } }, reader)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(dataOf(await t.gql(CreatePartnerDoc, { input: { name: "via integration", externalId: "int-1" } }, writer)).createPartner.userErrors).toEqual([]);
    expect((await t.gql(PartnersCountDoc, {}, writer)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("answers the dashboard's page of each partner's lines as its rows hold them: ids, amounts to the currency's places, statuses", async () => {
    const integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    const partners = [await createPartnerFixture(t, acme), await createPartnerFixture(t, acme)];
    // Sales whose commissions end in zeros, in cents and below a cent before rounding.
    for (const [i, partner] of partners.entries()) for (const amount of ["100.00", "33.33", "0.07", `${1234 + i}.50`]) await recordSale(t, integration, partner.id, { amount });
    // The dashboard's query, as the operator console sends it (Partner.commissions reads each page in one statement).
    const response = await t.raw(
      { query: "{ partners(first: 20) { edges { node { id name commissions(first: 10) { edges { node { id amount { amount currency } status } } } } } } }" },
      acme.adminToken,
    );
    const answered = (
      response.data as {
        partners: { edges: { node: { id: string; commissions: { edges: { node: { id: string; amount: { amount: string; currency: string }; status: string } }[] } } }[] };
      }
    ).partners.edges;
    const rows = await t.app.db.prisma.commission.findMany({ where: { partnerId: { in: partners.map((p) => rawId(p.id)) } }, orderBy: { id: "desc" } });
    for (const partner of partners) {
      const lines = answered.find((edge) => edge.node.id === partner.id)!.node.commissions.edges.map((edge) => edge.node);
      const expected = rows
        .filter((row) => row.partnerId === rawId(partner.id))
        .map((row) => ({
          id: globalId("Commission", row.id),
          amount: { amount: formatAmount(dec(row.amount), row.currency as CurrencyCode), currency: row.currency },
          status: row.status,
        }));
      expect(expected).toHaveLength(4);
      expect(lines).toEqual(expected);
    }
  });

  it("lets analysts read but not write", async () => {
    const write = await t.gql(CreatePartnerDoc, { input: { name: "nope" } }, acme.analystToken);
    expect(write.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(write.data?.createPartner ?? null).toBeNull();
    expect(rawId(acme.id)).toBe(acme.rawId);
  });
});
