import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken, type TokenClaims } from "../../src/auth/sign-token.ts";
import { graphql } from "../../src/generated/gql/index.ts";
import { startServerProcess, type ServerProcess } from "../helpers/server-process.ts";
import { copyPgliteTemplate } from "../helpers/database-templates.ts";
import { ARTIFACTS, ensurePagesBuilt, hasChromium, launchChromium, requireChromiumInCi } from "./browser.ts";

/**
 * The partner portal and the operator dashboard in a real browser against
 * the real server (`node src/main.ts` on the embedded database), using only
 * what the public API offers. No timing assertions: Playwright's locators
 * wait for what should appear, and fail when it never does.
 */
requireChromiumInCi();

const SECRET = "web-test-secret-that-is-long-enough-for-hs256";
const require = createRequire(import.meta.url);

const CreateProgram = graphql(`
  mutation WebCreateProgram($input: CreateProgramInput!) { createProgram(input: $input) { program { id } userErrors { message } } }
`);
const CreatePartner = graphql(`
  mutation WebCreatePartner($input: CreatePartnerInput!) { createPartner(input: $input) { partner { id } userErrors { message } } }
`);
const AddMethod = graphql(`
  mutation WebAddMethod($input: AddPayoutMethodInput!) { addPayoutMethod(input: $input) { userErrors { message } } }
`);
const SetBilling = graphql(`
  mutation WebSetBilling($input: SetBillingProfileInput!) { setBillingProfile(input: $input) { userErrors { message } } }
`);
const Record = graphql(`
  mutation WebRecord($input: RecordConversionInput!) { recordConversion(input: $input) { conversion { commissions { id } } userErrors { message } } }
`);
const Cancel = graphql(`
  mutation WebCancel($input: CancelCommissionsInput!) { cancelCommissions(input: $input) { commissions { id } userErrors { message } } }
`);
const RecordFor = graphql(`
  mutation WebRecordFor($input: RecordConversionInput!) { recordConversion(input: $input) { conversion { id commissions { id } } userErrors { message } } }
`);
const ApproveLines = graphql(`
  mutation WebApproveLines($input: ApproveCommissionsInput!) { approveCommissions(input: $input) { commissions { id } userErrors { message } } }
`);
const ReverseSale = graphql(`
  mutation WebReverseSale($input: ReverseConversionInput!) { reverseConversion(input: $input) { userErrors { message } } }
`);
const MethodsOf = graphql(`
  query WebMethodsOf($id: ID!) { partner(id: $id) { payoutMethods { type accountType isDefault } } }
`);
const PayoutsOf = graphql(`
  query WebPayoutsOf($filter: PayoutFilter) { payouts(first: 10, filter: $filter) { edges { node { status amount { amount } cancelReason } } } }
`);
const OperatorOnly = graphql(`
  query WebOperatorOnly { payoutsOverview { owedToPartners { amount } } }
`);
const Ranking = graphql(`
  query WebRanking { topPartners(from: "2026-01-01", to: "2026-12-31") { partnerId } }
`);
const Balances = graphql(`
  query WebBalances { partnerBalances(first: 5) { totalCount } }
`);

describe.skipIf(!hasChromium)("the portal and the dashboard in Chromium", () => {
  let server: ServerProcess;
  let browser: Browser;
  let dataDir: string;
  let admin: string;
  let alpha: { id: string; token: string };
  let beta: { id: string; token: string };
  let portal: Page;
  const pageErrors: string[] = [];
  let sale = 0;

  async function gql<T, V>(document: TypedDocumentNode<T, V>, variables: V, token: string): Promise<{ data?: T; errors?: { extensions?: { code?: string } }[] }> {
    const response = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: print(document), variables }),
    });
    return (await response.json()) as never;
  }

  const sign = (claims: TokenClaims) => signToken(claims, { secret: SECRET, issuer: "accrue", audience: "accrue", expiresAt: new Date(Date.now() + 3_600_000) });

  /** A conversion posted by the integrator, as `curl` would; returns the commission line's id. */
  async function postSale(partnerId: string, amount: string): Promise<string> {
    sale += 1;
    const result = await gql(Record, { input: { externalId: `web-${sale}`, partners: [{ id: partnerId }], amount, currency: "USD", occurredAt: new Date().toISOString() } }, admin);
    const line = result.data?.recordConversion.conversion?.commissions[0]?.id;
    if (!line) throw new Error(JSON.stringify(result));
    return line;
  }

  async function open(path: string, options: { width?: number; height?: number; bypassCSP?: boolean } = {}): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: options.height ?? 900 }, bypassCSP: options.bypassCSP ?? false, locale: "en-US" });
    const page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(`${path.split("#")[0]}: ${message.text()}`);
    });
    page.on("pageerror", (error) => pageErrors.push(`${path.split("#")[0]}: ${error.message}`));
    return page;
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    ensurePagesBuilt();
    dataDir = mkdtempSync(join(tmpdir(), "accrue-web-"));
    copyPgliteTemplate(dataDir);
    server = await startServerProcess({ ACCRUE_DATA_DIR: dataDir, ACCRUE_JWT_SECRET: SECRET });
    browser = await launchChromium();

    const platform = await sign({ role: "platform", subject: "platform@web.test" });
    const program = await gql(
      CreateProgram,
      { input: { name: "Acme Outdoor", currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, holdPeriodDays: 0 } },
      platform,
    );
    const programId = Buffer.from(program.data!.createProgram.program!.id, "base64").toString().split(":")[1]!;
    admin = await sign({ role: "admin", subject: "admin@web.test", programId });
    const partner = async (name: string) => {
      const created = await gql(CreatePartner, { input: { name, email: `${name.toLowerCase()}@partners.test` } }, admin);
      const id = created.data!.createPartner.partner!.id;
      const rawId = Buffer.from(id, "base64").toString().split(":")[1]!;
      return { id, token: await sign({ role: "partner", subject: `${name}@partners.test`, programId, partnerId: rawId }) };
    };
    alpha = await partner("Alpha");
    beta = await partner("Beta");
    expect((await gql(AddMethod, { input: { partnerId: alpha.id, method: { type: "PAYPAL", email: "alpha@pay.example" } } }, admin)).data?.addPayoutMethod.userErrors).toEqual([]);
    expect(
      (
        await gql(
          SetBilling,
          { input: { partnerId: alpha.id, profile: { entityType: "INDIVIDUAL", legalName: "Alpha Person", country: "US", taxForm: "W9", taxId: "123-45-6789" } } },
          admin,
        )
      ).data?.setBillingProfile.userErrors,
    ).toEqual([]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("shows a partner a conversion posted over the API as it arrives, without a reload, and nobody else's", async () => {
    portal = await open(`/portal/#token=${alpha.token}`);
    await portal.goto(`${server.url}/portal/#token=${alpha.token}`);
    await portal.getByRole("heading", { name: "Alpha" }).waitFor();
    await portal.getByTestId("live-status").filter({ hasText: "Live" }).waitFor();
    // The token leaves the address bar at once and never travelled in a query string.
    expect(portal.url()).toBe(`${server.url}/portal/`);
    await portal.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));

    await postSale(alpha.id, "120.00");
    await portal.getByTestId("new-commission").filter({ hasText: "New commission: $12.00" }).waitFor();
    await portal.getByTestId("balance-pending").filter({ hasText: "$12.00" }).waitFor();
    await portal.getByTestId("commissions").getByRole("row").filter({ hasText: "$12.00" }).filter({ hasText: "Pending" }).waitFor();

    await postSale(beta.id, "999.00");
    await postSale(alpha.id, "10.00"); // posted after Beta's: once it shows, Beta's would have too
    await portal.getByTestId("commissions").getByRole("row").filter({ hasText: "$1.00" }).waitFor();
    await portal.getByTestId("balance-pending").filter({ hasText: "$13.00" }).waitFor();
    expect(await portal.locator("body").innerText()).not.toContain("99.90");
    expect(await portal.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
    await shot(portal, "portal");
  });

  it("lets an operator approve and pay from the dashboard, skipping what it cannot, and the portal follows", async () => {
    const dashboard = await open(`/dashboard/#token=${admin}`);
    await dashboard.goto(`${server.url}/dashboard/#token=${admin}`);
    await dashboard.getByRole("heading", { name: "Acme Outdoor" }).waitFor();
    await dashboard.getByTestId("kpi-pending").filter({ hasText: "$112.90" }).waitFor(); // 12.00 + 1.00 + 99.90
    const queue = dashboard.getByTestId("review-queue");
    await queue.getByRole("row").filter({ hasText: "Beta" }).waitFor();
    await dashboard.getByRole("checkbox", { name: "Select all on this page" }).check();

    // Beta's line is cancelled over the API meanwhile: the approval skips it and says so.
    const betaLines = await gql(
      graphql(`query WebBetaLines($filter: CommissionFilter) { commissions(first: 5, filter: $filter) { edges { node { id } } } }`),
      { filter: { partnerId: beta.id } },
      admin,
    );
    const betaLine = betaLines.data!.commissions.edges[0]!.node.id;
    expect((await gql(Cancel, { input: { ids: [betaLine], reason: "test order" } }, admin)).data?.cancelCommissions.userErrors).toEqual([]);
    await dashboard.getByRole("button", { name: "Approve selected" }).first().click();
    const report = dashboard.getByTestId("bulk-report");
    await report.filter({ hasText: "Approved 2 commissions." }).waitFor();
    await report.filter({ hasText: betaLine }).waitFor();

    await dashboard.getByRole("button", { name: "Run payouts" }).click();
    await dashboard.getByTestId("run-report").filter({ hasText: "Drafted 1 payouts: Alpha: $13.00" }).waitFor();
    const payouts = dashboard.getByTestId("payouts");
    await payouts.getByRole("row").filter({ hasText: "Alpha" }).filter({ hasText: "Draft" }).waitFor();
    await portal.getByTestId("balance-in-payouts").filter({ hasText: "$13.00" }).waitFor();

    await dashboard.getByRole("checkbox", { name: "Select the payout to Alpha" }).check();
    await dashboard.getByRole("form", { name: "Act on payouts" }).getByRole("button", { name: "Approve selected" }).click();
    await report.filter({ hasText: "Approved 1 payouts." }).waitFor();
    await dashboard.getByLabel("Show").selectOption("APPROVED");
    await dashboard.getByRole("checkbox", { name: "Select the payout to Alpha" }).check();
    await dashboard.getByLabel("Reference").fill("PP-E2E-1");
    await dashboard.getByRole("button", { name: "Mark selected paid" }).click();
    await report.filter({ hasText: "Marked paid 1 payouts." }).waitFor();
    await dashboard.getByTestId("kpi-paid").filter({ hasText: "$13.00" }).waitFor();
    await dashboard.getByTestId("program-feed").getByText("Payout changed").first().waitFor();

    // The portal, never reloaded, follows: paid balance, and the payout with its reference.
    await portal.getByTestId("balance-paid").filter({ hasText: "$13.00" }).waitFor();
    await portal.getByTestId("payouts").filter({ hasText: "PP-E2E-1" }).filter({ hasText: "Paid" }).waitFor();
    await portal.getByTestId("balance-in-payouts").filter({ hasText: "$0.00" }).waitFor();
    // Opened, the payout shows its two lines (read then, not with the list).
    await portal.getByTestId("payouts").getByText("PP-E2E-1").click();
    await expect.poll(() => portal.getByTestId("payouts").getByRole("row").filter({ hasText: "Conversion" }).count()).toBe(2);
    expect(await portal.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
    await shot(dashboard, "dashboard");
    await shot(portal, "portal-after-payout");
    await dashboard.context().close();
  }, 120_000);

  it("keeps a partner out of the dashboard's data", async () => {
    const page = await open("/dashboard/ (partner)");
    await page.goto(`${server.url}/dashboard/#token=${alpha.token}`);
    await page.getByTestId("dashboard-error").filter({ hasText: "may not see this" }).waitFor();
    const text = await page.locator("body").innerText();
    expect(text).not.toContain("Beta");
    expect(text).not.toContain("99.90");
    await shot(page, "dashboard-refuses-partner");
    await page.context().close();
    // What the dashboard reads, the API refuses to a partner token, whichever page asks.
    for (const response of [await gql(OperatorOnly, {}, alpha.token), await gql(Ranking, {}, alpha.token), await gql(Balances, {}, alpha.token)]) {
      expect(response.data ?? null).toBeNull();
      expect(response.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    }
  });

  it("says it is reconnecting when the socket drops, and resumes from its cursor with nothing lost", async () => {
    const page = await open("/portal/ (dropped)");
    let accepting = true;
    // While set, the feed's results (`next`) from the server are held back from the page, in order.
    let holding = false;
    const held: (() => void)[] = [];
    const subscribes: { after: string | null }[] = [];
    const open_: { close(options?: { code?: number; reason?: string }): Promise<void> }[] = [];
    await page.routeWebSocket(/\/graphql$/, (socket) => {
      if (!accepting) {
        void socket.close({ code: 1001, reason: "away" });
        return;
      }
      const upstream = socket.connectToServer();
      socket.onMessage((message) => {
        const parsed = JSON.parse(String(message)) as { type: string; payload?: { variables?: { after?: string | null } } };
        if (parsed.type === "subscribe") subscribes.push({ after: parsed.payload?.variables?.after ?? null });
        upstream.send(message);
      });
      upstream.onMessage((message) => {
        if (holding && (JSON.parse(String(message)) as { type: string }).type === "next") held.push(() => socket.send(message));
        else socket.send(message);
      });
      open_.push(socket);
    });
    await page.goto(`${server.url}/portal/#token=${beta.token}`);
    // "Live" once the feed said STARTED (its position is read after the subscribe message): a sale from now on reaches it.
    await page.getByTestId("live-status").filter({ hasText: "Live" }).waitFor();
    await postSale(beta.id, "50.00");
    await page.getByTestId("new-commission").filter({ hasText: "$5.00" }).waitFor();

    accepting = false;
    await Promise.all(open_.splice(0).map((socket) => socket.close({ code: 1001, reason: "dropped by the test" })));
    await page.getByTestId("live-status").filter({ hasText: "Reconnecting…" }).waitFor();
    await postSale(beta.id, "70.00"); // while it is away
    holding = true;
    accepting = true;
    // Connected again and resubscribed (the client subscribes once the server acknowledged the
    // socket), but the resumed feed has not said STARTED: still not "Live".
    await expect.poll(() => subscribes.length, { timeout: 20_000 }).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await page.getByTestId("live-status").textContent()).toContain("Reconnecting…");
    holding = false;
    for (const send of held.splice(0)) send();
    await page.getByTestId("live-status").filter({ hasText: "Live" }).waitFor({ timeout: 20_000 });
    // Only the replayed event can raise this notice: a refetch would not.
    await page.getByTestId("new-commission").filter({ hasText: "$7.00" }).waitFor();
    expect(subscribes[0]?.after).toBeNull();
    expect(subscribes.at(-1)?.after).toEqual(expect.any(String));
    await page.context().close();
  });

  it("reads again once its feed has started, so a sale committed while the feed was starting is shown", async () => {
    const page = await open("/portal/ (feed starting)");
    // The page's subscribe message is held back until the test lets it through.
    let release: () => void = () => {};
    let subscribed: () => void = () => {};
    const subscribing = new Promise<void>((resolve) => {
      subscribed = resolve;
    });
    // Routed before the page opens its socket (awaited: a route set later would miss it).
    await page.routeWebSocket(/\/graphql$/, (socket) => {
      const upstream = socket.connectToServer();
      socket.onMessage((message) => {
        if ((JSON.parse(String(message)) as { type: string }).type !== "subscribe") return upstream.send(message);
        release = () => upstream.send(message);
        subscribed();
      });
    });
    await page.goto(`${server.url}/portal/#token=${beta.token}`);
    await subscribing;
    const pending = page.getByTestId("balance-pending");
    await pending.waitFor();
    const before = await pending.textContent();
    // Committed after the page's reads, before the feed reads where it starts: no event will carry it.
    await postSale(beta.id, "30.00");
    release();
    await page.getByTestId("live-status").filter({ hasText: "Live" }).waitFor();
    await expect.poll(async () => pending.textContent(), { timeout: 20_000 }).not.toBe(before);
    expect(await page.getByTestId("new-commission").count()).toBe(0);
    await page.context().close();
  });

  it("works on a phone, by keyboard, with labels and readable contrast (axe-core)", async () => {
    const axe = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
    for (const [name, path] of [
      ["portal-phone", `/portal/#token=${alpha.token}`],
      ["dashboard-phone", `/dashboard/#token=${admin}`],
    ] as const) {
      // axe is injected by the test, so this page lifts the policy that would (rightly) refuse it.
      const page = await open(path, { width: 390, height: 844, bypassCSP: true });
      await page.goto(`${server.url}${path}`);
      await page.getByTestId("live-status").filter({ hasText: "Live" }).waitFor();
      await page.getByRole("heading", { level: 2 }).first().waitFor();
      await page.evaluate(axe);
      const violations = await page.evaluate(async () => {
        const result = await (
          window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }
        ).axe.run(document, {
          runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
        });
        return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
      });
      expect(violations, name).toEqual([]);
      // Nothing sticks out sideways: wide tables scroll inside their own box.
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1), name).toBe(true);
      // Every control is reachable with Tab.
      const reached = new Set<string>();
      for (let i = 0; i < 60; i += 1) {
        await page.keyboard.press("Tab");
        reached.add(
          await page.evaluate(() =>
            (
              document.activeElement?.textContent ||
              document.activeElement?.getAttribute("aria-label") ||
              (document.activeElement as HTMLInputElement | null)?.labels?.[0]?.textContent ||
              ""
            ).trim(),
          ),
        );
      }
      const wanted = name === "portal-phone" ? ["Download CSV", "Next page"] : ["Run payouts", "Approve selected"];
      for (const label of wanted)
        expect(
          [...reached].some((text) => text.includes(label)),
          `${name}: Tab reaches ${label}`,
        ).toBe(true);
      await shot(page, name);
      await page.context().close();
    }
  }, 120_000);

  describe("a program that takes payout requests", () => {
    let beaconAdmin: string;
    let gamma: { id: string; token: string };
    let delta: { id: string; token: string };
    let gammaPortal: Page;

    /** A sale for a partner of this program; returns the conversion and its line. */
    async function sell(partnerId: string, amount: string): Promise<{ conversion: string; line: string }> {
      sale += 1;
      const result = await gql(
        RecordFor,
        { input: { externalId: `beacon-${sale}`, partners: [{ id: partnerId }], amount, currency: "USD", occurredAt: new Date().toISOString() } },
        beaconAdmin,
      );
      const conversion = result.data?.recordConversion.conversion;
      if (!conversion?.commissions[0]) throw new Error(JSON.stringify(result));
      return { conversion: conversion.id, line: conversion.commissions[0].id };
    }

    beforeAll(async () => {
      const platform = await sign({ role: "platform", subject: "platform@web.test" });
      const program = await gql(
        CreateProgram,
        {
          input: {
            name: "Beacon Gear",
            currency: "USD",
            commissionRule: { type: "PERCENTAGE", percent: "10" },
            holdPeriodDays: 0,
            allowPayoutRequests: true,
            minimumPayout: "1.00",
          },
        },
        platform,
      );
      const programId = Buffer.from(program.data!.createProgram.program!.id, "base64").toString().split(":")[1]!;
      beaconAdmin = await sign({ role: "admin", subject: "admin@beacon.test", programId });
      const partner = async (name: string) => {
        const created = await gql(CreatePartner, { input: { name, email: `${name.toLowerCase()}@beacon.test` } }, beaconAdmin);
        const id = created.data!.createPartner.partner!.id;
        const rawId = Buffer.from(id, "base64").toString().split(":")[1]!;
        return { id, token: await sign({ role: "partner", subject: `${name}@beacon.test`, programId, partnerId: rawId }) };
      };
      gamma = await partner("Gamma");
      delta = await partner("Delta");
    });

    it("lets a partner add, choose and remove payout methods, give billing details, request a payout and download a statement", async () => {
      gammaPortal = await open("/portal/ (Gamma)");
      const page = gammaPortal;
      await page.goto(`${server.url}/portal/#token=${gamma.token}`);
      await page.getByRole("heading", { name: "Gamma" }).waitFor();
      await page.getByTestId("live-status").filter({ hasText: "Live" }).waitFor();
      await page.getByTestId("blockers").filter({ hasText: "Add a payout method below" }).waitFor();

      const methods = page.getByRole("form", { name: "Add a payout method" });
      const status = page.getByRole("region", { name: "Payout methods" }).getByRole("status");
      // A bank account (ACH) with its account type, chosen from the list the API takes.
      await methods.getByRole("combobox", { name: /^Method/ }).selectOption("ACH");
      await methods.getByLabel("Account holder").fill("Gamma Person");
      await methods.getByLabel("Routing number").fill("011000015");
      await methods.getByLabel("Account number").fill("123456789");
      await methods.getByLabel("Account type").selectOption("SAVINGS");
      await methods.getByRole("button", { name: "Add payout method" }).click();
      await status.filter({ hasText: "Payout method added." }).waitFor();
      const list = page.getByTestId("payout-methods");
      await list.getByRole("listitem").filter({ hasText: "6789" }).filter({ hasText: "default" }).waitFor();
      expect(await list.innerText()).not.toContain("123456789"); // masked

      await methods.getByRole("combobox", { name: /^Method/ }).selectOption("PAYPAL");
      await methods.getByLabel("PayPal email").fill("gamma@pay.example");
      await methods.getByRole("button", { name: "Add payout method" }).click();
      await list.getByRole("listitem").filter({ hasText: "gamma@pay.example" }).waitFor();
      const methodsNow = async () => (await gql(MethodsOf, { id: gamma.id }, beaconAdmin)).data!.partner!.payoutMethods;
      expect(await methodsNow()).toEqual([
        { type: "ACH", accountType: "SAVINGS", isDefault: true },
        { type: "PAYPAL", accountType: null, isDefault: false },
      ]);

      await list.getByRole("button", { name: /Make default.*gamma@pay\.example/ }).click();
      await status.filter({ hasText: "Default changed." }).waitFor();
      await list.getByRole("listitem").filter({ hasText: "gamma@pay.example" }).filter({ hasText: "default" }).waitFor();
      await list
        .getByRole("listitem")
        .filter({ hasText: "6789" })
        .getByRole("button", { name: /Remove/ })
        .click();
      await status.filter({ hasText: "Payout method removed." }).waitFor();
      await expect.poll(() => list.getByRole("listitem").count()).toBe(1);
      expect(await methodsNow()).toEqual([{ type: "PAYPAL", accountType: null, isDefault: true }]);

      const billing = page.getByRole("form", { name: "Billing details" });
      await billing.getByLabel("Legal name").fill("Gamma Person");
      await billing.getByLabel("Country", { exact: true }).fill("US");
      await billing.getByLabel("Tax form").selectOption("W9");
      await billing.getByLabel("Tax id", { exact: true }).fill("123-45-6789");
      await billing.getByRole("button", { name: "Save billing details" }).click();
      await page.getByRole("region", { name: "Billing details" }).getByRole("status").filter({ hasText: "Billing details saved." }).waitFor();
      await page.getByText("Tax id on file: •••• 6789").waitFor();

      // A sale approved over the API: payable, nothing blocks it, and this program takes requests.
      const { line } = await sell(gamma.id, "200.00");
      expect((await gql(ApproveLines, { input: { ids: [line] } }, beaconAdmin)).data?.approveCommissions.userErrors).toEqual([]);
      await page.getByTestId("balance-payable").filter({ hasText: "$20.00" }).waitFor();
      await page.getByRole("button", { name: "Request a payout" }).click();
      await page.getByText("Requested: a payout of $20.00 awaits approval.").waitFor();
      await page.getByTestId("payouts").filter({ hasText: "Draft" }).filter({ hasText: "$20.00" }).waitFor();
      await page.getByTestId("balance-in-payouts").filter({ hasText: "$20.00" }).waitFor();

      // The statement for the default period (the last 30 days), as the file the browser saves.
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download CSV" }).click()]);
      expect(download.suggestedFilename()).toMatch(/\.csv$/);
      const csv = readFileSync((await download.path())!, "utf8");
      expect(csv.split("\n")[0]).toMatch(/date/i);
      expect(csv).toContain("20.00");
      await shot(page, "portal-payment-details");
    }, 120_000);

    it("holds and cancels in bulk showing what it skipped, reports whom a run skipped, and cancels a payout the portal then shows", async () => {
      const lines = [await sell(delta.id, "10.00"), await sell(delta.id, "20.00"), await sell(delta.id, "30.00"), await sell(delta.id, "40.00")];
      const page = await open("/dashboard/ (Beacon)");
      await page.goto(`${server.url}/dashboard/#token=${beaconAdmin}`);
      await page.getByRole("heading", { name: "Beacon Gear" }).waitFor();
      const review = page.getByRole("region", { name: "Review queue" });
      const queue = review.getByTestId("review-queue");
      await queue.getByRole("row").filter({ hasText: "$4.00" }).waitFor();
      const report = review.getByTestId("bulk-report");

      // Hold $1 and $2; the $2 line is cancelled over the API meanwhile, so the hold skips it by id.
      await page.getByRole("checkbox", { name: "Select Delta $1.00" }).check();
      await page.getByRole("checkbox", { name: "Select Delta $2.00" }).check();
      expect((await gql(Cancel, { input: { ids: [lines[1]!.line], reason: "duplicate order" } }, beaconAdmin)).data?.cancelCommissions.userErrors).toEqual([]);
      await review.getByLabel("Reason (hold or cancel)").fill("checking the order");
      await review.getByRole("button", { name: "Hold selected" }).click();
      await report.filter({ hasText: "Held 1 commissions." }).filter({ hasText: "Skipped 1:" }).filter({ hasText: lines[1]!.line }).waitFor();

      // Cancel $3 and $4; the $4 sale is refunded meanwhile, so the cancel skips its line.
      await page.getByRole("checkbox", { name: "Select Delta $3.00" }).check();
      await page.getByRole("checkbox", { name: "Select Delta $4.00" }).check();
      expect((await gql(ReverseSale, { input: { conversionId: lines[3]!.conversion, refundId: "beacon-refund-4" } }, beaconAdmin)).data?.reverseConversion.userErrors).toEqual([]);
      await review.getByRole("button", { name: "Cancel selected" }).click();
      await report.filter({ hasText: "Cancelled 1 commissions." }).filter({ hasText: lines[3]!.line }).waitFor();
      await queue.getByRole("row").filter({ hasText: "Nothing waits for review." }).waitFor();

      // Delta has a payable line and no payout method: the run says so, by name.
      const payable = await sell(delta.id, "50.00");
      expect((await gql(ApproveLines, { input: { ids: [payable.line] } }, beaconAdmin)).data?.approveCommissions.userErrors).toEqual([]);
      await page.getByRole("button", { name: "Run payouts" }).click();
      const run = page.getByTestId("run-report");
      await run.filter({ hasText: "Drafted 0 payouts." }).filter({ hasText: "Skipped 1 partners:" }).waitFor();
      expect(await run.getByRole("listitem").allInnerTexts()).toEqual([expect.stringMatching(/^Delta: .+/)]);

      // Gamma's requested payout (a draft) is cancelled with a reason.
      const payouts = page.getByRole("form", { name: "Act on payouts" });
      await page.getByRole("checkbox", { name: "Select the payout to Gamma" }).check();
      await payouts.getByLabel("Cancel reason").fill("asked by mistake");
      await payouts.getByRole("button", { name: "Cancel selected" }).click();
      await page.getByRole("region", { name: "Payouts" }).getByTestId("bulk-report").filter({ hasText: "Cancelled 1 payouts." }).waitFor();
      const gammaPayouts = (await gql(PayoutsOf, { filter: { partnerId: gamma.id } }, beaconAdmin)).data!.payouts.edges.map((e) => e.node);
      expect(gammaPayouts).toEqual([{ status: "CANCELLED", amount: { amount: "20.00" }, cancelReason: "asked by mistake" }]);
      await shot(page, "dashboard-bulk-and-cancel");
      await page.context().close();

      // The partner's portal, open all along, follows: the payout cancelled, the money payable again.
      await gammaPortal.getByTestId("payouts").filter({ hasText: "Cancelled" }).waitFor();
      await gammaPortal.getByTestId("balance-payable").filter({ hasText: "$20.00" }).waitFor();
      await gammaPortal.context().close();
    }, 120_000);
  });

  it("loads nothing from elsewhere and breaks no rule of its own content policy", () => {
    expect(pageErrors.filter((error) => !/status of 40[13]/.test(error))).toEqual([]);
  });
});
