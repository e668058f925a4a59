import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { recordSale, ReviewDocs } from "../helpers/ledger-docs.ts";
import { ApprovePayoutsDoc, CreatePayoutDoc, makePayable } from "../helpers/payout-docs.ts";
import { dataOf, globalId, rawId, startTestApp, type TestApp } from "../helpers/test-app.ts";

const AddLinesDoc = graphql(`
  mutation AddLines($input: AddPayoutLinesInput!) {
    addPayoutLines(input: $input) { payout { id status amount { amount } lineCount lines { commission { id } } } userErrors { code message field } }
  }
`);
const RemoveLinesAgainDoc = graphql(`
  mutation RemoveLinesAgain($input: RemovePayoutLinesInput!) {
    removePayoutLines(input: $input) { payout { id amount { amount } lineCount } userErrors { code message field } }
  }
`);
const SettleBalanceDoc = graphql(`
  query SettleBalance($id: ID!) { node(id: $id) { ... on Partner { balance { payable { amount } inPayouts { amount } } } } }
`);

/**
 * Settling a chosen amount (createPayout's upTo: whole lines, oldest first,
 * never above it) and editing a draft both ways (addPayoutLines beside
 * removePayoutLines), over HTTP against the real database.
 */
describe.each(databaseTargets())("settling a chosen amount and adding lines to a draft on %s", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  let other: ProgramFixture;
  let integration: string;

  const balance = async (partnerId: string) => {
    const node = dataOf(await t.gql(SettleBalanceDoc, { id: partnerId }, acme.adminToken)).node;
    const b = node && "balance" in node ? node.balance : null;
    return { payable: b?.payable.amount, inPayouts: b?.inPayouts.amount };
  };
  /** An approved sale earning 10% on `occurredAt` (no hold: payable from then). */
  const sale = async (partnerId: string, amount: string, occurredAt: string) => {
    const made = await recordSale(t, integration, partnerId, { amount, occurredAt });
    expect(dataOf(await t.gql(ReviewDocs.approve, { input: { ids: [made.commissionId] } }, acme.adminToken)).approveCommissions.commissions).toHaveLength(1);
    return made.commissionId;
  };

  beforeAll(async () => {
    t = await startTestApp(target, { env: { ACCRUE_SCHEDULER: "0" } });
    acme = await createProgramFixture(t, { name: "Acme", minimumPayout: "20.00" });
    other = await createProgramFixture(t, { name: "Other" });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("drafts whole lines oldest first up to the amount, stops at the first that does not fit, and adds lines to the draft once per key", async () => {
    const ana = await createPartnerFixture(t, acme, { name: "Ana Settle" });
    await makePayable(t, acme, ana.id);
    const oldest = await sale(ana.id, "500.00", "2025-11-01T00:00:00.000Z"); // 50.00
    const middle = await sale(ana.id, "300.00", "2025-11-10T00:00:00.000Z"); // 30.00
    const newest = await sale(ana.id, "100.00", "2025-11-20T00:00:00.000Z"); // 10.00
    expect(await balance(ana.id)).toEqual({ payable: "90.00", inPayouts: "0.00" });

    // Not an amount, not positive, or below the oldest line: refused, nothing drafted.
    for (const [upTo, message] of [
      ["abc", /not a plain decimal/],
      ["-5.00", /./],
      ["0", /./],
      ["1.001", /./],
      ["49.99", /oldest payable line is 50\.00/],
    ] as const) {
      const refused = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: ana.id, upTo } }, acme.financeToken)).createPayout;
      expect(refused.payout, upTo).toBeNull();
      expect(
        refused.userErrors.map((e) => [e.code, e.field]),
        upTo,
      ).toEqual([["INVALID_AMOUNT", ["input", "upTo"]]]);
      expect(refused.userErrors[0]!.message).toMatch(message);
    }
    expect(await balance(ana.id)).toEqual({ payable: "90.00", inPayouts: "0.00" });

    // 75.00: the 50.00 line fits, the 30.00 one would make 80.00: the choice stops there (the newer 10.00 is not taken before it).
    const drafted = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: ana.id, upTo: "75.00", idempotencyKey: "settle-ana" } }, acme.financeToken)).createPayout;
    expect(drafted.userErrors).toEqual([]);
    expect(drafted.payout).toMatchObject({ status: "DRAFT", amount: { amount: "50.00" }, lineCount: 1 });
    expect(drafted.payout!.lines.map((l) => l.commission.id)).toEqual([oldest]);
    expect(await balance(ana.id)).toEqual({ payable: "40.00", inPayouts: "50.00" });
    const payoutId = drafted.payout!.id;

    // Adding the newest line: 60.00; once per key; the same key with another request is refused.
    const added = dataOf(
      await t.gql(AddLinesDoc, { input: { payoutId, commissionIds: [newest], reason: "settle the small one too", idempotencyKey: "add-1" } }, acme.financeToken),
    ).addPayoutLines;
    expect(added.userErrors).toEqual([]);
    expect(added.payout).toMatchObject({ amount: { amount: "60.00" }, lineCount: 2 });
    expect(
      dataOf(await t.gql(AddLinesDoc, { input: { payoutId, commissionIds: [newest], reason: "settle the small one too", idempotencyKey: "add-1" } }, acme.financeToken))
        .addPayoutLines.payout,
    ).toMatchObject({ amount: { amount: "60.00" }, lineCount: 2 });
    expect(
      dataOf(await t.gql(AddLinesDoc, { input: { payoutId, commissionIds: [middle], idempotencyKey: "add-1" } }, acme.financeToken)).addPayoutLines.userErrors.map((e) => e.code),
    ).toEqual(["IDEMPOTENCY_CONFLICT"]);
    expect(await balance(ana.id)).toEqual({ payable: "30.00", inPayouts: "60.00" });

    // A line already in it, another partner's line, a line not payable: refused, nothing changes.
    const ben = await createPartnerFixture(t, acme, { name: "Ben Other" });
    const bens = await sale(ben.id, "200.00", "2025-11-05T00:00:00.000Z");
    const pending = (await recordSale(t, integration, ana.id, { amount: "50.00", occurredAt: "2025-11-25T00:00:00.000Z" })).commissionId;
    for (const ids of [[oldest], [bens], [pending], [middle, bens]]) {
      const refused = dataOf(await t.gql(AddLinesDoc, { input: { payoutId, commissionIds: ids } }, acme.financeToken)).addPayoutLines;
      expect(refused.userErrors.map((e) => [e.code, e.field])).toEqual([["INVALID_INPUT", ["input", "commissionIds"]]]);
    }
    expect(await balance(ana.id)).toEqual({ payable: "30.00", inPayouts: "60.00" });

    // A removed line can come back; the trail and the feed show both edits.
    expect(dataOf(await t.gql(RemoveLinesAgainDoc, { input: { payoutId, commissionIds: [newest] } }, acme.financeToken)).removePayoutLines.payout).toMatchObject({
      amount: { amount: "50.00" },
      lineCount: 1,
    });
    expect(dataOf(await t.gql(AddLinesDoc, { input: { payoutId, commissionIds: [newest, middle] } }, acme.adminToken)).addPayoutLines.payout).toMatchObject({
      amount: { amount: "90.00" },
      lineCount: 3,
    });
    expect(await balance(ana.id)).toEqual({ payable: "0.00", inPayouts: "90.00" });
    const trail = await t.app.db.prisma.auditEntry.findMany({ where: { entityId: rawId(payoutId) }, orderBy: { createdAt: "asc" }, select: { action: true, reason: true } });
    expect(trail.map((a) => a.action)).toEqual(["payout.create", "payout.add_lines", "payout.remove_lines", "payout.add_lines"]);
    expect(trail[1]!.reason).toBe("settle the small one too");
    const feed = await t.app.db.prisma.event.findMany({ where: { type: "payout.changed", entityId: rawId(payoutId) }, orderBy: { partnerSequence: "asc" } });
    expect(feed.map((e) => (e.payload as { amount: string }).amount)).toEqual(["50", "60", "50", "90"]);

    // Only a draft takes lines.
    const approved = dataOf(await t.gql(ApprovePayoutsDoc, { input: { ids: [payoutId] } }, acme.adminToken)).approvePayouts;
    expect(approved.payouts.map((p) => p.status)).toEqual(["APPROVED"]);
    const late = await sale(ana.id, "100.00", "2025-11-26T00:00:00.000Z");
    expect(dataOf(await t.gql(AddLinesDoc, { input: { payoutId, commissionIds: [late] } }, acme.financeToken)).addPayoutLines.userErrors.map((e) => e.code)).toEqual([
      "INVALID_TRANSITION",
    ]);
  });

  it("is for payout writers of the program: a partner is refused, another program's admin finds nothing", async () => {
    const cy = await createPartnerFixture(t, acme, { name: "Cy Access" });
    await makePayable(t, acme, cy.id);
    const first = await sale(cy.id, "400.00", "2025-11-01T00:00:00.000Z");
    const second = await sale(cy.id, "300.00", "2025-11-02T00:00:00.000Z");
    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: cy.id, upTo: "40.00" } }, acme.adminToken)).createPayout.payout!;
    expect(draft.lines.map((l) => l.commission.id)).toEqual([first]);

    const byPartner = await t.gql(AddLinesDoc, { input: { payoutId: draft.id, commissionIds: [second] } }, cy.token);
    expect(byPartner.data?.addPayoutLines ?? null).toBeNull();
    expect(byPartner.errors?.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
    const byPartnerSettle = await t.gql(CreatePayoutDoc, { input: { partnerId: cy.id, upTo: "10.00" } }, cy.token);
    expect(byPartnerSettle.errors?.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);

    const phantom = globalId("Payout", "0190a0a0-0000-7000-8000-000000000001");
    const theirs = dataOf(await t.gql(AddLinesDoc, { input: { payoutId: draft.id, commissionIds: [second] } }, other.adminToken)).addPayoutLines;
    const nothing = dataOf(await t.gql(AddLinesDoc, { input: { payoutId: phantom, commissionIds: [second] } }, other.adminToken)).addPayoutLines;
    expect(theirs.userErrors.map((e) => e.code)).toEqual(["NOT_FOUND"]);
    expect(JSON.stringify(theirs).replaceAll(draft.id, "<ID>")).toBe(JSON.stringify(nothing).replaceAll(phantom, "<ID>"));
    expect(await balance(cy.id)).toEqual({ payable: "30.00", inPayouts: "40.00" });
  });
});
