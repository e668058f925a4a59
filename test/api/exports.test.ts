import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import type { CommissionFilter, PayoutFilter } from "../../src/generated/gql/graphql.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { escapeCell } from "../../src/http/csv.ts";
import { BalanceDoc, RecordConversionDoc, RecordConversionsDoc, ReverseDoc, ReviewDocs } from "../helpers/ledger-docs.ts";
import { AddMethodDoc, ApprovePayoutsDoc, CreatePayoutDoc, payableSale, PayPayoutsDoc, SetBillingDoc } from "../helpers/payout-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const CommissionsDoc = graphql(`
  query ExportCommissions { commissions(first: 100, sort: { field: CREATED_AT, direction: ASC }) { totalCount edges { node { id kind status amount { amount } } } } }
`);
const PayoutsDoc = graphql(`query ExportPayouts { payouts(first: 100) { totalCount edges { node { id status amount { amount } method reference } } } }`);
const CreditDoc = graphql(`mutation ExportCredit($input: CreditPartnerInput!) { creditPartner(input: $input) { commission { id } userErrors { code message } } }`);
const FilteredCommissionsDoc = graphql(`
  query FilteredCommissions($filter: CommissionFilter, $after: String) {
    commissions(first: 100, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } }
  }
`);
const FilteredPayoutsDoc = graphql(`
  query FilteredPayouts($filter: PayoutFilter, $after: String) {
    payouts(first: 100, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } }
  }
`);

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
    // Drafted and approved on the day it is paid (a payment is never dated
    // before its approval): the clock only moves forward, as tokens are dated by it.
    t.clock.set(paidAt);
    const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout;
    if (!draft.payout) throw new Error(JSON.stringify(draft.userErrors));
    await t.gql(ApprovePayoutsDoc, { input: { ids: [draft.payout.id] } }, acme.financeToken);
    const paid = dataOf(await t.gql(PayPayoutsDoc, { input: { ids: [draft.payout.id], method, reference, paidAt } }, acme.financeToken)).markPayoutsPaid;
    if (paid.payouts.length !== 1) throw new Error(JSON.stringify(paid));
    return draft.payout.id;
  }

  beforeAll(async () => {
    t = await startTestApp(target);
    t.clock.set("2026-03-01T18:00:00.000Z");
    acme = await createProgramFixture(t, { currency: "USD", timeZone: "America/Los_Angeles", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "10.00" });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    ach = await createPartnerFixture(t, acme, { name: '=HYPERLINK("http://evil")' });
    paypal = await createPartnerFixture(t, acme, { name: 'Pay, Pal "Creator"' });
    foreign = await createPartnerFixture(t, acme, { name: "Berlin GmbH" });
    await setUp(
      ach,
      { type: "ACH", accountName: "A", routingNumber: "021000021", accountNumber: "12345678", accountType: "CHECKING" },
      {
        entityType: "INDIVIDUAL",
        legalName: "Ann Ach",
        country: "US",
        taxForm: "W9",
        taxId: "123-45-6789",
        addressLine1: "1 Main St",
        city: "Denver",
        region: "CO",
        postalCode: "80202",
      },
    );
    await setUp(paypal, { type: "PAYPAL", email: "creator@pay.example" }, { entityType: "INDIVIDUAL", legalName: "Pat Pal", country: "US", taxForm: "W9", taxId: "987-65-4321" });
    await setUp(
      foreign,
      { type: "BANK_TRANSFER", accountName: "B", iban: "DE89370400440532013000" },
      { entityType: "COMPANY", legalName: "Berlin GmbH", country: "DE", taxForm: "W8BEN_E", vatId: "DE123456789" },
    );

    // 2026: Ann is paid $1,500 + $600 by ACH (≥ $2,000), Pat $3,000 by PayPal (left out: PayPal reports it).
    await payableSale(t, acme, integration, ach.id, "15000.00");
    await payOut(ach, "ACH", "2026-03-01T18:00:00.000Z", "ACH-1");
    await payableSale(t, acme, integration, paypal.id, "30000.00");
    await payOut(paypal, "PAYPAL", "2026-06-01T18:00:00.000Z", "PP-1");
    await payableSale(t, acme, integration, foreign.id, "50000.00");
    await payOut(foreign, "WIRE", "2026-07-01T18:00:00.000Z", "W-1");
    await payableSale(t, acme, integration, ach.id, "6000.00");
    // Paid 2027-01-01T03:00Z: still December 31st, 2026 in Los Angeles.
    await payOut(ach, "ACH", "2027-01-01T03:00:00.000Z", "ACH-2");
    t.clock.set("2027-02-01T12:00:00.000Z");
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
    expect(evil.partner_name).toBe('\'=HYPERLINK("http://evil")');
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
    expect(csv.rows).toEqual([
      {
        "Email/Phone": "creator@pay.example",
        Amount: "123.45",
        "Currency code": "USD",
        "Reference ID": expect.any(String),
        "Note to recipient": 'Commission payout for Pay, Pal "Creator"',
        "Recipient wallet": "PayPal",
      },
    ]);
    expect(
      csv.headers
        .get("x-accrue-skipped")
        ?.split(",")
        .every((item) => /:NOT_APPROVED$/.test(item)),
    ).toBe(true);
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
    expectLedger(csv.rows);
    const other = await download(t, `/exports/statement.csv?partnerId=${encodeURIComponent(paypal.id)}&from=2026-01-01&to=2026-12-31`, ach.token);
    expect(other.status).toBe(403);
    const byOperator = await download(t, `/exports/statement.csv?partnerId=${encodeURIComponent(paypal.id)}&from=2026-01-01&to=2026-12-31`, acme.financeToken);
    expect(byOperator.status).toBe(200);
  });

  /** A GraphQL query as an integrator would send it (raw, so no generated document is needed). */
  async function query(text: string, token: string) {
    return t.raw({ query: text }, token) as Promise<{ data?: any; errors?: { extensions?: { code?: string } }[] }>;
  }

  it("gives integration tokens the columns GraphQL gives them, and refuses exports their scopes do not read", async () => {
    const payoutsRead = await acme.integrationToken(["PAYOUTS_READ"]);
    const commissionsRead = await acme.integrationToken(["COMMISSIONS_READ"]);
    const payoutsWrite = await acme.integrationToken(["PAYOUTS_WRITE"]);
    const wide = await acme.integrationToken(["PAYOUTS_READ", "COMMISSIONS_READ", "PARTNERS_READ", "CONVERSIONS_READ"]);

    // payouts:read: the payouts, named by partnerId; the partner's own fields stay empty, as GraphQL refuses Payout.partner.
    const narrow = await download(t, "/exports/payouts.csv", payoutsRead);
    expect(narrow.status).toBe(200);
    expect(narrow.headers.get("x-accrue-withheld-columns")).toBe("partner_name,partner_external_id");
    expect(Object.keys(narrow.rows[0]!)).toContain("partner_name"); // one shape whatever the scopes
    expect(narrow.rows.every((row) => row.partner_name === "" && row.partner_external_id === "")).toBe(true);
    expect((await query("{ payouts(first: 100) { edges { node { partner { name } } } } }", payoutsRead)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const apiPayouts = (await query("{ payouts(first: 100) { edges { node { id partnerId amount { amount } } } } }", payoutsRead)).data.payouts.edges.map((e: any) => e.node);
    expect(narrow.rows.map((row) => [row.payout_id, row.partner_id, row.amount]).sort()).toEqual(apiPayouts.map((p: any) => [p.id, p.partnerId, p.amount.amount]).sort());
    // With partners:read too, the names GraphQL gives it.
    const named = await download(t, "/exports/payouts.csv", wide);
    expect(named.headers.get("x-accrue-withheld-columns")).toBeNull();
    const apiNames = new Map<string, string>(
      (await query("{ payouts(first: 100) { edges { node { id partner { name } } } } }", wide)).data.payouts.edges.map((e: any) => [e.node.id, e.node.partner.name]),
    );
    for (const row of named.rows) expect(row.partner_name).toBe(escapeCell(apiNames.get(row.payout_id!)!));

    // commissions:read: no partner fields, and no conversion's external id (Commission.conversion needs conversions:read).
    const lines = await download(t, "/exports/commissions.csv", commissionsRead);
    expect(lines.status).toBe(200);
    expect(lines.headers.get("x-accrue-withheld-columns")).toBe("partner_name,partner_external_id,conversion_external_id");
    expect(lines.rows.every((row) => row.partner_name === "" && row.partner_external_id === "" && row.conversion_external_id === "")).toBe(true);
    expect((await query("{ commissions(first: 100) { edges { node { conversion { externalId } } } } }", commissionsRead)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const full = await download(t, "/exports/commissions.csv", wide);
    const apiLines = (
      await query("{ commissions(first: 100) { edges { node { id amount { amount } conversion { externalId } partner { name } } } } }", wide)
    ).data.commissions.edges.map((e: any) => e.node);
    expect(full.rows.map((row) => [row.commission_id, row.amount, row.conversion_external_id, row.partner_name]).sort()).toEqual(
      apiLines.map((c: any) => [c.id, c.amount.amount, escapeCell(c.conversion?.externalId ?? ""), escapeCell(c.partner.name)]).sort(),
    );

    // An export is refused to a token that could not query its list in GraphQL.
    expect((await download(t, "/exports/commissions.csv", payoutsRead)).status).toBe(403);
    expect((await download(t, "/exports/payouts.csv", commissionsRead)).status).toBe(403);
    expect((await download(t, "/exports/payouts.csv", payoutsWrite)).status).toBe(403);
    expect((await download(t, `/exports/statement.csv?partnerId=${encodeURIComponent(ach.id)}&from=2026-01-01&to=2026-12-31`, wide)).status).toBe(403);
    expect((await download(t, "/exports/1099-nec.csv?year=2026", wide)).status).toBe(403);

    // The PayPal file is partners' PayPal emails and names: payouts:write alone reads no payout (GraphQL refuses payout(id)),
    // payouts:read alone reaches no partner; both reading scopes get the file the operators get.
    const payouts = dataOf(await t.gql(PayoutsDoc, {}, acme.financeToken)).payouts.edges.map((e) => e.node);
    const ids = encodeURIComponent(payouts.map((p) => p.id).join(","));
    expect((await query(`{ payout(id: "${payouts[0]!.id}") { id } }`, payoutsWrite)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const refused = await download(t, `/exports/paypal-payouts.csv?payoutIds=${ids}`, payoutsWrite);
    expect(refused.status).toBe(403);
    expect(refused.text).not.toContain("creator@pay.example");
    expect((await download(t, `/exports/paypal-payouts.csv?payoutIds=${ids}`, payoutsRead)).status).toBe(403);
    const readers = await acme.integrationToken(["PAYOUTS_READ", "PARTNERS_READ"]);
    const file = await download(t, `/exports/paypal-payouts.csv?payoutIds=${ids}`, readers);
    expect(file.status).toBe(200);
    expect(file.rows).toEqual((await download(t, `/exports/paypal-payouts.csv?payoutIds=${ids}`, acme.financeToken)).rows);
  });

  it("cuts date-only filters at midnight in the program's time zone, as statements do; instants stay instants", async () => {
    const refs = async (path: string) => (await download(t, path, acme.financeToken)).rows.map((row) => row.reference).sort();
    // ACH-2 was paid 2027-01-01T03:00Z: December 31st, 2026 in Los Angeles.
    expect(await refs("/exports/payouts.csv?status=PAID&paidAfter=2026-12-31&paidBefore=2027-01-01")).toEqual(["ACH-2"]);
    expect(await refs("/exports/payouts.csv?status=PAID&paidAfter=2027-01-01")).toEqual([]);
    expect(await refs("/exports/payouts.csv?status=PAID&paidAfter=2027-01-01T00:00:00Z")).toEqual(["ACH-2"]);
    expect(await refs("/exports/payouts.csv?status=PAID&paidAfter=2026-12-31T16:00:00-08:00")).toEqual(["ACH-2"]);
    // The same figures as the API's filter with Los Angeles midnights spelled out.
    const api = await query(
      `{ payouts(first: 100, filter: { paidAfter: "2026-12-31T08:00:00Z", paidBefore: "2027-01-01T08:00:00Z" }) { edges { node { reference } } } }`,
      acme.financeToken,
    );
    expect(api.data.payouts.edges.map((e: any) => e.node.reference)).toEqual(["ACH-2"]);
    // The "calc" sale occurred 2027-01-20T00:00Z: January 19th in Los Angeles.
    const calc = async (path: string) => (await download(t, path, acme.financeToken)).rows.filter((row) => row.conversion_external_id?.includes("calc")).length;
    expect(await calc("/exports/commissions.csv?occurredAfter=2027-01-19&occurredBefore=2027-01-20")).toBe(1);
    expect(await calc("/exports/commissions.csv?occurredAfter=2027-01-20")).toBe(0);
    expect(await calc("/exports/commissions.csv?occurredBefore=2027-01-19")).toBe(0);
  });

  it("prints statement dates as days in the program's time zone", async () => {
    const february = await download(t, "/exports/statement.csv?from=2026-02-01&to=2026-02-28", ach.token);
    expect(february.rows.map((row) => [row.date, row.type])).toEqual([
      ["2026-02-01", "OPENING_BALANCE"],
      ["2026-02-28", "CLOSING_BALANCE"], // was 2026-03-01T07:59:59.999Z
    ]);
    const december = await download(t, "/exports/statement.csv?from=2026-12-01&to=2026-12-31", ach.token);
    expect(december.rows.slice(1, -1).map((row) => [row.date, row.type, row.reference, row.amount])).toEqual([["2026-12-31", "PAYOUT", "ACH-2", "-600.00"]]);
  });

  /** Checks a statement adds up: each balance is the one before plus the row's amount, and closing = opening + the rows. */
  function expectLedger(rows: Record<string, string>[]): void {
    const cents = (text: string) => Math.round(Number(text) * 100); // for the check only
    expect(rows[0]!.type).toBe("OPENING_BALANCE");
    expect(rows.at(-1)!.type).toBe("CLOSING_BALANCE");
    let running = cents(rows[0]!.balance!);
    for (const row of rows.slice(1, -1)) {
      expect(row.amount).toMatch(/^-?\d+\.\d{2}$/); // a number, never escaped, never zero-for-nothing
      expect(cents(row.amount!)).not.toBe(0);
      running += cents(row.amount!);
      expect(cents(row.balance!)).toBe(running);
    }
    expect(cents(rows.at(-1)!.balance!)).toBe(running);
  }

  it("keeps statements a ledger: a refund or a cancellation is a row of its own when it happens, and past periods stay as they were", async () => {
    const writer = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    const ledger = await createPartnerFixture(t, acme, { name: "Lena Ledger", externalId: "L-1" });
    const statement = (from: string, to: string) => download(t, `/exports/statement.csv?partnerId=${encodeURIComponent(ledger.id)}&from=${from}&to=${to}`, acme.financeToken);
    const sale = async (externalId: string, amount: string, occurredAt: string) => {
      const result = dataOf(
        await t.gql(RecordConversionDoc, { input: { externalId, partners: [{ id: ledger.id }], amount, currency: "USD", occurredAt } }, writer),
      ).recordConversion;
      if (!result.conversion) throw new Error(JSON.stringify(result.userErrors));
      return result.conversion.commissions[0]!.id;
    };

    // $10.00 earned on March 1st (Los Angeles), fully refunded in November.
    await sale("L-sale-1", "100.00", "2026-03-01T20:00:00.000Z");
    const marchBefore = await statement("2026-03-01", "2026-03-31");
    const refund = dataOf(
      await t.gql(ReverseDoc, { input: { conversionExternalId: "L-sale-1", refundId: "L-refund-1", occurredAt: "2026-11-10T20:00:00.000Z" } }, writer),
    ).reverseConversion;
    expect(refund.userErrors).toEqual([]);
    expect(refund.reversal?.conversion.commissions[0]?.status).toBe("REVERSED");
    const march = await statement("2026-03-01", "2026-03-31");
    expect(march.text).toBe(marchBefore.text); // the past period did not move
    expect(march.rows.map((row) => [row.date, row.type, row.reference, row.amount, row.balance])).toEqual([
      ["2026-03-01", "OPENING_BALANCE", "", "", "0.00"],
      ["2026-03-01", "CONVERSION", "L-sale-1", "10.00", "10.00"],
      ["2026-03-31", "CLOSING_BALANCE", "", "", "10.00"],
    ]);
    const november = await statement("2026-11-01", "2026-11-30");
    expect(november.rows.map((row) => [row.date, row.type, row.reference, row.amount, row.balance])).toEqual([
      ["2026-11-01", "OPENING_BALANCE", "", "", "10.00"],
      ["2026-11-10", "REVERSAL", "L-sale-1", "-10.00", "0.00"],
      ["2026-11-30", "CLOSING_BALANCE", "", "", "0.00"],
    ]);

    // $5.00 earned in April, cancelled on February 5th, 2027 and reinstated on the 10th.
    const line = await sale("L-sale-2", "50.00", "2026-04-10T20:00:00.000Z");
    const april = await statement("2026-04-01", "2026-04-30");
    t.clock.set("2027-02-05T20:00:00.000Z");
    expect(dataOf(await t.gql(ReviewDocs.cancel, { input: { ids: [line], reason: "duplicate order" } }, acme.adminToken)).cancelCommissions.commissions).toHaveLength(1);
    const cancelled = await statement("2026-01-01", "2027-02-28");
    t.clock.set("2027-02-10T20:00:00.000Z");
    expect(dataOf(await t.gql(ReviewDocs.reinstate, { input: { ids: [line] } }, acme.adminToken)).reinstateCommissions.commissions).toHaveLength(1);
    expect((await statement("2026-04-01", "2026-04-30")).text).toBe(april.text);
    expect(april.rows.slice(1, -1).map((row) => [row.date, row.type, row.amount])).toEqual([["2026-04-10", "CONVERSION", "5.00"]]);
    const february = await statement("2027-02-01", "2027-02-28");
    expect(february.rows.map((row) => [row.date, row.type, row.description, row.amount, row.balance])).toEqual([
      ["2027-02-01", "OPENING_BALANCE", "Lena Ledger, Acme Outdoor", "", "5.00"],
      ["2027-02-05", "CANCELLATION", "duplicate order", "-5.00", "0.00"],
      ["2027-02-10", "REINSTATEMENT", "", "5.00", "5.00"],
      ["2027-02-28", "CLOSING_BALANCE", "", "", "5.00"],
    ]);
    // While cancelled, the closing balance was nothing; the statement of February 1st–28th, 2027 now holds both rows.
    expect(cancelled.rows.at(-1)!.balance).toBe("0.00");

    // Every statement adds up, whatever the period, and the whole history closes on the API's balance.
    for (const [from, to] of [
      ["2026-01-01", "2027-12-31"],
      ["2026-03-01", "2026-11-09"],
      ["2026-11-10", "2027-02-07"],
      ["2027-02-06", "2027-02-10"],
    ] as const) {
      expectLedger((await statement(from, to)).rows);
    }
    const whole = await statement("2000-01-01", "2027-12-31");
    expectLedger(whole.rows);
    expect(whole.rows.slice(1, -1).map((row) => [row.type, row.amount])).toEqual([
      ["CONVERSION", "10.00"],
      ["CONVERSION", "5.00"],
      ["REVERSAL", "-10.00"],
      ["CANCELLATION", "-5.00"],
      ["REINSTATEMENT", "5.00"],
    ]);
    const balance = dataOf(await t.gql(BalanceDoc, { id: ledger.id }, acme.adminToken)).partner!.balance!;
    expect(whole.rows.at(-1)!.balance).toBe((Number(balance.lifetimeEarned.amount) - Number(balance.paid.amount)).toFixed(2));
    // And for a partner with payouts: earned less paid.
    const achWhole = await download(t, "/exports/statement.csv?from=2000-01-01&to=2027-12-31", ach.token);
    expectLedger(achWhole.rows);
    const achBalance = dataOf(await t.gql(BalanceDoc, { id: ach.id }, acme.adminToken)).partner!.balance!;
    expect(achWhole.rows.at(-1)!.balance).toBe((Number(achBalance.lifetimeEarned.amount) - Number(achBalance.paid.amount)).toFixed(2));
    // A partner reads its own ledger the same way.
    expect((await download(t, "/exports/statement.csv?from=2000-01-01&to=2027-12-31", ledger.token)).text).toBe(whole.text);
  });

  it("pages a long statement from the database, every movement once, even at one instant", async () => {
    const writer = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    const many = await createPartnerFixture(t, acme, { name: "Many Sales" });
    // 700 sales at the same instant: more than a page (500), tied on the date, so the cursor's tie-break is what pages them.
    for (const batch of [0, 1]) {
      const items = Array.from({ length: 350 }, (_, i) => ({
        externalId: `many-${batch * 350 + i}`,
        partners: [{ id: many.id }],
        amount: "1.00",
        currency: "USD",
        occurredAt: "2026-05-05T20:00:00.000Z",
      }));
      const result = dataOf(await t.gql(RecordConversionsDoc, { input: { items } }, writer)).recordConversions;
      expect(result.userErrors).toEqual([]);
    }
    const csv = await download(t, `/exports/statement.csv?partnerId=${encodeURIComponent(many.id)}&from=2026-05-01&to=2026-05-31`, acme.financeToken);
    const body = csv.rows.slice(1, -1);
    expect(body).toHaveLength(700);
    expect(new Set(body.map((row) => row.reference)).size).toBe(700);
    expectLedger(csv.rows);
    expect(csv.rows.at(-1)!.balance).toBe("70.00");
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

  it("selects the same rows as the GraphQL list for the same filter, whoever asks, on every exported list", async () => {
    // A line payable now, so `payable: true` selects something.
    const payee = await createPartnerFixture(t, acme, { name: "Payee" });
    const due = await payableSale(t, acme, integration, payee.id, "80.00");
    const conversionId = due.conversionId;
    // And a line of another kind, so a kind filter leaves something out.
    const bonus = await t.gql(CreditDoc, { input: { partnerId: payee.id, amount: "5.00", note: "launch bonus" } }, acme.adminToken);
    expect(dataOf(bonus).creditPartner.userErrors).toEqual([]);
    const commissionCases: [CommissionFilter, string][] = [
      [{}, ""],
      [{ status: ["APPROVED"] }, "status=APPROVED"],
      [{ status: ["PAID", "PENDING"] }, "status=PAID,PENDING"],
      [{ kind: ["CONVERSION"] }, "kind=CONVERSION"],
      [{ partnerId: ach.id }, `partnerId=${encodeURIComponent(ach.id)}`],
      [{ conversionId }, `conversionId=${encodeURIComponent(conversionId)}`],
      [{ occurredAfter: "2027-01-01T00:00:00.000Z", occurredBefore: "2027-02-01T00:00:00.000Z" }, "occurredAfter=2027-01-01T00:00:00Z&occurredBefore=2027-02-01T00:00:00Z"],
      [{ payableBefore: "2026-07-01T00:00:00.000Z" }, "payableBefore=2026-07-01T00:00:00Z"],
      [{ payable: true }, "payable=true"],
      [{ payable: false, kind: ["CONVERSION"] }, "payable=false&kind=CONVERSION"],
    ];
    const payoutCases: [PayoutFilter, string][] = [
      [{}, ""],
      [{ status: ["PAID"] }, "status=PAID"],
      [{ status: ["APPROVED", "DRAFT"] }, "status=APPROVED,DRAFT"],
      [{ partnerId: paypal.id }, `partnerId=${encodeURIComponent(paypal.id)}`],
      [{ paidAfter: "2026-06-01T00:00:00.000Z", paidBefore: "2027-01-01T00:00:00.000Z" }, "paidAfter=2026-06-01T00:00:00Z&paidBefore=2027-01-01T00:00:00Z"],
    ];
    type Page = { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor?: string | null }; edges: { node: { id: string } }[] };
    /** Every id of the list for the filter, page after page (the statement test left hundreds of lines). */
    const listed = async (next: (after: string | null) => Promise<Page>) => {
      const found: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page: Page = await next(after);
        found.push(...page.edges.map((edge) => edge.node.id));
        if (!page.pageInfo.hasNextPage) {
          expect(found).toHaveLength(page.totalCount);
          return found.sort();
        }
        after = page.pageInfo.endCursor ?? null;
      }
    };
    const commissionIds = (filter: CommissionFilter, token: string) => listed(async (after) => dataOf(await t.gql(FilteredCommissionsDoc, { filter, after }, token)).commissions);
    const payoutIds = (filter: PayoutFilter, token: string) => listed(async (after) => dataOf(await t.gql(FilteredPayoutsDoc, { filter, after }, token)).payouts);
    const exported = async (path: string, column: string, token: string) => {
      const csv = await download(t, path, token);
      expect(csv.status, path).toBe(200);
      return csv.rows.map((row) => row[column]!).sort();
    };
    const everyone = [acme.adminToken, acme.analystToken, paypal.token, await acme.integrationToken(["COMMISSIONS_READ", "PAYOUTS_READ"])];
    for (const token of everyone) {
      const all = await commissionIds({}, token);
      for (const [filter, search] of commissionCases) {
        // A partner naming another partner is refused on both paths; that is checked below.
        if (token === paypal.token && filter.partnerId) continue;
        const api = await commissionIds(filter, token);
        expect(await exported(`/exports/commissions.csv?${search}`, "commission_id", token), `commissions ${search}`).toEqual(api);
        if (token === acme.adminToken) {
          expect(api.length, `commissions ${search} selects something`).toBeGreaterThan(0);
          if (search) expect(api.length, `commissions ${search} leaves something out`).toBeLessThan(all.length);
        }
      }
      const allPayouts = await payoutIds({}, token);
      for (const [filter, search] of payoutCases) {
        if (token === paypal.token && filter.partnerId && filter.partnerId !== paypal.id) continue;
        const api = await payoutIds(filter, token);
        expect(await exported(`/exports/payouts.csv?${search}`, "payout_id", token), `payouts ${search}`).toEqual(api);
        if (token === acme.adminToken) {
          expect(api.length, `payouts ${search} selects something`).toBeGreaterThan(0);
          if (search) expect(api.length, `payouts ${search} leaves something out`).toBeLessThan(allPayouts.length);
        }
      }
    }
    // The payable line is the one isPayable calls payable.
    const payable = await commissionIds({ payable: true }, acme.adminToken);
    expect(payable).toContain(due.commissionId);
    // A partner naming another partner: FORBIDDEN on both paths.
    const named = await t.gql(FilteredCommissionsDoc, { filter: { partnerId: ach.id } }, paypal.token);
    expect(named.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const refused = await download(t, `/exports/commissions.csv?partnerId=${encodeURIComponent(ach.id)}`, paypal.token);
    expect([refused.status, JSON.parse(refused.text).errors[0]]).toEqual([403, { message: named.errors?.[0]?.message, extensions: { code: "FORBIDDEN" } }]);
  });

  it("answers a bad query-string value with a 400 that names it and a code, and changes nothing", async () => {
    const counts = async () => [
      await t.app.db.prisma.auditEntry.count(),
      await t.app.db.prisma.commission.count(),
      await t.app.db.prisma.payout.count(),
      await t.app.db.prisma.event.count(),
    ];
    const before = await counts();
    const cases: [string, RegExp][] = [
      ["/exports/commissions.csv?payable=yes", /^payable is true or false$/],
      ["/exports/commissions.csv?status=APPROVED,SOMETIMES", /^status takes PENDING, APPROVED/],
      ["/exports/commissions.csv?kind=BONUS", /^kind takes CONVERSION/],
      [`/exports/commissions.csv?conversionId=${encodeURIComponent(ach.id)}`, /^conversionId is not a Conversion id$/],
      ["/exports/commissions.csv?payableBefore=tomorrow", /^payableBefore is an ISO 8601 date/],
      ["/exports/commissions.csv?statuss=PAID", /^unknown parameter statuss; this export takes status, kind, partnerId, conversionId/],
      ["/exports/payouts.csv?status=PAID&status=DRAFT", /^status is given more than once/],
      ["/exports/payouts.csv?paidBefore=2026-02-30", /^paidBefore is an ISO 8601 date/],
      ["/exports/payouts.csv?payable=true", /^unknown parameter payable; this export takes status, partnerId, paidAfter, paidBefore$/],
    ];
    for (const [path, message] of cases) {
      const response = await download(t, path, acme.adminToken);
      expect(response.status, path).toBe(400);
      expect(response.headers.get("content-type")).toMatch(/application\/json/);
      expect(JSON.parse(response.text), path).toEqual({ errors: [{ message: expect.stringMatching(message), extensions: { code: "BAD_USER_INPUT" } }] });
    }
    expect(await counts()).toEqual(before);
  });
});

describe("1099-NEC thresholds from configuration", () => {
  let t: TestApp;
  afterAll(() => t?.stop());

  it("lays ACCRUE_1099_THRESHOLDS over the built-in table: an override for 2027 leaves 2025's $600 alone; a US payee without a W-9 is listed, flagged", async () => {
    t = await startTestApp("pglite", { env: { ACCRUE_1099_THRESHOLDS: '{"2027":"2100"}' } });
    // Paid on the day: a payment is never dated before its approval.
    t.clock.set("2025-12-15T18:00:00.000Z");
    const acme = await createProgramFixture(t, { currency: "USD", timeZone: "America/Los_Angeles", commissionRule: { type: "PERCENTAGE", percent: "10" } });
    const integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
    const payUS = async (name: string, taxForm: "W9" | null) => {
      const partner = await createPartnerFixture(t, acme, { name });
      dataOf(
        await t.gql(
          AddMethodDoc,
          { input: { partnerId: partner.id, method: { type: "ACH", accountName: "A", routingNumber: "021000021", accountNumber: "12345678", accountType: "CHECKING" } } },
          acme.adminToken,
        ),
      );
      dataOf(
        await t.gql(
          SetBillingDoc,
          { input: { partnerId: partner.id, profile: { entityType: "INDIVIDUAL", legalName: name, country: "US", ...(taxForm ? { taxForm, taxId: "123-45-6789" } : {}) } } },
          acme.adminToken,
        ),
      );
      await payableSale(t, acme, integration, partner.id, "7000.00"); // $700.00 earned
      const draft = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: partner.id } }, acme.financeToken)).createPayout.payout!;
      await t.gql(ApprovePayoutsDoc, { input: { ids: [draft.id] } }, acme.financeToken);
      const paid = dataOf(
        await t.gql(PayPayoutsDoc, { input: { ids: [draft.id], method: "ACH", reference: `ACH-${name}`, paidAt: "2025-12-15T18:00:00.000Z" } }, acme.financeToken),
      ).markPayoutsPaid;
      expect(paid.payouts).toHaveLength(1);
      return partner;
    };
    const ann = await payUS("Ann Ach", "W9");
    // Paid above the threshold with no W-9 on file: listed, flagged, never left out in silence.
    const bob = await payUS("Bob NoForm", null);
    // $700 ≥ 2025's $600 (it was measured against $2,100 when the override replaced the table).
    const csv = await download(t, "/exports/1099-nec.csv?year=2025", acme.analystToken);
    expect(csv.rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ partner_id: ann.id, nonemployee_compensation: "700.00", payouts: "1", w9_on_file: "yes" }),
        expect.objectContaining({ partner_id: bob.id, legal_name: "Bob NoForm", country: "US", tin: "", nonemployee_compensation: "700.00", w9_on_file: "no" }),
      ]),
    );
    expect(csv.rows).toHaveLength(2);
  });
});
