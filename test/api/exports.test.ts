import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { RecordConversionDoc } from "../helpers/ledger-docs.ts";
import { AddMethodDoc, ApprovePayoutsDoc, CreatePayoutDoc, payableSale, PayPayoutsDoc, SetBillingDoc } from "../helpers/payout-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const CommissionsDoc = graphql(`
  query ExportCommissions { commissions(first: 100, sort: { field: CREATED_AT, direction: ASC }) { totalCount edges { node { id kind status amount { amount } } } } }
`);
const PayoutsDoc = graphql(`query ExportPayouts { payouts(first: 100) { totalCount edges { node { id status amount { amount } method reference } } } }`);

async function download(t: TestApp, path: string, token?: string) {
  const response = await fetch(`${t.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, rows: response.status === 200 ? (parse(text, { columns: true }) as Record<string, string>[]) : [] };
}

describe.each(databaseTargets())("CSV exports on %s", (target) => {
  let t: TestApp;
  let acme: ProgramFixture;
  let integration: string;
  let ach: Awaited<ReturnType<typeof createPartnerFixture>>;
  let paypal: Awaited<ReturnType<typeof createPartnerFixture>>;
  let foreign: Awaited<ReturnType<typeof createPartnerFixture>>;

  async function setUp(p: { id: string }, method: object, profile: object) {
    dataOf(await t.gql(AddMethodDoc, { input: { partnerId: p.id, method: method as never } }, acme.adminToken));
    const billing = dataOf(await t.gql(SetBillingDoc, { input: { partnerId: p.id, profile: profile as never } }, acme.adminToken)).setBillingProfile;
    if (billing.userErrors.length) throw new Error(JSON.stringify(billing.userErrors));
  }

  async function payOut(p: { id: string }, method: "ACH" | "PAYPAL" | "WIRE", paidAt: string, reference: string) {
    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout;
    if (!draft.payout) throw new Error(JSON.stringify(draft.userErrors));
    await t.gql(ApprovePayoutsDoc, { input: { ids: [draft.payout.id] } }, acme.financeToken);
    await t.gql(PayPayoutsDoc, { input: { ids: [draft.payout.id], method, reference, paidAt } }, acme.financeToken);
    return draft.payout.id;
  }

  beforeAll(async () => {
    t = await startTestApp(target);
    t.clock.set("2027-02-01T12:00:00.000Z");
    acme = await createProgramFixture(t, { currency: "USD", timeZone: "America/Los_Angeles", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "10.00" });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    ach = await createPartnerFixture(t, acme, { name: "=HYPERLINK(\"http://evil\")" });
    paypal = await createPartnerFixture(t, acme, { name: "Pay, Pal \"Creator\"" });
    foreign = await createPartnerFixture(t, acme, { name: "Berlin GmbH" });
    await setUp(ach, { type: "ACH", accountName: "A", routingNumber: "021000021", accountNumber: "12345678", accountType: "CHECKING" }, { entityType: "INDIVIDUAL", legalName: "Ann Ach", country: "US", taxForm: "W9", taxId: "123-45-6789", addressLine1: "1 Main St", city: "Denver", region: "CO", postalCode: "80202" });
    await setUp(paypal, { type: "PAYPAL", email: "creator@pay.example" }, { entityType: "INDIVIDUAL", legalName: "Pat Pal", country: "US", taxForm: "W9", taxId: "987-65-4321" });
    await setUp(foreign, { type: "BANK_TRANSFER", accountName: "B", iban: "DE89370400440532013000" }, { entityType: "COMPANY", legalName: "Berlin GmbH", country: "DE", taxForm: "W8BEN_E", vatId: "DE123456789" });

    // 2026: Ann is paid $1,500 + $600 by ACH (≥ $2,000), Pat $3,000 by PayPal (left out: PayPal reports it).
    await payableSale(t, acme, integration, ach.id, "15000.00");
    await payOut(ach, "ACH", "2026-03-01T18:00:00.000Z", "ACH-1");
    await payableSale(t, acme, integration, ach.id, "6000.00");
    // Paid 2027-01-01T03:00Z: still December 31st, 2026 in Los Angeles.
    await payOut(ach, "ACH", "2027-01-01T03:00:00.000Z", "ACH-2");
    await payableSale(t, acme, integration, paypal.id, "30000.00");
    await payOut(paypal, "PAYPAL", "2026-06-01T18:00:00.000Z", "PP-1");
    await payableSale(t, acme, integration, foreign.id, "50000.00");
    await payOut(foreign, "WIRE", "2026-07-01T18:00:00.000Z", "W-1");
    // An approved PayPal payout waiting to be paid, and a refund for a negative line.
    await payableSale(t, acme, integration, paypal.id, "1234.50");
    const waiting = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: paypal.id } }, acme.financeToken)).createPayout.payout!;
    await t.gql(ApprovePayoutsDoc, { input: { ids: [waiting.id] } }, acme.financeToken);
    await t.gql(
      RecordConversionDoc,
      { input: { externalId: "=cmd|'/c calc'!A0", partners: [{ id: ach.id }], amount: "10.00", currency: "USD", occurredAt: "2027-01-20T00:00:00.000Z" } },
      integration,
    );
  });
  afterAll(() => t?.stop());

  it("exports commissions that parse back to the API's figures, with formulas escaped", async () => {
    const csv = await download(t, "/exports/commissions.csv", acme.analystToken);
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toMatch(/text\/csv/);
    const api = dataOf(await t.gql(CommissionsDoc, {}, acme.analystToken)).commissions;
    expect(csv.rows).toHaveLength(api.totalCount);
    const byId = new Map(csv.rows.map((row) => [row.commission_id, row]));
    for (const { node } of api.edges) {
      expect(byId.get(node.id)).toMatchObject({ kind: node.kind, status: node.status, amount: node.amount.amount });
    }
    const evil = csv.rows.find((row) => row.partner_id === ach.id)!;
    expect(evil.partner_name).toBe("'=HYPERLINK(\"http://evil\")");
    expect(csv.rows.find((row) => row.conversion_external_id?.includes("calc"))?.conversion_external_id).toBe("'=cmd|'/c calc'!A0");
    const total = csv.rows.reduce((sum, row) => sum + Math.round(Number(row.amount) * 100), 0); // cents, for the check only
    const apiTotal = api.edges.reduce((sum, e) => sum + Math.round(Number(e.node.amount.amount) * 100), 0);
    expect(total).toBe(apiTotal);
  });

  it("exports payouts with filters, the same as the API", async () => {
    const csv = await download(t, "/exports/payouts.csv?status=PAID", acme.financeToken);
    const api = dataOf(await t.gql(PayoutsDoc, {}, acme.financeToken)).payouts.edges.filter((e) => e.node.status === "PAID");
    expect(csv.rows.map((r) => [r.payout_id, r.amount, r.method, r.reference]).sort()).toEqual(
      api.map((e) => [e.node.id, e.node.amount.amount, e.node.method, e.node.reference]).sort(),
    );
    expect(csv.rows.find((r) => r.reference === "ACH-1")?.amount).toBe("1500.00");
  });

  it("writes the PayPal Payouts file for approved PayPal payouts only", async () => {
    const payouts = dataOf(await t.gql(PayoutsDoc, {}, acme.financeToken)).payouts.edges.map((e) => e.node);
    const ids = payouts.map((p) => p.id).join(",");
    const csv = await download(t, `/exports/paypal-payouts.csv?payoutIds=${encodeURIComponent(ids)}`, acme.financeToken);
    expect(csv.rows).toEqual([{ "Email/Phone": "creator@pay.example", Amount: "123.45", "Currency code": "USD", "Reference ID": expect.any(String), "Note to recipient": 'Commission payout for Pay, Pal "Creator"', "Recipient wallet": "PayPal" }]);
    expect(csv.headers.get("x-accrue-skipped")?.split(",").every((item) => /:NOT_APPROVED$/.test(item))).toBe(true);
    expect((await download(t, `/exports/paypal-payouts.csv?payoutIds=${encodeURIComponent(ids)}`, acme.analystToken)).status).toBe(403);
  });

  it("reports 1099-NEC payees by paid date in program time, leaving out PayPal and foreign partners", async () => {
    const csv = await download(t, "/exports/1099-nec.csv?year=2026", acme.analystToken);
    expect(csv.rows).toEqual([
      expect.objectContaining({ partner_id: ach.id, legal_name: "Ann Ach", tin: "•••• 6789", nonemployee_compensation: "2100.00", payouts: "2", state: "CO" }),
    ]);
    expect((await download(t, "/exports/1099-nec.csv?year=2027", acme.analystToken)).rows).toEqual([]);
    expect((await download(t, "/exports/1099-nec.csv?year=2026&reveal=tin", acme.financeToken)).status).toBe(403);
    const revealed = await download(t, "/exports/1099-nec.csv?year=2026&reveal=tin", acme.adminToken);
    expect(revealed.rows[0]?.tin).toBe("123456789");
    // 2025's threshold was $600: the same figures in 2025 would be reported under it too (domain tests cover the table).
  });

  it("gives a partner its own statement, with balances that add up", async () => {
    const csv = await download(t, `/exports/statement.csv?from=2026-01-01&to=2026-12-31`, ach.token);
    expect(csv.status).toBe(200);
    // Both sales occurred in December 2025: earned before the period, paid in it.
    expect(csv.rows[0]).toMatchObject({ type: "OPENING_BALANCE", balance: "2100.00" });
    const closing = csv.rows.at(-1)!;
    expect(closing).toMatchObject({ type: "CLOSING_BALANCE", balance: "0.00" });
    const body = csv.rows.slice(1, -1);
    expect(body.map((row) => [row.type, row.reference, row.amount])).toEqual([
      ["PAYOUT", "ACH-1", "-1500.00"],
      ["PAYOUT", "ACH-2", "-600.00"],
    ]);
    let running = Number(csv.rows[0]!.balance) * 100;
    for (const row of body) {
      if (row.status !== "CANCELLED" && row.status !== "REVERSED") running += Math.round(Number(row.amount) * 100);
      expect(Math.round(Number(row.balance) * 100)).toBe(running);
    }
    expect(Math.round(Number(closing.balance) * 100)).toBe(running);
    const other = await download(t, `/exports/statement.csv?partnerId=${encodeURIComponent(paypal.id)}&from=2026-01-01&to=2026-12-31`, ach.token);
    expect(other.status).toBe(403);
    const byOperator = await download(t, `/exports/statement.csv?partnerId=${encodeURIComponent(paypal.id)}&from=2026-01-01&to=2026-12-31`, acme.financeToken);
    expect(byOperator.status).toBe(200);
  });

  it("refuses missing tokens, bad parameters and other programs' records", async () => {
    expect((await download(t, "/exports/payouts.csv")).status).toBe(401);
    const bad = await download(t, "/exports/payouts.csv?status=SOMETIMES", acme.adminToken);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).errors[0].extensions.code).toBe("BAD_USER_INPUT");
    expect((await download(t, "/exports/nothing.csv", acme.adminToken)).status).toBe(404);
    expect((await download(t, "/exports/statement.csv?from=2026-13-01&to=2026-12-31", ach.token)).status).toBe(400);
    const other = await createProgramFixture(t);
    expect((await download(t, "/exports/payouts.csv", other.adminToken)).rows).toEqual([]);
    expect((await download(t, "/exports/commissions.csv", other.adminToken)).rows).toEqual([]);
    // A partner's commissions export holds its own lines only.
    const mine = await download(t, "/exports/commissions.csv", paypal.token);
    expect(mine.rows.length).toBeGreaterThan(0);
    expect(mine.rows.every((row) => row.partner_id === paypal.id)).toBe(true);
    expect((await download(t, `/exports/commissions.csv?partnerId=${encodeURIComponent(ach.id)}`, paypal.token)).status).toBe(403);
  });
});
