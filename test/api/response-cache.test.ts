import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEDGER_HEADERS } from "../../src/db/statement-ledger.ts";
import { isCacheableOperation } from "../../src/graphql/response-cache.ts";
import { buildSchema } from "../../src/graphql/schema.ts";
import { costWeightsFor } from "../../src/limits/field-cost.ts";
import { operationCost } from "../../src/limits/operation-cost.ts";
import { hasPostgres } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { recordSale, ReverseDoc, ReviewDocs } from "../helpers/ledger-docs.ts";
import { ApprovePayoutsDoc, CancelPayoutsDoc, CreatePayoutDoc, makePayable, PayPayoutsDoc, payableSale } from "../helpers/payout-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

/**
 * Partner reads answered from memory (src/graphql/response-cache.ts): an
 * answer is served again only while the partner's event sequence, its
 * balance's currency and the clock (before the next hold end) say it is
 * still the answer. Every read here is checked byte for byte against a
 * second server on the same database with the cache off, and a read served
 * from memory is seen by its statements: the validity check alone.
 */

const PORTAL = `query Portal {
  viewer { partner { id balance { payable { amount currency } pending { amount currency } inPayouts { amount currency } paid { amount currency } lifetimeEarned { amount } recoverable { amount } } } }
  commissions(first: 50) { totalCount edges { node { id kind amount { amount currency } status occurredAt payableAt isPayable } } }
}`;

const DAY = 86_400_000;

describe("which operations may be cached", () => {
  const schema = buildSchema();
  const judge = (text: string, operationName?: string) => isCacheableOperation(schema, parse(text), operationName);

  it("caches the portal's reads and nothing outside the fields the partner's event sequence covers", () => {
    expect(judge(PORTAL)).toBe(true);
    expect(judge(`query { viewer { __typename role subject partner { id commissions(first: 5) { edges { cursor node { id status } } pageInfo { hasNextPage } } } } }`)).toBe(true);
    // Profile, token expiry, payouts, program settings: changed without an event for the partner, or by time.
    expect(judge(`query { viewer { partner { id name } } }`)).toBe(false);
    expect(judge(`query { viewer { expiresAt } }`)).toBe(false);
    expect(judge(`query { viewer { program { currency } } }`)).toBe(false);
    expect(judge(`query { viewer { partner { balance { updatedAt } } } }`)).toBe(false);
    expect(judge(`query { commissions(first: 5) { edges { node { id statusReason } } } }`)).toBe(false);
    expect(judge(`query { __schema { queryType { name } } }`)).toBe(false);
    // Through a fragment, or in another operation of the document: judged on the whole document.
    expect(judge(`query A { viewer { partner { ...P } } } fragment P on Partner { id email }`, "A")).toBe(false);
    expect(judge(`query A { viewer { role } } query B { viewer { partner { name } } }`, "A")).toBe(false);
    expect(judge(`mutation { __typename }`)).toBe(false);
    expect(judge(`subscription { __typename }`)).toBe(false);
  });
});

describe.skipIf(!hasPostgres)("partner reads served from memory (PostgreSQL, over HTTP)", () => {
  let t: TestApp;
  /** The same database and clock, the cache off: what every answer must be. */
  let reference: TestApp;
  let acme: ProgramFixture;
  let integration: string;

  beforeAll(async () => {
    t = await startTestApp("postgres", { countStatements: true, env: { ACCRUE_SCHEDULER: "false" } });
    t.clock.set("2026-03-10T12:00:00.000Z");
    const config = t.app.config.database;
    if (config.kind !== "postgres") throw new Error("postgres expected");
    reference = await startTestApp("postgres", { databaseUrl: config.url, clock: t.clock, env: { ACCRUE_SCHEDULER: "false", ACCRUE_RESPONSE_CACHE: "false" } });
    expect(reference.app.responseCache).toBeUndefined();
    acme = await createProgramFixture(t, { commissionRule: { type: "PERCENTAGE", percent: "10" }, holdPeriodDays: 3, minimumPayout: "1.00" });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
  }, 120_000);
  afterAll(async () => {
    await reference?.stop();
    await t?.stop();
  });

  /** One read as the body's exact bytes, with the statements it sent. */
  async function read(app: TestApp, token: string, query = PORTAL, variables: Record<string, unknown> = {}) {
    const response = await fetch(`${app.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/graphql-response+json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, text: await response.text(), statements: Number(response.headers.get(LEDGER_HEADERS.statements)) };
  }

  /** A mutation (or operator read) through the cached server; fails on errors. */
  async function run(query: string, variables: Record<string, unknown>, token: string) {
    const response = await t.raw({ query, variables }, token);
    return dataOf(response) as Record<string, { userErrors?: unknown[] } & Record<string, unknown>>;
  }

  /**
   * Reads as the partner: the answer is the uncached server's, byte for
   * byte; read again it comes from memory (one statement: the validity
   * check) and is the same bytes.
   */
  async function portal(token: string, query = PORTAL): Promise<string> {
    const fresh = await read(t, token, query);
    expect(fresh.status).toBe(200);
    expect(fresh.text).not.toContain('"errors"');
    expect(fresh.text).toBe((await read(reference, token, query)).text);
    const again = await read(t, token, query);
    expect(again.text).toBe(fresh.text);
    expect(again.statements).toBe(1);
    return fresh.text;
  }

  it("answers every change that concerns the partner at once: sales, reviews, corrections, refunds, credits and each step of a payout", async () => {
    const partner = await createPartnerFixture(t, acme);
    await makePayable(t, acme, partner.id);
    let seen = await portal(partner.token);
    /** After a change: the read is executed (more than the validity check), gives the uncached answer, and differs from the last one. */
    const changedBy = async (what: string, change: () => Promise<unknown>, { differs = true } = {}) => {
      await change();
      const first = await read(t, partner.token);
      expect(first.statements, `${what}: executed, not served from memory`).toBeGreaterThan(1);
      const now = await portal(partner.token);
      if (differs) expect(now, `${what}: a new answer`).not.toBe(seen);
      seen = now;
    };

    let sale = { commissionId: "", conversionId: "" };
    await changedBy("recordConversion", async () => {
      sale = await recordSale(t, integration, partner.id, { amount: "100.00" });
    });
    await changedBy("approve", () => t.gql(ReviewDocs.approve, { input: { ids: [sale.commissionId] } }, acme.adminToken));
    await changedBy("hold", () => t.gql(ReviewDocs.hold, { input: { ids: [sale.commissionId], reason: "checking" } }, acme.adminToken));
    await changedBy("release", () => t.gql(ReviewDocs.release, { input: { ids: [sale.commissionId] } }, acme.adminToken));
    await changedBy("cancel", () => t.gql(ReviewDocs.cancel, { input: { ids: [sale.commissionId], reason: "fraud" } }, acme.adminToken));
    await changedBy("reinstate", () => t.gql(ReviewDocs.reinstate, { input: { ids: [sale.commissionId] } }, acme.adminToken));
    await changedBy("adjust", () =>
      run(
        `mutation ($input: AdjustCommissionInput!) { adjustCommission(input: $input) { userErrors { code } } }`,
        { input: { id: sale.commissionId, amount: "-1.50", reasonCode: "CORRECTION" } },
        acme.financeToken,
      ),
    );
    await changedBy("credit", () =>
      run(
        `mutation ($input: CreditPartnerInput!) { creditPartner(input: $input) { userErrors { code } } }`,
        { input: { partnerId: partner.id, amount: "7.00" } },
        acme.financeToken,
      ),
    );
    const refunded = await recordSale(t, integration, partner.id, { amount: "80.00" });
    seen = await portal(partner.token);
    await changedBy("reverseConversion (a refund)", () =>
      t.gql(ReverseDoc, { input: { conversionId: refunded.conversionId, refundId: "rf-cache-1", amount: "40.00" } }, integration),
    );

    await payableSale(t, acme, integration, partner.id, "200.00");
    seen = await portal(partner.token);
    let payoutId = "";
    await changedBy("createPayout (draft)", async () => {
      const created = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: partner.id } }, acme.financeToken)).createPayout;
      expect(created.userErrors).toEqual([]);
      payoutId = created.payout!.id;
    });
    // Approving a payout moves no line (its lines were in payouts already): the answer is the same, and executed afresh.
    await changedBy("approvePayouts", () => t.gql(ApprovePayoutsDoc, { input: { ids: [payoutId] } }, acme.financeToken), { differs: false });
    await changedBy("markPayoutsPaid", () => t.gql(PayPayoutsDoc, { input: { ids: [payoutId], method: "PAYPAL" } }, acme.financeToken));

    await payableSale(t, acme, integration, partner.id, "60.00");
    seen = await portal(partner.token);
    await changedBy("createPayout (second draft)", async () => {
      payoutId = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: partner.id } }, acme.financeToken)).createPayout.payout!.id;
    });
    await changedBy("cancelPayouts", () => t.gql(CancelPayoutsDoc, { input: { ids: [payoutId], reason: "wrong period" } }, acme.financeToken));
  }, 180_000);

  it("serves no answer past a hold's end: the line is payable on the next read, with no event", async () => {
    const partner = await createPartnerFixture(t, acme);
    const t0 = t.clock.now().getTime();
    const sale = await recordSale(t, integration, partner.id, { amount: "100.00", occurredAt: new Date(t0).toISOString() });
    dataOf(await t.gql(ReviewDocs.approve, { input: { ids: [sale.commissionId] } }, acme.adminToken));
    const held = await portal(partner.token);
    expect(held).toContain('"payable":{"amount":"0.00","currency":"USD"}');
    // One millisecond before the hold ends the answer stands (served from memory); at its end it changes.
    t.clock.set(new Date(t0 + 3 * DAY - 1).toISOString());
    expect((await read(t, partner.token)).statements).toBe(1);
    t.clock.set(new Date(t0 + 3 * DAY).toISOString());
    const first = await read(t, partner.token);
    expect(first.statements).toBeGreaterThan(1);
    const due = await portal(partner.token);
    expect(due).toContain('"payable":{"amount":"10.00","currency":"USD"}');
    expect(due).toContain('"isPayable":true');
  });

  it("answers a change of the program's currency (no event for the partner) at once", async () => {
    const fresh = await createProgramFixture(t, { currency: "USD" });
    const partner = await createPartnerFixture(t, fresh);
    expect(await portal(partner.token)).toContain('"currency":"USD"');
    const updated = await run(
      `mutation ($input: UpdateProgramSettingsInput!) { updateProgramSettings(input: $input) { userErrors { code } } }`,
      { input: { currency: "EUR" } },
      fresh.adminToken,
    );
    expect(updated.updateProgramSettings!.userErrors).toEqual([]);
    const after = await portal(partner.token);
    expect(after).toContain('"currency":"EUR"');
    expect(after).not.toContain('"currency":"USD"');
  });

  it("never answers one partner or program with another's entry", async () => {
    const other = await createProgramFixture(t);
    const mine = [await createPartnerFixture(t, acme), await createPartnerFixture(t, acme), await createPartnerFixture(t, other)];
    for (const p of mine) await recordSale(t, p === mine[2] ? await other.integrationToken(["CONVERSIONS_WRITE"]) : integration, p.id, { amount: "30.00" });
    // The fixtures' partner tokens all carry the same subject: only the program and partner tell them apart.
    for (const p of mine) {
      const first = await read(t, p.token);
      expect(first.statements).toBeGreaterThan(1);
      expect(first.text).toContain(`"id":"${p.id}"`);
      expect(await portal(p.token)).toBe(first.text);
    }
  });

  it("runs authentication before the cache: an expired token is refused although its answer is kept", async () => {
    const partner = await createPartnerFixture(t, acme);
    const shortLived = await t.token({ role: "partner", programId: acme.rawId, partnerId: partner.rawId }, 60);
    await portal(shortLived);
    const back = t.clock.now();
    t.clock.advance(3_600_000);
    try {
      const refused = await read(t, shortLived);
      expect(refused.status).toBe(401);
      expect(refused.text).toContain("UNAUTHENTICATED");
      expect(refused.text).not.toContain(partner.id);
    } finally {
      t.clock.set(back);
    }
  });

  it("executes a read that asks for anything else every time, and keeps no answer with errors", async () => {
    const partner = await createPartnerFixture(t, acme);
    const profile = `query { viewer { partner { id name balance { payable { amount } } } } }`;
    const kept = t.app.responseCache!.stats().stores;
    for (let i = 0; i < 2; i += 1) {
      const answer = await read(t, partner.token, profile);
      expect(answer.text).toContain(`"id":"${partner.id}"`);
      expect(answer.statements).toBeGreaterThan(1);
    }
    // A partner may not name another partner: an error, executed again each time.
    const refused = `query ($p: ID!) { commissions(first: 5, filter: { partnerId: $p }) { edges { node { id } } } }`;
    const otherPartner = await createPartnerFixture(t, acme);
    for (let i = 0; i < 2; i += 1) expect((await read(t, partner.token, refused, { p: otherPartner.id })).text).toContain('"errors"');
    expect(t.app.responseCache!.stats().stores).toBe(kept);
  });

  it("does not cache operators' reads", async () => {
    const before = t.app.responseCache!.stats();
    const query = `query { commissions(first: 5) { edges { node { id status } } } }`;
    for (let i = 0; i < 2; i += 1) expect((await read(t, acme.adminToken, query)).text).toContain('"status"');
    expect(t.app.responseCache!.stats()).toMatchObject({ hits: before.hits, stores: before.stores });
  });

  it("spends a cached answer's cost from the token's budget like an executed one", async () => {
    const measured = operationCost(buildSchema(), parse(PORTAL), undefined, {}, costWeightsFor("postgres"));
    if ("errors" in measured) throw new Error("the portal's read has no cost");
    const config = t.app.config.database;
    if (config.kind !== "postgres") throw new Error("postgres expected");
    // A minute's budget of two portal reads: the first executed, the second from memory, the third refused.
    const limited = await startTestApp("postgres", {
      databaseUrl: config.url,
      clock: t.clock,
      countStatements: true,
      env: {
        ACCRUE_SCHEDULER: "false",
        ACCRUE_MAX_QUERY_COST: String(Math.max(100, measured.cost)),
        ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE: String(Math.max(100, 2 * measured.cost)),
      },
    });
    try {
      const partner = await createPartnerFixture(t, acme);
      expect((await read(limited, partner.token)).statements).toBeGreaterThan(1);
      expect((await read(limited, partner.token)).statements).toBe(1);
      const third = await read(limited, partner.token);
      expect(third.status).toBe(429);
      expect(third.text).toContain("THROTTLED");
    } finally {
      await limited.stop();
    }
  });
});
