import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import type { PayoutMethodInput } from "../../src/generated/gql/graphql.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { AddMethodDoc, SetBillingDoc } from "../helpers/payout-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const RemoveMethodDoc = graphql(`
  mutation DetailsRemoveMethod($input: RemovePayoutMethodInput!) {
    removePayoutMethod(input: $input) { payoutMethod { id type } userErrors { code message field } }
  }
`);
const SetDefaultMethodDoc = graphql(`
  mutation DetailsSetDefault($input: SetDefaultPayoutMethodInput!) {
    setDefaultPayoutMethod(input: $input) { payoutMethod { id isDefault } userErrors { code message field } }
  }
`);
const RevealTaxIdDoc = graphql(`
  mutation DetailsRevealTaxId($input: RevealTaxIdInput!) {
    revealTaxId(input: $input) { revealed { number } userErrors { code message field } }
  }
`);
const MethodsDoc = graphql(`
  query DetailsMethods($id: ID!) { partner(id: $id) { payoutMethods { id type isDefault label } billingProfile { maskedTaxId taxId } } }
`);
const DetailsAuditDoc = graphql(`
  query DetailsAudit($filter: AuditFilter) { auditEntries(filter: $filter, first: 20) { edges { node { action actorId before after reason } } } }
`);

/**
 * A partner's payout methods and billing details past adding them: removing
 * one (the default moves to the newest left), choosing the default (one at a
 * time), and an admin's audited reveal of a tax id. Each is refused to
 * whoever may not, without a change.
 */
describe.each(databaseTargets())("payment details on %s", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  let other: ProgramFixture;

  beforeAll(async () => {
    t = await startTestApp(target);
    acme = await createProgramFixture(t, { currency: "USD" });
    other = await createProgramFixture(t, { currency: "USD" });
  });
  afterAll(() => t?.stop());

  const methodsOf = async (partnerId: string) => dataOf(await t.gql(MethodsDoc, { id: partnerId }, acme.adminToken)).partner!.payoutMethods;
  const defaultOf = async (partnerId: string) => (await methodsOf(partnerId)).filter((m) => m.isDefault).map((m) => m.id);
  const add = async (partnerId: string, token: string, method: PayoutMethodInput) => {
    const added = dataOf(await t.gql(AddMethodDoc, { input: { partnerId, method } }, token)).addPayoutMethod;
    expect(added.userErrors).toEqual([]);
    return added.payoutMethod!;
  };

  it("makes one method the default at a time, for its own partner only", async () => {
    const p = await createPartnerFixture(t, acme);
    const q = await createPartnerFixture(t, acme);
    const paypal = await add(p.id, p.token, { type: "PAYPAL", email: "pat@pay.example" });
    const venmo = await add(p.id, p.token, { type: "VENMO", handle: "@pat-partner" });
    expect(await defaultOf(p.id)).toEqual([paypal.id]); // the first one added

    const moved = dataOf(await t.gql(SetDefaultMethodDoc, { input: { id: venmo.id } }, p.token)).setDefaultPayoutMethod;
    expect(moved).toEqual({ payoutMethod: { id: venmo.id, isDefault: true }, userErrors: [] });
    expect(await defaultOf(p.id)).toEqual([venmo.id]);
    // Finance may set it for the partner too; again: still exactly one.
    expect(dataOf(await t.gql(SetDefaultMethodDoc, { input: { id: paypal.id } }, acme.financeToken)).setDefaultPayoutMethod.userErrors).toEqual([]);
    expect(await defaultOf(p.id)).toEqual([paypal.id]);

    // Another partner, another program, a read-only role: no change.
    const asOther = dataOf(await t.gql(SetDefaultMethodDoc, { input: { id: venmo.id } }, q.token)).setDefaultPayoutMethod;
    expect(asOther.userErrors).toEqual([{ code: "NOT_FOUND", message: "no such payout method", field: ["input", "id"] }]);
    const elsewhere = await t.gql(SetDefaultMethodDoc, { input: { id: venmo.id } }, other.adminToken);
    expect(elsewhere.data?.setDefaultPayoutMethod?.userErrors?.[0]?.code ?? elsewhere.errors?.[0]?.extensions?.code).toMatch(/NOT_FOUND|FORBIDDEN/);
    expect((await t.gql(SetDefaultMethodDoc, { input: { id: venmo.id } }, acme.analystToken)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(await defaultOf(p.id)).toEqual([paypal.id]);

    const trail = dataOf(await t.gql(DetailsAuditDoc, { filter: { recordId: venmo.id, action: "payout_method.set_default" } }, acme.adminToken)).auditEntries.edges;
    expect(trail.map((e) => [e.node.actorId, e.node.before, e.node.after])).toEqual([["partner-user", { isDefault: false }, { isDefault: true }]]);
  });

  it("removes a method; removing the default moves it to the newest one left", async () => {
    const p = await createPartnerFixture(t, acme);
    const q = await createPartnerFixture(t, acme);
    const first = await add(p.id, p.token, { type: "PAYPAL", email: "first@pay.example" });
    const bank = await add(p.id, p.token, { type: "ACH", accountName: "Pat", routingNumber: "011000015", accountNumber: "123456789", accountType: "CHECKING" });
    const newest = await add(p.id, p.token, { type: "VENMO", handle: "@newest-one" });
    expect(await defaultOf(p.id)).toEqual([first.id]);

    // Not theirs to remove: the same answer as an unknown id, and the method stays.
    const stolen = dataOf(await t.gql(RemoveMethodDoc, { input: { id: bank.id } }, q.token)).removePayoutMethod;
    expect(stolen.userErrors).toEqual([{ code: "NOT_FOUND", message: "no such payout method", field: ["input", "id"] }]);
    expect((await t.gql(RemoveMethodDoc, { input: { id: bank.id } }, acme.analystToken)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(await methodsOf(p.id)).toHaveLength(3);

    const removed = dataOf(await t.gql(RemoveMethodDoc, { input: { id: first.id } }, p.token)).removePayoutMethod;
    expect(removed).toEqual({ payoutMethod: { id: first.id, type: "PAYPAL" }, userErrors: [] });
    expect((await methodsOf(p.id)).map((m) => m.id).sort()).toEqual([bank.id, newest.id].sort());
    expect(await defaultOf(p.id)).toEqual([newest.id]);

    // Removing one that is not the default leaves the default where it is.
    expect(dataOf(await t.gql(RemoveMethodDoc, { input: { id: bank.id } }, acme.financeToken)).removePayoutMethod.userErrors).toEqual([]);
    expect(await defaultOf(p.id)).toEqual([newest.id]);
    // Removing it twice: gone is gone.
    expect(dataOf(await t.gql(RemoveMethodDoc, { input: { id: bank.id } }, acme.adminToken)).removePayoutMethod.userErrors.map((e) => e.code)).toEqual(["NOT_FOUND"]);
    // The last one goes too; the partner has none and no default.
    expect(dataOf(await t.gql(RemoveMethodDoc, { input: { id: newest.id } }, p.token)).removePayoutMethod.userErrors).toEqual([]);
    expect(await methodsOf(p.id)).toEqual([]);

    // The trail keeps the removed bank account masked, never its number.
    const trail = dataOf(await t.gql(DetailsAuditDoc, { filter: { recordId: bank.id, action: "payout_method.remove" } }, acme.adminToken)).auditEntries.edges;
    expect(trail).toHaveLength(1);
    expect(trail[0]!.node.actorId).toBe("finance@acme.test");
    expect(JSON.stringify(trail[0]!.node.before)).toContain("•••• 6789");
    expect(JSON.stringify(trail[0]!.node.before)).not.toContain("123456789");
  });

  it("reveals a tax id to an admin only, with the reason in the audit trail", async () => {
    const p = await createPartnerFixture(t, acme);
    const none = dataOf(await t.gql(RevealTaxIdDoc, { input: { partnerId: p.id } }, acme.adminToken)).revealTaxId;
    expect(none).toEqual({ revealed: null, userErrors: [{ code: "NOT_FOUND", message: "no billing details for this partner", field: ["input", "partnerId"] }] });

    const profile = { entityType: "INDIVIDUAL" as const, legalName: "Pat Partner", country: "US" };
    expect(dataOf(await t.gql(SetBillingDoc, { input: { partnerId: p.id, profile } }, p.token)).setBillingProfile.userErrors).toEqual([]);
    const noTaxId = dataOf(await t.gql(RevealTaxIdDoc, { input: { partnerId: p.id } }, acme.adminToken)).revealTaxId;
    expect(noTaxId.userErrors).toEqual([{ code: "INVALID_INPUT", message: "no tax id on file", field: ["input", "partnerId"] }]);

    expect(
      dataOf(await t.gql(SetBillingDoc, { input: { partnerId: p.id, profile: { ...profile, taxForm: "W9", taxId: "123-45-6789" } } }, p.token)).setBillingProfile.userErrors,
    ).toEqual([]);
    // Operators see the mask; the full number only through the reveal.
    expect(dataOf(await t.gql(MethodsDoc, { id: p.id }, acme.adminToken)).partner!.billingProfile).toEqual({ maskedTaxId: "•••• 6789", taxId: null });

    for (const token of [acme.financeToken, acme.analystToken, p.token, other.adminToken]) {
      const refused = await t.gql(RevealTaxIdDoc, { input: { partnerId: p.id, reason: "curious" } }, token);
      expect(refused.data?.revealTaxId?.revealed ?? null).toBeNull();
      expect(refused.errors?.[0]?.extensions?.code ?? refused.data?.revealTaxId?.userErrors[0]?.code).toMatch(/^(FORBIDDEN|NOT_FOUND)$/);
    }
    const auditOf = async () =>
      dataOf(await t.gql(DetailsAuditDoc, { filter: { entityType: "BillingProfile", action: "billing_profile.reveal_tax_id" } }, acme.adminToken))
        .auditEntries.edges.map((e) => e.node)
        .filter((n) => (n.after as { partnerId?: string }).partnerId === p.rawId);
    expect(await auditOf()).toEqual([]); // nothing refused was revealed or recorded

    const revealed = dataOf(await t.gql(RevealTaxIdDoc, { input: { partnerId: p.id, reason: "1099 filing" } }, acme.adminToken)).revealTaxId;
    expect(revealed).toEqual({ revealed: { number: "123456789" }, userErrors: [] });
    expect(await auditOf()).toEqual([{ action: "billing_profile.reveal_tax_id", actorId: "admin@acme.test", before: null, after: { partnerId: p.rawId }, reason: "1099 filing" }]);
  });
});
