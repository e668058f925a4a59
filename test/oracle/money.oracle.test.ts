import fc from "fast-check";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasPostgres } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { startPayPalStandIn, type PayPalStandIn } from "../helpers/paypal-stand-in.ts";
import { startStripeStandIn, type StripeStandIn } from "../helpers/stripe-stand-in.ts";
import { startWiseStandIn, type WiseStandIn } from "../helpers/wise-stand-in.ts";
import { startTestApp, type TestApp } from "../helpers/test-app.ts";
import { dec, Model, type Dec, type MLine, type ReviewAction } from "./model.ts";

/**
 * The money oracle (issue 10): random sequences of every money-moving
 * operation, sent to the real server over HTTP on PostgreSQL, checked after
 * every step against a reference model (model.ts) written from DESIGN.md,
 * not from the services: every line the API lists (kind, status, amount),
 * every payout (status, amount), each partner's balance in every bucket
 * with lifetimeEarned and paid, payoutsOverview.payableNow, each partner's
 * statement CSV (closing balance = earned − paid), and reconcile.
 *
 * Knobs (see SECURITY.md, "The money oracle"):
 * - ORACLE_RUNS: how many sequences (default 8, about a minute here);
 * - ORACLE_SEED: fast-check's seed (default fixed, so CI is deterministic);
 * - ORACLE_PATH: with the seed of a failure, replays just that one
 *   (fast-check prints both when a run fails);
 * - ORACLE_STEPS: the longest sequence after the first sales (default 30).
 * It reports how many of each operation took effect and fails when a kind
 * never did, so no invariant goes untested because its operation never ran.
 */

type Op =
  | { op: "sale"; partner: number; two: boolean; cents: number; eur: boolean; daysAgo: number }
  | { op: "refund"; sale: number; cents: number | null; chargeback: boolean }
  | { op: ReviewAction; line: number }
  | { op: "adjust"; line: number; cents: number }
  | { op: "credit"; partner: number; cents: number }
  | { op: "writeOff"; partner: number }
  | { op: "draft"; partner: number }
  | { op: "approvePayout" | "payPayout" | "cancelPayout" | "bounce"; payout: number }
  | { op: "removeLine"; payout: number; line: number }
  | { op: "send"; payout: number; fate: "paid" | "failed" }
  | { op: "settle"; payout: number; fate: "paid" | "failed" | "unclaimed" }
  | { op: "providerReturn"; payout: number }
  | { op: "advance"; days: number };

const KINDS = [
  "sale",
  "refund",
  "approve",
  "hold",
  "release",
  "cancel",
  "reinstate",
  "adjust",
  "credit",
  "writeOff",
  "draft",
  "approvePayout",
  "payPayout",
  "cancelPayout",
  "bounce",
  "removeLine",
  "send",
  "settle",
  "providerReturn",
  "advance",
] as const;

const saleArbitrary: fc.Arbitrary<Op> = fc.record({
  op: fc.constant("sale" as const),
  partner: fc.nat(2),
  two: fc.boolean(),
  cents: fc.integer({ min: 1, max: 40_000 }),
  eur: fc.boolean(),
  daysAgo: fc.nat(6),
});

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: saleArbitrary },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("refund" as const),
      sale: fc.nat(50),
      cents: fc.option(fc.integer({ min: 1, max: 30_000 }), { nil: null, freq: 2 }),
      chargeback: fc.boolean(),
    }),
  },
  ...(["approve", "hold", "release", "cancel", "reinstate"] as const).map((op) => ({ weight: 2, arbitrary: fc.record({ op: fc.constant(op), line: fc.nat(50) }) })),
  { weight: 2, arbitrary: fc.record({ op: fc.constant("adjust" as const), line: fc.nat(50), cents: fc.integer({ min: -3_000, max: 2_000 }).filter((c) => c !== 0) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("credit" as const), partner: fc.nat(2), cents: fc.integer({ min: 1, max: 5_000 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("writeOff" as const), partner: fc.nat(2) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant("draft" as const), partner: fc.nat(2) }) },
  ...(["approvePayout", "payPayout", "cancelPayout", "bounce"] as const).map((op) => ({
    weight: op === "approvePayout" || op === "payPayout" ? 6 : 2,
    arbitrary: fc.record({ op: fc.constant(op), payout: fc.nat(20) }),
  })),
  { weight: 2, arbitrary: fc.record({ op: fc.constant("removeLine" as const), payout: fc.nat(20), line: fc.nat(20) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("send" as const), payout: fc.nat(20), fate: fc.constantFrom("paid" as const, "paid" as const, "failed" as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("settle" as const),
      payout: fc.nat(20),
      fate: fc.constantFrom("paid" as const, "paid" as const, "failed" as const, "unclaimed" as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("providerReturn" as const), payout: fc.nat(20) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("advance" as const), days: fc.integer({ min: 1, max: 12 }) }) },
);

const money = (cents: number) => (cents / 100).toFixed(2);

/**
 * A fixed first run (fast-check's `examples`, run before the random ones, on
 * a program that reviews sales by hand) that walks every kind of operation
 * once in an order where each can take effect: paid, clawed back, written
 * off, bounced; held, released, adjusted, credited, cancelled, reinstated;
 * drafted, shrunk and cancelled. The random runs then go where they will.
 */
const TOUR: [Op[], Op[]] = [
  [
    { op: "sale", partner: 0, two: false, cents: 20_000, eur: false, daysAgo: 6 },
    { op: "sale", partner: 1, two: false, cents: 10_000, eur: false, daysAgo: 6 },
    { op: "sale", partner: 0, two: false, cents: 5_000, eur: true, daysAgo: 6 },
  ],
  [
    { op: "approve", line: 0 },
    { op: "approve", line: 0 },
    { op: "approve", line: 0 },
    { op: "advance", days: 5 },
    { op: "draft", partner: 0 },
    { op: "approvePayout", payout: 0 },
    { op: "payPayout", payout: 0 },
    { op: "refund", sale: 0, cents: null, chargeback: true },
    { op: "writeOff", partner: 0 },
    { op: "bounce", payout: 0 },
    { op: "sale", partner: 1, two: true, cents: 8_000, eur: false, daysAgo: 0 },
    { op: "hold", line: 0 },
    { op: "release", line: 0 },
    { op: "adjust", line: 0, cents: -100 },
    { op: "credit", partner: 1, cents: 500 },
    { op: "cancel", line: 0 },
    { op: "reinstate", line: 0 },
    { op: "draft", partner: 1 },
    { op: "removeLine", payout: 1, line: 0 },
    { op: "draft", partner: 0 },
    { op: "cancelPayout", payout: 0 },
    // Through a payment provider (Stripe's stand-in): sent and paid, returned, then a send that fails.
    { op: "sale", partner: 1, two: false, cents: 30_000, eur: false, daysAgo: 6 },
    { op: "approve", line: 0 },
    { op: "approve", line: 0 },
    { op: "draft", partner: 1 },
    { op: "approvePayout", payout: 0 },
    { op: "send", payout: 0, fate: "paid" },
    { op: "providerReturn", payout: 0 },
    { op: "draft", partner: 1 },
    { op: "approvePayout", payout: 0 },
    { op: "send", payout: 0, fate: "failed" },
    // Through PayPal (partner 0's rail): PROCESSING until PayPal answers; paid then refunded,
    // unclaimed then returned (FAILED), refused (FAILED).
    { op: "sale", partner: 0, two: false, cents: 40_000, eur: false, daysAgo: 6 },
    { op: "approve", line: 0 },
    { op: "draft", partner: 0 },
    { op: "approvePayout", payout: 0 },
    { op: "send", payout: 0, fate: "paid" },
    { op: "settle", payout: 0, fate: "paid" },
    { op: "providerReturn", payout: 0 },
    { op: "draft", partner: 0 },
    { op: "approvePayout", payout: 0 },
    { op: "send", payout: 0, fate: "paid" },
    { op: "settle", payout: 0, fate: "unclaimed" },
    { op: "providerReturn", payout: 0 },
    { op: "draft", partner: 0 },
    { op: "approvePayout", payout: 0 },
    { op: "send", payout: 0, fate: "paid" },
    { op: "settle", payout: 0, fate: "failed" },
    { op: "advance", days: 1 },
  ],
];
const START = "2026-03-10T12:00:00.000Z";
/** Stripe Connect's stand-in (over HTTP): the rail sendPayouts pays partner 1 through, answering at once. */
let stripe: StripeStandIn;
/** PayPal Payouts' stand-in (over HTTP): partner 0's rail in odd runs, which answers later (settle). */
let paypal: PayPalStandIn;
/** Wise's stand-in (over HTTP): partner 0's rail in even runs, which answers later too. */
let wise: WiseStandIn;

/** The second fixed run (automatic approval): partner 0 is paid through Wise, paid then bounced back, cancelled, paid. */
const WISE_TOUR: [Op[], Op[]] = [
  [
    { op: "sale", partner: 0, two: false, cents: 30_000, eur: false, daysAgo: 6 },
    { op: "sale", partner: 1, two: false, cents: 10_000, eur: false, daysAgo: 6 },
    { op: "sale", partner: 0, two: false, cents: 8_000, eur: true, daysAgo: 6 },
  ],
  [
    { op: "draft", partner: 0 },
    { op: "approvePayout", payout: 0 },
    { op: "send", payout: 0, fate: "paid" },
    { op: "settle", payout: 0, fate: "paid" },
    { op: "providerReturn", payout: 0 },
    { op: "draft", partner: 0 },
    { op: "approvePayout", payout: 0 },
    { op: "send", payout: 0, fate: "paid" },
    { op: "refund", sale: 0, cents: 10_000, chargeback: false },
    { op: "settle", payout: 0, fate: "failed" },
    { op: "draft", partner: 0 },
    { op: "approvePayout", payout: 0 },
    { op: "send", payout: 0, fate: "paid" },
    { op: "settle", payout: 0, fate: "unclaimed" },
    { op: "advance", days: 1 },
  ],
];

/** Sends a GraphQL document as text (no codegen), failing on top-level errors. */
async function call<T = any>(t: TestApp, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await t.raw({ query, variables }, token);
  if (response.errors?.length || !response.data) throw new Error(`GraphQL failed: ${JSON.stringify(response.errors)} for ${query.slice(0, 80)}`);
  return response.data as T;
}

/** A mutation's payload: took effect when it has no userErrors (and, for bulk ones, changed what it was asked). */
async function mutate(t: TestApp, token: string, name: string, input: Record<string, unknown>, selection: string): Promise<any> {
  const data = await call(t, token, `mutation($input: ${name[0]!.toUpperCase()}${name.slice(1)}Input!) { ${name}(input: $input) { ${selection} userErrors { code message } } }`, {
    input,
  });
  return data[name];
}

const STATE = `
  commissions(first: 100, sort: { field: CREATED_AT, direction: ASC }) { pageInfo { hasNextPage } edges { node { id kind status amount { amount } partnerId reasonCode related { id } } } }
  payouts(first: 100) { pageInfo { hasNextPage } edges { node { id status amount { amount } partnerId } } }
  reconcileBalances { ok mismatches { partner { name } bucket projected computed } }
  payoutsOverview { payableNow { amount } payableNowPartners }
  partners(first: 10) { edges { node { id commissions(first: 1) { totalCount } balance { pending { amount } payable { amount } inPayouts { amount } paid { amount } lifetimeEarned { amount } } } } }
`;

/** What a partner's portal reads (the response cache answers it from memory while the partner's data is unchanged). */
const PORTAL = `{
  viewer { partner { id balance { pending { amount } payable { amount } inPayouts { amount } paid { amount } lifetimeEarned { amount } } } }
  commissions(first: 100) { totalCount pageInfo { hasNextPage } edges { node { id status amount { amount } } } }
}`;

interface World {
  program: ProgramFixture;
  /** Each partner's Stripe connected account (its default payout method), or null. */
  accounts: (string | null)[];
  /** Each partner's PayPal email (its default payout method), or null. */
  emails: (string | null)[];
  writer: string;
  partners: string[];
  /** Each partner's own token: its portal read (served from memory while unchanged) is checked too. */
  partnerTokens: string[];
  model: Model;
  step: number;
}

async function newWorld(t: TestApp, run: number): Promise<World> {
  t.clock.set(START);
  const program = await createProgramFixture(t, {
    name: `oracle ${run}`,
    commissionRule: { type: "TIERED", tiers: [{ percent: "10", upTo: 2 }, { percent: "12.5" }] },
    holdPeriodDays: 3,
    // Every other run reviews its sales by hand, so approving takes effect too.
    approvalMode: run % 2 === 1 ? "MANUAL" : "AUTOMATIC",
    minimumPayout: "5.00",
  });
  const writer = await program.integrationToken(["CONVERSIONS_WRITE"]);
  // Stripe Connect pays the partners who have a method (issue 15): connected first, so their Stripe methods are verified.
  const connected = await mutate(
    t,
    program.adminToken,
    "connectPaymentProvider",
    { provider: "STRIPE", environment: "SANDBOX", stripe: { secretKey: stripe.secretKey, webhookSecret: stripe.webhookSecrets[0] } },
    "connection { webhookPath }",
  );
  expect(connected.userErrors).toEqual([]);
  stripe.listener = `${t.url}${connected.connection.webhookPath}`;
  const viaPayPal = await mutate(
    t,
    program.adminToken,
    "connectPaymentProvider",
    { provider: "PAYPAL", environment: "SANDBOX", paypal: { clientId: paypal.clientId, clientSecret: paypal.clientSecret, webhookId: paypal.webhookId } },
    "connection { webhookPath }",
  );
  expect(viaPayPal.userErrors).toEqual([]);
  paypal.listener = `${t.url}${viaPayPal.connection.webhookPath}`;
  const viaWise = await mutate(
    t,
    program.adminToken,
    "connectPaymentProvider",
    { provider: "WISE", environment: "SANDBOX", wise: { apiToken: wise.token, profileId: wise.profileId } },
    "connection { webhookPath }",
  );
  expect(viaWise.userErrors).toEqual([]);
  wise.listener = `${t.url}${viaWise.connection.webhookPath}`;
  const accounts: (string | null)[] = [];
  const emails: (string | null)[] = [];
  const partners: string[] = [];
  const partnerTokens: string[] = [];
  const setups = [
    { hasMethod: true, hasBilling: true, rail: run % 2 === 1 ? ("PAYPAL" as const) : ("WISE" as const) },
    { hasMethod: true, hasBilling: true, rail: "STRIPE" as const },
    // Never paid: no payout method. A run skips it, and payableNow must too.
    { hasMethod: false, hasBilling: true },
  ];
  for (const [i, setup] of setups.entries()) {
    const partner = await createPartnerFixture(t, program, { name: `O${i}`, email: `o${i}-${run}@oracle.test` });
    partners.push(partner.id);
    partnerTokens.push(partner.token);
    if (setup.hasMethod) {
      const added = await mutate(
        t,
        program.adminToken,
        "addPayoutMethod",
        { partnerId: partner.id, method: { type: "ACH", accountNumber: "000123456789", routingNumber: "011000015", accountType: "CHECKING", accountName: `O${i}` } },
        "payoutMethod { id }",
      );
      expect(added.userErrors).toEqual([]);
      const account = setup.rail === "STRIPE" ? `acct_1Oracle${run}p${i}` : null;
      const email = setup.rail === "PAYPAL" ? `o${i}-${run}@paypal.oracle.test` : null;
      if (account) stripe.connectedAccounts.set(account, { transfers: "active" });
      const method = account
        ? { type: "STRIPE", accountId: account }
        : setup.rail === "WISE"
          ? { type: "WISE", currency: "EUR", accountName: `Olga Oracle${i}`, iban: "DE89 3704 0044 0532 0130 00" }
          : { type: "PAYPAL", email };
      const viaRail = await mutate(t, program.adminToken, "addPayoutMethod", { partnerId: partner.id, method, makeDefault: true }, "payoutMethod { verificationStatus }");
      expect(viaRail.payoutMethod?.verificationStatus, JSON.stringify(viaRail.userErrors)).toBe("VERIFIED");
      accounts.push(account);
      emails.push(email);
    } else {
      accounts.push(null);
      emails.push(null);
    }
    const billing = await mutate(
      t,
      program.adminToken,
      "setBillingProfile",
      { partnerId: partner.id, profile: { entityType: "INDIVIDUAL", legalName: `O${i}`, country: "US", taxForm: "W9", taxId: "123-45-6789" } },
      "billingProfile { legalName }",
    );
    expect(billing.userErrors).toEqual([]);
  }
  return { program, accounts, emails, writer, partners, partnerTokens, model: new Model(setups, Date.parse(START), run % 2 === 1), step: 0 };
}

const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);

/** Applies one operation to the API and the model; returns whether it took effect (they must agree). */
async function apply(t: TestApp, w: World, op: Op): Promise<boolean> {
  const { model, program } = w;
  const admin = program.adminToken;
  w.step += 1;
  const saleLines = model.lines.filter((l) => l.kind === "CONVERSION");
  // Operations aim at what they can act on (a draft to approve, a held line
  // to release) when there is one, so every kind takes effect; with nothing
  // to aim at they go to any record, and the refusal is checked too.
  const aim = <T>(all: T[], fits: (x: T) => boolean, index: number): T | undefined => {
    const some = all.filter(fits);
    const from = some.length > 0 ? some : all;
    return from[index % Math.max(from.length, 1)];
  };
  const counting = (l: MLine) => l.status !== "CANCELLED" && l.status !== "REVERSED";
  const reviewFits: Record<ReviewAction, (l: MLine) => boolean> = {
    approve: (l) => l.status === "PENDING" && l.payout === null,
    hold: (l) => (l.status === "PENDING" || l.status === "APPROVED") && l.payout === null,
    release: (l) => l.status === "ON_HOLD",
    cancel: (l) => counting(l) && l.status !== "PAID" && l.payout === null,
    reinstate: (l) => l.status === "CANCELLED",
  };
  const agree = (expected: boolean, actual: boolean, detail: unknown) => {
    expect(
      actual,
      `step ${w.step} ${JSON.stringify(op)}: the API ${actual ? "took" : "refused"} it, the model ${expected ? "takes" : "refuses"} it: ${JSON.stringify(detail)}`,
    ).toBe(expected);
    return actual;
  };
  switch (op.op) {
    case "sale": {
      const partners = op.two ? [op.partner, (op.partner + 1) % 3] : [op.partner];
      const externalId = `sale-${w.step}`;
      const result = await mutate(
        t,
        w.writer,
        "recordConversion",
        {
          externalId,
          partners: partners.map((p) => ({ id: w.partners[p] })),
          amount: money(op.cents),
          currency: op.eur ? "EUR" : "USD",
          ...(op.eur ? { exchangeRate: "1.0825" } : {}),
          occurredAt: new Date(model.now - op.daysAgo * 86_400_000).toISOString(),
        },
        "conversion { id commissions { id partnerId } }",
      );
      expect(result.userErrors).toEqual([]);
      const ids = partners.map((p) => result.conversion.commissions.find((c: { partnerId: string }) => c.partnerId === w.partners[p]).id as string);
      model.sale(
        result.conversion.id,
        partners,
        dec(money(op.cents)),
        op.eur ? "EUR" : "USD",
        model.now - op.daysAgo * 86_400_000,
        monthOf(model.now - op.daysAgo * 86_400_000),
        ids,
      );
      return true;
    }
    case "refund": {
      if (model.sales.length === 0) return false;
      const sale = aim(model.sales, (s) => s.refunded.lessThan(s.amount), op.sale)!;
      const index = model.sales.indexOf(sale);
      const result = await mutate(
        t,
        w.writer,
        "reverseConversion",
        { conversionId: sale.id, refundId: `refund-${w.step}`, amount: op.cents === null ? null : money(op.cents), kind: op.chargeback ? "CHARGEBACK" : "REFUND" },
        "reversal { id }",
      );
      const expected = model.refund(index, op.cents === null ? null : dec(money(op.cents)));
      return agree(expected, result.userErrors.length === 0, result.userErrors);
    }
    case "approve":
    case "hold":
    case "release":
    case "cancel":
    case "reinstate": {
      if (saleLines.length === 0) return false;
      const line = aim(saleLines, reviewFits[op.op], op.line)!;
      const name = `${op.op}Commissions`;
      const result = await mutate(
        t,
        admin,
        name,
        { ids: [line.id], ...(op.op === "hold" || op.op === "cancel" ? { reason: "oracle" } : {}) },
        "commissions { id } skipped { code message }",
      );
      const expected = model.review(line.key, op.op);
      return agree(expected, result.commissions.length === 1, result.skipped ?? result.userErrors);
    }
    case "adjust": {
      if (saleLines.length === 0) return false;
      const line = aim(saleLines, counting, op.line)!;
      const result = await mutate(t, admin, "adjustCommission", { id: line.id, amount: money(op.cents), reasonCode: "CORRECTION" }, "commission { id }");
      const expected = model.adjust(line.key, dec(money(op.cents)));
      return agree(expected, result.userErrors.length === 0, result.userErrors);
    }
    case "credit": {
      const result = await mutate(t, admin, "creditPartner", { partnerId: w.partners[op.partner], amount: money(op.cents), reasonCode: "BONUS" }, "commission { id }");
      expect(result.userErrors).toEqual([]);
      model.credit(op.partner, dec(money(op.cents)));
      return true;
    }
    case "writeOff": {
      const partner = aim([0, 1, 2], (p) => model.balance(p).payable.isNegative(), op.partner)!;
      const result = await mutate(t, admin, "writeOffBalance", { partnerId: w.partners[partner], reason: "oracle" }, "commission { id }");
      const expected = model.writeOff(partner);
      return agree(expected, result.userErrors.length === 0, result.userErrors);
    }
    case "draft": {
      const partner = aim([0, 1, 2], (p) => model.blocker(p) === null, op.partner)!;
      const result = await mutate(t, admin, "createPayout", { partnerId: w.partners[partner] }, "payout { id }");
      const expected = model.draft(partner);
      if (agree(expected, result.userErrors.length === 0, result.userErrors)) model.payouts.at(-1)!.id = result.payout.id;
      return expected;
    }
    case "approvePayout":
    case "payPayout":
    case "cancelPayout":
    case "bounce": {
      if (model.payouts.length === 0) return false;
      const wanted = { approvePayout: ["DRAFT"], payPayout: ["APPROVED"], cancelPayout: ["DRAFT", "APPROVED"], bounce: ["PAID"] }[op.op];
      const payout = aim(model.payouts, (p) => wanted.includes(p.status) && !p.bounced, op.payout)!;
      let took: boolean;
      let detail: unknown;
      if (op.op === "bounce") {
        const result = await mutate(t, admin, "recordPayoutBounce", { payoutId: payout.id, reason: "account closed" }, "payout { id }");
        took = result.userErrors.length === 0;
        detail = result.userErrors;
      } else {
        const [name, extra] = {
          approvePayout: ["approvePayouts", {}],
          payPayout: ["markPayoutsPaid", { method: "ACH", reference: `ach-${w.step}` }],
          cancelPayout: ["cancelPayouts", { reason: "oracle" }],
        }[op.op] as [string, object];
        const result = await mutate(t, admin, name, { ids: [payout.id], ...extra }, "payouts { id } skipped { code message }");
        took = result.payouts?.length === 1;
        detail = result.skipped ?? result.userErrors;
      }
      const expected = {
        approvePayout: () => model.approvePayout(payout.key),
        payPayout: () => model.payPayout(payout.key),
        cancelPayout: () => model.cancelPayout(payout.key),
        bounce: () => model.bounce(payout.key),
      }[op.op]();
      return agree(expected, took, detail);
    }
    case "removeLine": {
      const drafts = model.payouts.filter((p) => p.status === "DRAFT");
      if (drafts.length === 0) return false;
      const payout = drafts[op.payout % drafts.length]!;
      const keys = [...payout.lines].sort((a, b) => a - b);
      if (keys.length === 0) return false;
      const line = model.lines[keys[op.line % keys.length]!]!;
      const result = await mutate(t, admin, "removePayoutLines", { payoutId: payout.id, commissionIds: [line.id], reason: "oracle" }, "payout { id }");
      const expected = model.removeLine(payout.key, line.key);
      return agree(expected, result.userErrors.length === 0, result.userErrors);
    }
    case "send": {
      if (model.payouts.length === 0) return false;
      const payout = aim(model.payouts, (p) => p.status === "APPROVED", op.payout)!;
      const account = w.accounts[payout.partner];
      // A failure: the partner's connected account is gone when Stripe is asked (it refuses that transfer).
      if (op.fate === "failed" && account) stripe.connectedAccounts.delete(account);
      const result = await mutate(t, program.financeToken, "sendPayouts", { ids: [payout.id] }, "payouts { id } skipped { code message }");
      await t.app.scheduler.tasks.outbox();
      if (account) stripe.connectedAccounts.set(account, { transfers: "active" });
      const expected = model.send(payout.key, op.fate);
      return agree(expected, result.payouts?.length === 1, result.skipped ?? result.userErrors);
    }
    case "settle": {
      if (model.payouts.length === 0) return false;
      const payout = aim(model.payouts, (p) => p.status === "PROCESSING" && !p.unclaimed, op.payout)!;
      // PayPal settles the batch (the partner's item meets the fate), Wise moves the transfer (sent, or cancelled; it has no unclaimed);
      // each tells accrue by webhook; the rails task applies it.
      const transfer = (await transfersOf(t, admin, payout.id!)).find((x) => x.provider !== "STRIPE" && x.status === "PROCESSING");
      let took = false;
      if (transfer?.provider === "PAYPAL" && transfer.providerBatchId) {
        paypal.fates.set(w.emails[payout.partner]!, ({ paid: "SUCCESS", failed: "FAILED", unclaimed: "UNCLAIMED" } as const)[op.fate]);
        await paypal.settle(transfer.providerBatchId);
      } else if (transfer?.provider === "WISE" && transfer.providerTransferId) {
        const states = op.fate === "failed" ? ["cancelled"] : ["funds_converted", "outgoing_payment_sent"];
        for (const state of states) await wise.simulate(Number(transfer.providerTransferId), state);
      }
      if (transfer) {
        await t.app.scheduler.tasks.paymentRails();
        took = (await transfersOf(t, admin, payout.id!)).every((x) => x.status !== "PROCESSING");
      }
      return agree(model.settle(payout.key, op.fate), took, transfer);
    }
    case "providerReturn": {
      if (model.payouts.length === 0) return false;
      const payout = aim(model.payouts, (p) => (p.status === "PAID" && p.viaRail) || (p.status === "PROCESSING" && p.unclaimed), op.payout)!;
      const transfer = (await transfersOf(t, admin, payout.id!)).find((x) => x.status === "PAID" || x.status === "UNCLAIMED");
      let took = false;
      if (transfer?.providerTransferId) {
        // Stripe reverses the whole transfer; Wise's bounces back; PayPal refunds a paid item, or returns an unclaimed one after 30 days; each tells accrue by webhook; the rails task applies it.
        if (transfer.provider === "STRIPE") await stripe.reverse(transfer.providerTransferId);
        else if (transfer.provider === "WISE") await wise.simulate(Number(transfer.providerTransferId), "bounced_back");
        else if (transfer.status === "PAID") await paypal.refund(transfer.providerTransferId);
        else await paypal.expireUnclaimed(transfer.providerTransferId);
        await t.app.scheduler.tasks.paymentRails();
        const after = await call(t, admin, `query($id: ID!) { node(id: $id) { ... on Payout { status } } }`, { id: payout.id });
        took = after.node.status === (transfer.status === "PAID" ? "RETURNED" : "FAILED");
      }
      return agree(model.providerReturn(payout.key), took, transfer);
    }
    case "advance":
      t.clock.advance(op.days * 86_400_000);
      model.advance(op.days);
      return true;
  }
}

/** A payout's send attempts, as operators read them. */
async function transfersOf(
  t: TestApp,
  token: string,
  payoutId: string,
): Promise<{ provider: string; status: string; providerTransferId: string | null; providerBatchId: string | null }[]> {
  const sent = await call(t, token, `query($id: ID!) { node(id: $id) { ... on Payout { transfers { provider status providerTransferId providerBatchId } } } }`, { id: payoutId });
  return sent.node?.transfers ?? [];
}

async function statementClosing(t: TestApp, token: string, partnerId: string): Promise<string> {
  const response = await fetch(`${t.url}/exports/statement.csv?partnerId=${encodeURIComponent(partnerId)}&from=2020-01-01&to=2035-12-31`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
  const rows = parse(await response.text(), { columns: true }) as Record<string, string>[];
  const closing = rows.at(-1)!;
  expect(closing.type).toBe("CLOSING_BALANCE");
  return closing.balance!;
}

const fixed = (value: Dec) => value.toFixed(2);

/** Matches the API's lines to the model's (new ones by what they are), then compares everything. */
async function check(t: TestApp, w: World, context: string): Promise<void> {
  const { model } = w;
  // One query for the state and the statements beside it, at once.
  const [state, ...closings] = await Promise.all([call(t, w.program.adminToken, `{ ${STATE} }`), ...w.partners.map((id) => statementClosing(t, w.program.financeToken, id))]);
  const portals = await Promise.all(w.partnerTokens.map((token) => call(t, token, PORTAL)));
  expect(state.commissions.pageInfo.hasNextPage).toBe(false);
  const partnerIndex = new Map(w.partners.map((id, i) => [id, i]));
  const api = state.commissions.edges.map((e: any) => e.node) as {
    id: string;
    kind: string;
    status: string;
    amount: { amount: string };
    partnerId: string;
    reasonCode: string | null;
    related: { id: string } | null;
  }[];
  const byId = new Map(model.lines.filter((l) => l.id).map((l) => [l.id!, l]));
  // The product may book a bounce as it likes beside the rebooked money (a
  // negative line of the payment that came back): balances are checked below.
  const unknown = api.filter((l) => !byId.has(l.id) && !(l.reasonCode === "PAYMENT_BOUNCED" && l.amount.amount.startsWith("-")));
  for (const line of model.unmatched()) {
    const kind = line.kind === "BOUNCE" ? "CREDIT" : line.kind;
    const related = line.related === null ? null : model.lines[line.related]!.id;
    const index = unknown.findIndex(
      (a) => a.kind === kind && partnerIndex.get(a.partnerId) === line.partner && (a.related?.id ?? null) === related && dec(a.amount.amount).equals(line.amount),
    );
    expect(index, `${context}: the model booked ${kind} ${fixed(line.amount)} for partner ${line.partner}; the API has ${JSON.stringify(unknown)}`).toBeGreaterThanOrEqual(0);
    line.id = unknown[index]!.id;
    byId.set(line.id, line);
    unknown.splice(index, 1);
  }
  expect(unknown, `${context}: lines the model did not book`).toEqual([]);
  const lineState = (l: MLine) => `${l.kind === "BOUNCE" ? "CREDIT" : l.kind} ${l.status} ${fixed(l.amount)} p${l.partner}`;
  const apiLines = api.filter((a) => byId.has(a.id)).map((a) => `${a.id} ${a.kind} ${a.status} ${dec(a.amount.amount).toFixed(2)} p${partnerIndex.get(a.partnerId)}`);
  const modelLines = api.filter((a) => byId.has(a.id)).map((a) => `${a.id} ${lineState(byId.get(a.id)!)}`);
  expect(apiLines, `${context}: lines`).toEqual(modelLines);

  const payouts = new Map((state.payouts.edges as any[]).map((e) => [e.node.id as string, e.node]));
  expect(payouts.size, `${context}: payouts`).toBe(model.payouts.length);
  for (const payout of model.payouts) {
    const got = payouts.get(payout.id!);
    expect(`${got?.status} ${dec(got?.amount.amount ?? "0").toFixed(2)}`, `${context}: payout ${payout.key}`).toBe(`${payout.status} ${fixed(payout.amount)}`);
  }

  expect(state.reconcileBalances, `${context}: reconcile`).toEqual({ ok: true, mismatches: [] });
  const balances = new Map((state.partners.edges as any[]).map((e) => [e.node.id as string, e.node.balance]));
  for (const [i, id] of w.partners.entries()) {
    const b = balances.get(id);
    const got = ["pending", "payable", "inPayouts", "paid", "lifetimeEarned"].map((k) => `${k} ${dec(b[k].amount).toFixed(2)}`);
    const m = model.balance(i);
    const want = (["pending", "payable", "inPayouts", "paid", "lifetimeEarned"] as const).map((k) => `${k} ${fixed(m[k])}`);
    expect(got, `${context}: partner ${i}'s balance`).toEqual(want);
    // The same, read by the partner itself: its balance and its lines as the operators see them.
    const portal = portals[i];
    expect(portal.viewer.partner.id).toBe(id);
    expect(
      ["pending", "payable", "inPayouts", "paid", "lifetimeEarned"].map((k) => `${k} ${dec(portal.viewer.partner.balance[k].amount).toFixed(2)}`),
      `${context}: partner ${i}'s balance, read by the partner`,
    ).toEqual(want);
    expect(portal.commissions.pageInfo.hasNextPage).toBe(false);
    const own = (lines: { id: string; status: string; amount: { amount: string } }[]) => lines.map((l) => `${l.id} ${l.status} ${l.amount.amount}`).sort();
    expect(own(portal.commissions.edges.map((e: any) => e.node)), `${context}: partner ${i}'s lines, read by the partner`).toEqual(own(api.filter((a) => a.partnerId === id)));
    // The count of a partner's lines (kept on its balance row) is how many it has, read by the partner and by operators.
    const count = api.filter((a) => a.partnerId === id).length;
    expect(portal.commissions.totalCount, `${context}: partner ${i}'s count of lines, read by the partner`).toBe(count);
    expect((state.partners.edges as any[]).find((e) => e.node.id === id).node.commissions.totalCount, `${context}: partner ${i}'s count of lines, read by operators`).toBe(count);
    expect(closings[i], `${context}: partner ${i}'s statement closes at earned − paid`).toBe(fixed(model.owed(i)));
  }
  const now = model.payableNow();
  expect(`${dec(state.payoutsOverview.payableNow.amount).toFixed(2)} / ${state.payoutsOverview.payableNowPartners}`, `${context}: payableNow`).toBe(
    `${fixed(now.amount)} / ${now.partners}`,
  );
}

describe.skipIf(!hasPostgres)("money oracle (PostgreSQL, over HTTP)", () => {
  let t: TestApp;
  beforeAll(async () => {
    stripe = await startStripeStandIn();
    stripe.balances.set("usd", 10n ** 12n);
    paypal = await startPayPalStandIn();
    wise = await startWiseStandIn();
    wise.balances.set("USD", "1000000000.00");
    // The hold-release task runs after each step of half the runs, as time passing would run it; never on its own timer.
    t = await startTestApp("postgres", {
      env: {
        ACCRUE_SCHEDULER: "false",
        ACCRUE_MAX_QUERY_COST: "2000000",
        STRIPE_API_URL: stripe.url,
        PAYPAL_API_URL: paypal.url,
        WISE_API_URL: wise.url,
        WISE_WEBHOOK_PUBLIC_KEY: wise.webhookPublicKey,
      },
    });
  });
  afterAll(async () => {
    await t?.stop();
    await stripe?.close();
    await paypal?.close();
    await wise?.close();
  });

  it("keeps balances, payouts, statements and payableNow equal to the model through random operations", async () => {
    const tookEffect = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<(typeof KINDS)[number], number>;
    let run = 0;
    const seed = Number(process.env.ORACLE_SEED ?? 20261130);
    await fc.assert(
      // A few sales first, so the rest has money to move.
      fc.asyncProperty(
        fc.array(saleArbitrary, { minLength: 3, maxLength: 5 }),
        fc.array(opArbitrary, { minLength: 15, maxLength: Number(process.env.ORACLE_STEPS ?? 30) }),
        async (sales, rest) => {
          run += 1;
          const w = await newWorld(t, run);
          const releasesHolds = Math.floor(run / 2) % 2 === 0;
          for (const op of [...sales, ...rest]) {
            const took = await apply(t, w, op);
            if (took) tookEffect[op.op] += 1;
            if (process.env.ORACLE_DEBUG) console.info(run, w.step, took, JSON.stringify(op));
            // Half the runs (both approval modes) never run it: time alone ends a hold (domain/payable.ts),
            // so every figure must match the model whether the job has marked the lines or not.
            if (releasesHolds) await t.app.scheduler.tasks.releaseHolds();
            await check(t, w, `run ${run} step ${w.step} ${JSON.stringify(op)}`);
          }
        },
      ),
      {
        numRuns: Number(process.env.ORACLE_RUNS ?? 8),
        seed,
        path: process.env.ORACLE_PATH,
        examples: process.env.ORACLE_PATH ? [] : [TOUR, WISE_TOUR],
        endOnFailure: true,
        verbose: 1,
      },
    );
    const cache = t.app.responseCache?.stats();
    console.info(`money oracle (seed ${seed}): operations that took effect ${JSON.stringify(tookEffect)}; partner reads from memory ${JSON.stringify(cache)}`);
    if (process.env.ORACLE_PATH === undefined) {
      const never = KINDS.filter((k) => tookEffect[k] === 0);
      expect(never, "operation kinds that never took effect: their invariants went untested").toEqual([]);
      // The partners' reads were checked both ways: executed after their changes, and from memory between them.
      if (cache) expect(cache.hits, "partner reads served from memory").toBeGreaterThan(0);
    }
  }, 600_000);
});
