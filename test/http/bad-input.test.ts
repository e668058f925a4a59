import { createHmac } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectDoc } from "../helpers/accounting-docs.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { startQuickBooksStandIn, type StandIn } from "../helpers/quickbooks-stand-in.ts";
import { dataOf, globalId, startTestApp, type TestApp } from "../helpers/test-app.ts";

const notAUuid = (type: string) => encodeURIComponent(globalId(type, "notauuid"));

/** Malformed HTTP requests outside GraphQL (exports, QuickBooks) get a 400 with a clear message, never a 500. */
describe("malformed HTTP requests", () => {
  let t: TestApp;
  let qbo: StandIn;
  let acme: ProgramFixture;
  let partnerId: string;
  // Intuit's token endpoint answering 200 without tokens.
  let tokenless: Server;

  beforeAll(async () => {
    qbo = await startQuickBooksStandIn();
    tokenless = createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ token_type: "bearer" }));
    });
    tokenless.listen(0, "127.0.0.1");
    await once(tokenless, "listening");
    const tokenUrl = `http://127.0.0.1:${(tokenless.address() as AddressInfo).port}/oauth2/v1/tokens/bearer`;
    t = await startTestApp("pglite", { env: { ...qbo.env, QBO_TOKEN_URL: tokenUrl } });
    acme = await createProgramFixture(t);
    partnerId = (await createPartnerFixture(t, acme)).id;
  });
  afterAll(async () => {
    await t?.stop();
    await qbo?.close();
    tokenless?.close();
  });

  const noLeak = (text: string) => expect(text).not.toMatch(/node_modules|\.ts:\d+|\bat [\w.]+ \(|SELECT |INSERT |prisma|22P02|22008|22021/i);

  describe("exports", () => {
    const get = async (path: string) => {
      const response = await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${acme.adminToken}` } });
      const text = await response.text();
      noLeak(text);
      return { status: response.status, text };
    };

    it.each([
      // path, what the message says
      [`/exports/payouts.csv?partnerId=${notAUuid("Partner")}`, /partnerId is not a Partner id/],
      [`/exports/commissions.csv?partnerId=${notAUuid("Partner")}`, /partnerId is not a Partner id/],
      [`/exports/statement.csv?partnerId=${notAUuid("Partner")}&from=2026-01-01&to=2026-01-31`, /partnerId is not a Partner id/],
      [`/exports/paypal-payouts.csv?payoutIds=${notAUuid("Payout")}`, /payoutIds is not a Payout id/],
      ["/exports/payouts.csv?paidAfter=0000-01-01", /paidAfter is an ISO 8601 date/],
      ["/exports/payouts.csv?paidAfter=2026-01-01junk", /paidAfter is an ISO 8601 date/], // was read as 2026-06-01
      ["/exports/payouts.csv?paidAfter=2026-01-01%20dec", /paidAfter is an ISO 8601 date/], // was read as 2026-12-01
      ["/exports/payouts.csv?paidBefore=2026-02-30", /paidBefore is an ISO 8601 date/],
      ["/exports/payouts.csv?paidAfter=2026-01-01T00:00:00", /paidAfter is an ISO 8601 date/], // no offset: whose midnight?
      ["/exports/commissions.csv?occurredAfter=0000-01-01T00:00:00Z", /occurredAfter is an ISO 8601 date/],
      ["/exports/statement.csv?partnerId=PARTNER&from=0000-01-01&to=2026-01-31", /from is not a real date in the years 1900 to 9999/],
      ["/exports/1099-nec.csv?year=0x7E9", /year is a tax year/], // was read as 2025
      ["/exports/1099-nec.csv?year=2025.0", /year is a tax year/],
      ["/exports/1099-nec.csv?year=%202025", /year is a tax year/],
      ["/exports/payouts.csv?status=PAID%00", /status contains a NUL character/],
      ["/exports/payouts.csv?paidAfter=2026-01-01%00", /paidAfter contains a NUL character/],
    ])("%s → 400", async (path, message) => {
      const response = await get(path.replace("PARTNER", encodeURIComponent(partnerId)));
      expect(response.status).toBe(400);
      expect(JSON.parse(response.text)).toEqual({ errors: [{ message: expect.stringMatching(message), extensions: { code: "BAD_USER_INPUT" } }] });
    });

    it.each([
      "/exports/payouts.csv?paidAfter=2026-01-01",
      `/exports/payouts.csv?paidAfter=${encodeURIComponent("2026-01-01T00:00:00+01:00")}&paidBefore=2026-12-31T00:00:00Z`,
      "/exports/1099-nec.csv?year=2026",
    ])("still reads %s", async (path) => {
      expect((await get(path)).status).toBe(200);
    });
  });

  describe("QuickBooks", () => {
    const signed = (body: string) =>
      fetch(`${t.url}/webhooks/quickbooks`, {
        method: "POST",
        headers: { "content-type": "application/json", "intuit-signature": createHmac("sha256", qbo.env.QBO_WEBHOOK_VERIFIER_TOKEN!).update(body).digest("base64") },
        body,
      });
    const jobs = () => t.app.db.prisma.outboxJob.count();

    it.each([
      "null",
      "[]",
      '"text"',
      '{"eventNotifications":5}',
      '{"eventNotifications":[5]}',
      '{"eventNotifications":[{"realmId":{"a":1},"dataChangeEvent":{"entities":[]}}]}',
      '{"eventNotifications":[{"realmId":"1","dataChangeEvent":{"entities":"abc"}}]}',
      '{"eventNotifications":[{"realmId":"1","dataChangeEvent":{"entities":[{"name":"BillPayment","id":7}]}}]}',
      '{"eventNotifications":[{"realmId":"1\\u0000","dataChangeEvent":{"entities":[{"name":"BillPayment","id":"7"}]}}]}',
      "{not json",
    ])("refuses a signed webhook body %s with 400, queuing nothing", async (body) => {
      const before = await jobs();
      const response = await signed(body);
      expect(response.status).toBe(400);
      noLeak(await response.text());
      expect(await jobs()).toBe(before);
    });

    it("still takes a well-formed notification", async () => {
      const body = JSON.stringify({ eventNotifications: [{ realmId: qbo.realmId, dataChangeEvent: { entities: [{ name: "Invoice", id: "1", operation: "Create" }] } }] });
      expect((await signed(body)).status).toBe(200);
    });

    it("shows the error page when Intuit's token endpoint answers 200 without tokens, connecting nothing", async () => {
      const started = dataOf(await t.gql(ConnectDoc, { input: { expenseAccountId: "62" } }, acme.adminToken)).connectQuickBooks;
      const state = new URL(started.authorization!.authorizeUrl).searchParams.get("state")!;
      const response = await fetch(`${t.url}/integrations/quickbooks/callback?${new URLSearchParams({ code: "any", state, realmId: qbo.realmId })}`);
      const page = await response.text();
      expect(response.status).toBe(400);
      expect(response.headers.get("content-type")).toMatch(/text\/html/);
      expect(page).toContain("QuickBooks was not connected");
      expect(page).toContain("QuickBooks answered the token request without tokens");
      noLeak(page);
      expect(await t.app.db.prisma.accountingConnection.count()).toBe(0);
    });
  });
});
