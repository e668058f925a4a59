import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/logger.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../../src/generated/gql/index.ts";
import { retryDelayMs } from "../../src/jobs/outbox.ts";
import { ConnectDoc, ConnectionDoc, connectQuickBooks, PayoutSyncDoc } from "../helpers/accounting-docs.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { feedClient } from "../helpers/feed-client.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { balanceOf, ReverseDoc } from "../helpers/ledger-docs.ts";
import { ApprovePayoutsDoc, CancelPayoutsDoc, CreatePayoutDoc, makePayable, payableSale, PayPayoutsDoc } from "../helpers/payout-docs.ts";
import { MINOR_VERSION, startQuickBooksStandIn, type StandIn } from "../helpers/quickbooks-stand-in.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

const SyncBacklogDoc = graphql(
  `mutation SyncBacklog($input: SyncPayoutsToAccountingInput!) { syncPayoutsToAccounting(input: $input) { payouts { id accountingSyncStatus } userErrors { code message } } }`,
);
const RetrySyncDoc = graphql(
  `mutation RetrySync($input: RetryAccountingSyncInput!) { retryAccountingSync(input: $input) { payouts { id accountingSyncStatus } userErrors { code message } } }`,
);
const MapVendorDoc = graphql(
  `mutation MapVendor($input: MapPartnerToVendorInput!) { mapPartnerToVendor(input: $input) { partner { id accountingVendorId } userErrors { code message field } } }`,
);
const DisconnectDoc = graphql(
  `mutation Disconnect($input: DisconnectQuickBooksInput!) { disconnectQuickBooks(input: $input) { connection { status } userErrors { code message } } }`,
);
const AuditDoc = graphql(`query SyncAudit($filter: AuditFilter) { auditEntries(filter: $filter) { edges { node { action reason after } } } }`);

describe.each(databaseTargets())("QuickBooks Online sync on %s", (target) => {
  let t: TestApp;
  let qbo: StandIn;
  let acme: ProgramFixture;
  let integration: string;
  const logLines: string[] = [];
  let logger: Logger;

  beforeAll(async () => {
    qbo = await startQuickBooksStandIn();
    // Every log line the app writes, from its start and through every logger
    // it hands out (yoga's, the WebSocket server's, the services'), to prove
    // no token ever lands in one.
    const sink = new Writable({ write: (chunk, _enc, done) => (logLines.push(chunk.toString()), done()) });
    logger = createLogger("debug", sink);
    t = await startTestApp(target, { env: qbo.env, logger });
    acme = await createProgramFixture(t, { currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" }, minimumPayout: "10.00" });
    integration = await acme.integrationToken(["CONVERSIONS_WRITE"]);
  });
  afterAll(async () => {
    await t?.stop();
    await qbo?.close();
  });

  /** A partner with an approved payout of `amount` in sales (10% commission). */
  async function approvedPayout(sales: string[] = ["1000.00"], name?: string) {
    const p = await createPartnerFixture(t, acme, name ? { name } : {});
    await makePayable(t, acme, p.id);
    const sold = [];
    for (const amount of sales) sold.push(await payableSale(t, acme, integration, p.id, amount));
    const payout = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
    await t.gql(ApprovePayoutsDoc, { input: { ids: [payout.id] } }, acme.financeToken);
    return { partner: p, payoutId: payout.id, sold };
  }
  const syncState = async (payoutId: string) => dataOf(await t.gql(PayoutSyncDoc, { id: payoutId }, acme.adminToken)).payout!;
  const work = () => t.app.scheduler.tasks.outbox();
  const later = (ms: number) => t.clock.advance(ms);

  it("connects through OAuth, keeping the tokens encrypted and out of the API", async () => {
    const started = dataOf(await t.gql(ConnectDoc, { input: { expenseAccountId: "62", bankAccountId: "35" } }, acme.adminToken)).connectQuickBooks;
    const url = new URL(started.authorization!.authorizeUrl);
    expect(url.origin + url.pathname).toBe(`${qbo.url}/connect/oauth2`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({ client_id: "accrue-test-client", response_type: "code", scope: "com.intuit.quickbooks.accounting" });
    const forged = await fetch(`${t.url}/integrations/quickbooks/callback?code=${qbo.issueCode()}&state=forged&realmId=${qbo.realmId}`);
    expect(forged.status).toBe(400);
    expect((await t.gql(ConnectDoc, { input: { expenseAccountId: "62" } }, acme.financeToken)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

    await connectQuickBooks(t, acme, qbo);
    const connection = dataOf(await t.gql(ConnectionDoc, {}, acme.analystToken)).accountingConnection;
    expect(connection).toMatchObject({ provider: "QUICKBOOKS", status: "CONNECTED", realmId: qbo.realmId, expenseAccountId: "62", bankAccountId: "35" });
    // Stored sealed, not as issued; and no field of the API can show them.
    const row = await t.app.db.prisma.accountingConnection.findFirstOrThrow({ where: { programId: acme.rawId } });
    expect(row.accessToken).not.toContain(qbo.accessToken);
    expect(row.refreshToken).not.toContain(qbo.refreshToken);
    expect(t.app.deps.secrets.open(row.accessToken)).toBe(qbo.accessToken);
    const introspection = await t.raw({ query: '{ __type(name: "AccountingConnection") { fields { name } } }' }, acme.adminToken);
    expect(JSON.stringify(introspection)).not.toMatch(/token/i);
  });

  it("books an approved payout as a Bill against the partner as a Vendor, once, with the program's expense account", async () => {
    const { partner, payoutId, sold } = await approvedPayout(["1000.00", "250.00"], "Trail Tales");
    expect((await syncState(payoutId)).accountingSyncStatus).toBe("PENDING");
    expect(await work()).toMatchObject({ done: 1 });
    const state = await syncState(payoutId);
    expect(state).toMatchObject({ accountingSyncStatus: "BILLED", accountingSyncError: null });
    const bill = qbo.bills.get(state.accountingBillId!)!;
    expect(bill).toMatchObject({ TotalAmt: 125, Balance: 125, VendorRef: { value: state.partner.accountingVendorId }, CurrencyRef: { value: "USD" } });
    expect(bill.Line).toEqual([
      expect.objectContaining({ DetailType: "AccountBasedExpenseLineDetail", Amount: 100, AccountBasedExpenseLineDetail: { AccountRef: { value: "62" } } }),
      expect.objectContaining({ Amount: 25 }),
    ]);
    expect(qbo.vendors.get(state.partner.accountingVendorId!)?.DisplayName).toBe("Trail Tales");
    const posts = qbo.requests.filter((r) => r.method === "POST" && r.path.endsWith("/bill"));
    expect(posts.at(-1)!.query).toMatchObject({ minorversion: MINOR_VERSION, requestid: expect.stringMatching(/^bill-/) });
    void partner;
    void sold;

    // The partner's next payout reuses the vendor.
    const vendorsBefore = qbo.vendors.size;
    await t.gql(PayPayoutsDoc, { input: { ids: [payoutId], method: "ACH" } }, acme.financeToken);
    await work();
    await payableSale(t, acme, integration, partner.id, "300.00");
    const next = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: partner.id } }, acme.financeToken)).createPayout.payout!;
    await t.gql(ApprovePayoutsDoc, { input: { ids: [next.id] } }, acme.financeToken);
    await work();
    expect(qbo.vendors.size).toBe(vendorsBefore);
  });

  it("makes a taken display name unique", async () => {
    qbo.takenNames.add("Popular Name");
    const { payoutId } = await approvedPayout(["1000.00"], "Popular Name");
    await work();
    const state = await syncState(payoutId);
    expect(qbo.vendors.get(state.partner.accountingVendorId!)?.DisplayName).toMatch(/^Popular Name \(.+\)$/);
  });

  it("retries 500s, 429s (after their Retry-After) and timeouts with backoff, and never makes a second bill", async () => {
    const { payoutId } = await approvedPayout();
    qbo.failNext("500", 1, (r) => r.path.endsWith("/vendor"));
    expect(await work()).toMatchObject({ retried: 1 });
    expect((await syncState(payoutId)).accountingSyncStatus).toBe("PENDING");
    expect(await work()).toMatchObject({ done: 0, retried: 0 }); // not due yet: backoff
    later(2 * 60_000);
    qbo.failNext("429", 1, (r) => r.path.endsWith("/bill"));
    expect(await work()).toMatchObject({ retried: 1 });
    later(2 * 60_000);
    qbo.failNext("timeout", 1, (r) => r.path.endsWith("/bill"));
    expect(await work()).toMatchObject({ retried: 1 });
    later(5 * 60_000);
    expect(await work()).toMatchObject({ done: 1 });
    const state = await syncState(payoutId);
    expect(state.accountingSyncStatus).toBe("BILLED");
    const billsForPayout = [...qbo.bills.values()].filter((b) => b.PrivateNote === `accrue payout ${Buffer.from(payoutId, "base64").toString().split(":")[1]}`);
    expect(billsForPayout).toHaveLength(1);
  });

  it("keeps one bill when QuickBooks crashes after creating it but before answering", async () => {
    const { payoutId } = await approvedPayout();
    const billsBefore = qbo.bills.size;
    qbo.failNext("crash-after-create", 1, (r) => r.path.endsWith("/bill"));
    expect(await work()).toMatchObject({ retried: 1 });
    expect(qbo.bills.size).toBe(billsBefore + 1); // it was created
    later(2 * 60_000);
    expect(await work()).toMatchObject({ done: 1 });
    expect(qbo.bills.size).toBe(billsBefore + 1); // the retry's requestid returned the same bill
    expect(qbo.bills.has((await syncState(payoutId)).accountingBillId!)).toBe(true);
  });

  it("stops on a permanent error with the reason on the payout and in the audit trail; an operator retries", async () => {
    const { payoutId } = await approvedPayout();
    qbo.refuse((r) => r.path.endsWith("/bill") && r.body?.PrivateNote?.includes(Buffer.from(payoutId, "base64").toString().split(":")[1]));
    expect(await work()).toMatchObject({ failed: 1 });
    const state = await syncState(payoutId);
    expect(state.accountingSyncStatus).toBe("FAILED");
    expect(state.accountingSyncError).toMatch(/610 Object Not Found/);
    const trail = dataOf(await t.gql(AuditDoc, { filter: { recordId: payoutId } }, acme.adminToken)).auditEntries.edges.map((e) => e.node);
    expect(trail.find((e) => e.action === "payout.accounting_sync_failed")?.reason).toMatch(/Object Not Found/);
    expect(await work()).toMatchObject({ done: 0, failed: 0 }); // stopped: nothing retries by itself
  });

  it("books a payout marked paid in accrue first as a Bill and a BillPayment together", async () => {
    const { payoutId } = await approvedPayout(["2000.00"]);
    // Paid before the worker got to it.
    await t.gql(PayPayoutsDoc, { input: { ids: [payoutId], method: "ACH", reference: "ACH-777" } }, acme.financeToken);
    expect(await work()).toMatchObject({ done: 1 });
    const state = await syncState(payoutId);
    expect(state.accountingSyncStatus).toBe("PAID");
    const bill = qbo.bills.get(state.accountingBillId!)!;
    expect(bill.Balance).toBe(0);
    const payment = [...qbo.billPayments.values()].find((p) => p.Line[0].LinkedTxn[0].TxnId === bill.Id);
    expect(payment).toMatchObject({ TotalAmt: 200, PayType: "Check", CheckPayment: { BankAccountRef: { value: "35" } }, DocNumber: "ACH-777" });
  });

  it("puts clawbacks on the bill as negative lines, or as a VendorCredit where QuickBooks refuses them", async () => {
    for (const refuse of [false, true]) {
      qbo.refuseNegativeLines = refuse;
      const p = await createPartnerFixture(t, acme);
      await makePayable(t, acme, p.id);
      const first = await payableSale(t, acme, integration, p.id, "1000.00");
      const paid = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
      await t.gql(ApprovePayoutsDoc, { input: { ids: [paid.id] } }, acme.financeToken);
      await t.gql(PayPayoutsDoc, { input: { ids: [paid.id], method: "ACH" } }, acme.financeToken);
      await t.gql(ReverseDoc, { input: { conversionId: first.conversionId, refundId: `cb-${refuse}`, amount: "300.00" } }, integration);
      await payableSale(t, acme, integration, p.id, "800.00");
      const next = dataOf(await t.gql(CreatePayoutDoc, { input: { partnerId: p.id } }, acme.financeToken)).createPayout.payout!;
      expect(next.amount.amount).toBe("50.00"); // 80 − 30
      await t.gql(ApprovePayoutsDoc, { input: { ids: [next.id] } }, acme.financeToken);
      await t.gql(PayPayoutsDoc, { input: { ids: [next.id], method: "ACH" } }, acme.financeToken);
      await work();
      const state = await syncState(next.id);
      expect(state.accountingSyncStatus).toBe("PAID");
      const bill = qbo.bills.get(state.accountingBillId!)!;
      if (!refuse) {
        expect(bill.Line.map((l: { Amount: number }) => l.Amount).sort()).toEqual([-30, 80]);
        expect(bill.TotalAmt).toBe(50);
      } else {
        expect(bill.Line.map((l: { Amount: number }) => l.Amount)).toEqual([80]);
        const credit = [...qbo.vendorCredits.values()].find((c) => c.VendorRef.value === bill.VendorRef.value);
        expect(credit).toMatchObject({ TotalAmt: 30 });
        expect(bill.Balance).toBe(0);
        expect(credit.Balance).toBe(0);
      }
    }
    qbo.refuseNegativeLines = false;
  });

  it("deletes a cancelled payout's bill from QuickBooks, even one whose creation it never heard back from", async () => {
    const rawPayoutId = (id: string) => Buffer.from(id, "base64").toString().split(":")[1]!;
    const cancel = (id: string) => t.gql(CancelPayoutsDoc, { input: { ids: [id], reason: "booked to the wrong partner" } }, acme.financeToken);

    // Billed, then cancelled: the bill is read for its SyncToken and deleted, the payout keeps the id as history.
    const { payoutId } = await approvedPayout(["400.00"]);
    await work();
    const { accountingBillId } = await syncState(payoutId);
    expect(qbo.bills.has(accountingBillId!)).toBe(true);
    expect(dataOf(await cancel(payoutId)).cancelPayouts.payouts.map((p) => p.status)).toEqual(["CANCELLED"]);
    expect((await syncState(payoutId)).accountingSyncStatus).toBe("PENDING");
    qbo.failNext("crash-after-create", 1, (r) => r.query.operation === "delete"); // deleted, but the answer is lost
    expect(await work()).toMatchObject({ retried: 1 });
    expect(qbo.bills.has(accountingBillId!)).toBe(false);
    later(2 * 60_000);
    expect(await work()).toMatchObject({ done: 1 }); // the retry finds it gone
    expect(await syncState(payoutId)).toMatchObject({ status: "CANCELLED", accountingSyncStatus: "REMOVED", accountingSyncError: null, accountingBillId });
    const deletes = qbo.requests.filter((r) => r.query.operation === "delete");
    expect(deletes).toEqual([
      expect.objectContaining({ method: "POST", body: { Id: accountingBillId, SyncToken: "0" }, query: expect.objectContaining({ minorversion: MINOR_VERSION }) }),
    ]);
    const trail = dataOf(await t.gql(AuditDoc, { filter: { recordId: payoutId } }, acme.adminToken)).auditEntries.edges.map((e) => e.node.action);
    expect(trail).toContain("payout.accounting_bill_removed");
    expect(await work()).toMatchObject({ done: 0, retried: 0, failed: 0 });

    // The bill was created but its answer lost, and the payout cancelled before the retry: found by its DocNumber and note, and deleted.
    const lost = await approvedPayout(["300.00"]);
    qbo.failNext("crash-after-create", 1, (r) => r.path.endsWith("/bill") && r.method === "POST");
    expect(await work()).toMatchObject({ retried: 1 });
    const orphan = [...qbo.bills.values()].find((b) => b.PrivateNote === `accrue payout ${rawPayoutId(lost.payoutId)}`);
    expect(orphan).toBeDefined();
    expect((await syncState(lost.payoutId)).accountingBillId).toBeNull();
    await cancel(lost.payoutId);
    later(5 * 60_000);
    expect(await work()).toMatchObject({ done: 2 }); // the sync (nothing to book now) and the removal
    expect(qbo.bills.has(orphan.Id)).toBe(false);
    expect((await syncState(lost.payoutId)).accountingSyncStatus).toBe("REMOVED");

    // Cancelled before the worker got to it: nothing is booked, nothing deleted, and the payout shows it never reached QuickBooks.
    const early = await approvedPayout(["100.00"]);
    await cancel(early.payoutId);
    const [billsBefore, deletesBefore] = [qbo.bills.size, qbo.requests.filter((r) => r.query.operation === "delete").length];
    expect(await work()).toMatchObject({ done: 2 });
    expect(qbo.bills.size).toBe(billsBefore);
    expect(qbo.requests.filter((r) => r.query.operation === "delete")).toHaveLength(deletesBefore);
    expect(await syncState(early.payoutId)).toMatchObject({ accountingSyncStatus: "NOT_SYNCED", accountingBillId: null });

    // A bill someone paid in QuickBooks is not deleted: the sync stops and says why; the operator can retry once it is sorted out.
    const paidThere = await approvedPayout(["200.00"]);
    await work();
    const billed = await syncState(paidThere.payoutId);
    await cancel(paidThere.payoutId);
    qbo.payBill(billed.accountingBillId!, { amount: 5 });
    expect(await work()).toMatchObject({ failed: 1 });
    expect(await syncState(paidThere.payoutId)).toMatchObject({ accountingSyncStatus: "FAILED", accountingSyncError: expect.stringMatching(/has payments in QuickBooks/) });
    expect(qbo.bills.has(billed.accountingBillId!)).toBe(true);
    const retried = dataOf(await t.gql(RetrySyncDoc, { input: { payoutIds: [paidThere.payoutId] } }, acme.adminToken)).retryAccountingSync;
    expect(retried.payouts).toEqual([{ id: paidThere.payoutId, accountingSyncStatus: "PENDING" }]);
  });

  it("runs a job once more when its payout changed while it ran, so a payment made meanwhile is never left unbooked", async () => {
    const { payoutId } = await approvedPayout(["700.00"]);
    // Finance marks it paid while the worker waits for QuickBooks' answer to the bill: the
    // sync it queues finds the running job's, which must then run again rather than be done
    // (had the payment come after the job read the payout back, only that second run books it).
    qbo.beforeAnswer = async (request) => {
      if (!request.path.endsWith("/bill")) return;
      qbo.beforeAnswer = undefined;
      expect(dataOf(await t.gql(PayPayoutsDoc, { input: { ids: [payoutId], method: "ACH", reference: "ACH-RACE" } }, acme.financeToken)).markPayoutsPaid.payouts).toHaveLength(1);
    };
    expect(await work()).toMatchObject({ done: 1 });
    expect(await work()).toMatchObject({ done: 1 }); // the same job, queued again while it ran
    const state = await syncState(payoutId);
    expect(state).toMatchObject({ status: "PAID", accountingSyncStatus: "PAID" });
    const payments = [...qbo.billPayments.values()].filter((p) => p.Line[0].LinkedTxn[0].TxnId === state.accountingBillId);
    expect(payments).toEqual([expect.objectContaining({ TotalAmt: 70, DocNumber: "ACH-RACE" })]);
    expect(await work()).toMatchObject({ done: 0, retried: 0, failed: 0 });
  });

  it("hands back the rest of a batch that ran long, rather than run jobs whose leases are about to lapse", async () => {
    await work(); // nothing else due
    const first = await approvedPayout(["110.00"]);
    const second = await approvedPayout(["120.00"]);
    // The first bill takes four of the lease's five minutes.
    qbo.beforeAnswer = async (request) => {
      if (!request.path.endsWith("/bill")) return;
      qbo.beforeAnswer = undefined;
      later(4 * 60_000);
    };
    await work();
    const states = await Promise.all([first, second].map((p) => syncState(p.payoutId)));
    expect(states.map((s) => s.accountingSyncStatus).sort()).toEqual(["BILLED", "PENDING"]);
    await work(); // the one handed back runs in the next round
    for (const p of [first, second]) expect((await syncState(p.payoutId)).accountingSyncStatus).toBe("BILLED");
  });

  it("marks a payout paid when its bill is paid in QuickBooks, by the change poll", async () => {
    const { partner, payoutId } = await approvedPayout(["1500.00"]);
    await work();
    const { accountingBillId } = await syncState(payoutId);
    // Paid in part: nothing yet.
    qbo.payBill(accountingBillId!, { amount: 50, docNumber: "CHK-1" });
    await t.app.scheduler.tasks.accountingPoll();
    expect((await syncState(payoutId)).status).toBe("APPROVED");
    // Dated a day before accrue approved it (QuickBooks dates by day): paid, dated at the approval, never before it.
    qbo.payBill(accountingBillId!, { docNumber: "CHK-2", txnDate: "2026-03-09" });
    await t.app.scheduler.tasks.accountingPoll();
    const state = await syncState(payoutId);
    expect(state).toMatchObject({ status: "PAID", method: "CHECK", reference: "CHK-2", accountingSyncStatus: "PAID" });
    expect(await balanceOf(t, acme.adminToken, partner.id)).toMatchObject({ paid: "150.00", inPayouts: "0.00" });
    // Our own sync does not book a second payment for it.
    const payments = qbo.billPayments.size;
    await work();
    expect(qbo.billPayments.size).toBe(payments);
  });

  it("marks a payout paid from a signed webhook, and refuses an unsigned one", async () => {
    const { payoutId } = await approvedPayout(["1200.00"]);
    await work();
    const { accountingBillId } = await syncState(payoutId);
    const payment = qbo.payBill(accountingBillId!, { docNumber: "CHK-WH" });
    const forged = await qbo.notify(`${t.url}/webhooks/quickbooks`, [{ name: "BillPayment", id: payment.Id }], "Zm9yZ2Vk");
    expect(forged.status).toBe(401);
    const signed = await qbo.notify(`${t.url}/webhooks/quickbooks`, [{ name: "BillPayment", id: payment.Id }]);
    expect(signed.status).toBe(200);
    expect((await syncState(payoutId)).status).toBe("APPROVED"); // answered at once; the work is queued
    await work();
    expect(await syncState(payoutId)).toMatchObject({ status: "PAID", reference: "CHK-WH" });
  });

  it("refreshes an expired access token and carries on", async () => {
    const { payoutId } = await approvedPayout();
    const refreshes = qbo.refreshes;
    qbo.expireAccessToken();
    expect(await work()).toMatchObject({ done: 1 });
    expect(qbo.refreshes).toBe(refreshes + 1);
    expect((await syncState(payoutId)).accountingSyncStatus).toBe("BILLED");
    // Close to expiry, the token is refreshed before use.
    later(3600_000);
    await approvedPayout();
    await work();
    expect(qbo.refreshes).toBe(refreshes + 2);
  });

  it("maps a partner to an existing vendor, and queues a backlog", async () => {
    const vendor = [...qbo.vendors.values()][0]!;
    const p = await createPartnerFixture(t, acme);
    const missing = dataOf(await t.gql(MapVendorDoc, { input: { partnerId: p.id, vendorId: "999999" } }, acme.adminToken)).mapPartnerToVendor;
    expect(missing.userErrors[0]?.code).toBe("NOT_FOUND");
    const mapped = dataOf(await t.gql(MapVendorDoc, { input: { partnerId: p.id, vendorId: vendor.Id } }, acme.adminToken)).mapPartnerToVendor;
    expect(mapped.partner?.accountingVendorId).toBe(vendor.Id);
    expect((await t.gql(MapVendorDoc, { input: { partnerId: p.id, vendorId: vendor.Id } }, acme.financeToken)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const backlog = dataOf(await t.gql(SyncBacklogDoc, { input: {} }, acme.financeToken)).syncPayoutsToAccounting;
    expect(backlog.userErrors).toEqual([]);
    const failed = backlog.payouts.find((x) => x.accountingSyncStatus === "PENDING");
    expect(failed).toBeDefined();
    const retried = dataOf(await t.gql(RetrySyncDoc, { input: { payoutIds: [] } }, acme.financeToken)).retryAccountingSync;
    expect(retried.payouts).toEqual([]);
  });

  it("backs off exponentially with jitter, and honours a longer Retry-After", () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, undefined, mid))).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(retryDelayMs(20, undefined, mid)).toBe(3_600_000);
    expect(retryDelayMs(1, undefined, () => 0)).toBe(15_000);
    expect(retryDelayMs(1, undefined, () => 0.999)).toBeLessThan(45_000);
    expect(retryDelayMs(1, 120_000, mid)).toBe(120_000);
  });

  it("never writes a token to a log, and disconnects", async () => {
    // A WebSocket operation too, so its path has logged through the same sink.
    const socket = feedClient(t.url, acme.adminToken);
    await new Promise<void>((resolve, reject) => socket.subscribe({ query: "{ viewer { role } }" }, { next: () => {}, error: reject, complete: resolve }));
    await socket.dispose();
    const all = logLines.join("");
    // The sink saw yoga's own logging (its request processing, at debug), not only the services'.
    expect(all).toMatch(/"msg":"yoga"/);
    // The one logger the app was built with, which yoga and the WebSocket server were given.
    expect(t.app.logger).toBe(logger);
    expect(all).not.toContain(qbo.accessToken);
    expect(all).not.toContain(qbo.refreshToken);
    expect(all).not.toMatch(/"(at|rt)-[0-9a-f]{24}"/);
    // Nor accrue's own bearer tokens.
    for (const token of [acme.adminToken, acme.financeToken, integration]) expect(all).not.toContain(token);
    const disconnected = dataOf(await t.gql(DisconnectDoc, { input: { confirm: true } }, acme.adminToken)).disconnectQuickBooks;
    expect(disconnected.connection?.status).toBe("DISCONNECTED");
    expect(qbo.requests.some((r) => r.path === "/v2/oauth2/tokens/revoke")).toBe(true);
    const { payoutId } = await approvedPayout();
    expect((await syncState(payoutId)).accountingSyncStatus).toBe("NOT_SYNCED");
  });
});
