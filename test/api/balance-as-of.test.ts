import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { recordSale } from "../helpers/ledger-docs.ts";
import { startTestApp, type TestApp } from "../helpers/test-app.ts";

/**
 * Partner.balanceAsOf over HTTP: the balance at an instant, read exactly as
 * Partner.balance is (the access matrix walks it for every role; this says
 * the cases plainly), and equal to the balance now for an instant after
 * the last change.
 */
const BalanceAsOfDoc = graphql(`
  query BalanceAsOfOf($id: ID!, $at: DateTime!) {
    node(id: $id) {
      ... on Partner {
        id
        balance { pending { amount } lifetimeEarned { amount } }
        balanceAsOf(at: $at) { at pending { amount currency } payable { amount } inPayouts { amount } paid { amount } lifetimeEarned { amount } }
      }
    }
  }
`);

describe("Partner.balanceAsOf (embedded PostgreSQL)", () => {
  let t: TestApp;
  let acme: ProgramFixture;
  let other: ProgramFixture;
  let own: Awaited<ReturnType<typeof createPartnerFixture>>;
  let sibling: Awaited<ReturnType<typeof createPartnerFixture>>;
  const later = "2099-01-01T00:00:00.000Z";
  const earlier = "2000-01-01T00:00:00.000Z";

  beforeAll(async () => {
    t = await startTestApp("pglite");
    acme = await createProgramFixture(t);
    other = await createProgramFixture(t, { name: "Other" });
    own = await createPartnerFixture(t, acme);
    sibling = await createPartnerFixture(t, acme);
    const writer = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    await recordSale(t, writer, own.id, { amount: "200.00" });
  }, 300_000);
  afterAll(() => t?.stop());

  it("answers the balance now for a later instant and nothing before anything happened", async () => {
    const now = await t.gql(BalanceAsOfDoc, { id: own.id, at: later }, acme.adminToken);
    expect(now.errors).toBeUndefined();
    const partner = now.data!.node as unknown as {
      balance: { pending: { amount: string }; lifetimeEarned: { amount: string } };
      balanceAsOf: { pending: { amount: string }; lifetimeEarned: { amount: string } };
    };
    expect(partner.balanceAsOf.lifetimeEarned.amount).toBe(partner.balance.lifetimeEarned.amount);
    expect(partner.balanceAsOf.pending.amount).toBe(partner.balance.pending.amount);
    expect(partner.balance.lifetimeEarned.amount).not.toBe("0.00");
    const before = await t.gql(BalanceAsOfDoc, { id: own.id, at: earlier }, acme.adminToken);
    expect((before.data!.node as unknown as { balanceAsOf: { lifetimeEarned: { amount: string } } }).balanceAsOf.lifetimeEarned.amount).toBe("0.00");
  });

  it("lets a partner read its own, and not another partner's or another program's", async () => {
    const mine = await t.gql(BalanceAsOfDoc, { id: own.id, at: later }, own.token);
    expect(mine.errors).toBeUndefined();
    expect((mine.data!.node as unknown as { balanceAsOf: unknown }).balanceAsOf).not.toBeNull();
    const siblings = await t.gql(BalanceAsOfDoc, { id: own.id, at: later }, sibling.token);
    expect(siblings.data?.node ?? null).toBeNull();
    const foreign = await t.gql(BalanceAsOfDoc, { id: own.id, at: later }, other.adminToken);
    expect(foreign.data?.node ?? null).toBeNull();
  });

  it("refuses a token that may read partners but not balances", async () => {
    const readsPartners = await acme.integrationToken(["PARTNERS_READ"]);
    const refused = await t.gql(BalanceAsOfDoc, { id: own.id, at: later }, readsPartners);
    // Refused on the field itself (the balance next to it is refused too), with no value.
    expect((refused.errors ?? []).filter((e) => (e.path ?? []).includes("balanceAsOf")).map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
    expect((refused.data?.node as unknown as { balanceAsOf?: unknown } | null)?.balanceAsOf ?? null).toBeNull();
  });
});
