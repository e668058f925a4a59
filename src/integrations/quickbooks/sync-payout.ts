import { DateTime } from "luxon";
import { dec } from "../../domain/money.ts";
import type { AccountingConnection, Partner, Payout } from "../../generated/prisma/client.ts";
import { enqueueAccountingSync } from "../../services/accounting/enqueue.ts";
import { audit } from "../../services/audit.ts";
import type { Actor, ServiceDeps } from "../../services/deps.ts";
import { transact } from "../../services/transact.ts";
import { QuickBooksError, wireAmount, type QuickBooksClient } from "./client.ts";
import { withCompany } from "./connection.ts";

type Company = ReturnType<QuickBooksClient["company"]>;

/** QuickBooks' code for a display name already used by a vendor, customer or employee. */
const DUPLICATE_NAME = "6240";

const systemActor = (programId: string): Actor => ({ role: "system", id: "accounting-sync", programId });

/** A QuickBooks DocNumber holds 21 characters. */
const docNumber = (payoutId: string) => `ACR-${payoutId.slice(0, 8)}`;
/** Names the payout in full on every document (DocNumbers are too short to be unique). */
const privateNote = (payoutId: string) => `accrue payout ${payoutId}`;

function localDate(instant: Date, timeZone: string): string {
  return DateTime.fromJSDate(instant, { zone: timeZone }).toISODate()!;
}

/**
 * The partner as a QuickBooks vendor: created once and its id kept (or the
 * one an admin mapped). Display names are unique across vendors, customers
 * and employees; a taken name gets the partner's key appended. Every create
 * carries a requestid derived from the partner, so a retry never makes a
 * second vendor.
 */
async function vendorFor(deps: ServiceDeps, company: Company, partner: Partner): Promise<string> {
  if (partner.accountingVendorId) return partner.accountingVendorId;
  const names = [partner.name, `${partner.name} (${partner.externalId ?? partner.id.slice(0, 8)})`, `${partner.name} (${partner.id})`];
  for (const [attempt, raw] of names.entries()) {
    const displayName = raw.slice(0, 100);
    try {
      const created = await company.create<{ Vendor: { Id: string; DisplayName: string } }>(
        "vendor",
        { DisplayName: displayName, ...(partner.email ? { PrimaryEmailAddr: { Address: partner.email } } : {}), Vendor1099: false },
        `vendor-${partner.id}-${attempt}`,
      );
      await transact(deps, systemActor(partner.programId), async (tx) => {
        await tx.db.partner.update({ where: { id: partner.id }, data: { accountingVendorId: created.Vendor.Id, accountingVendorName: created.Vendor.DisplayName } });
        await audit(tx, {
          action: "accounting.vendor_create",
          entityType: "Partner",
          entityId: partner.id,
          after: { vendorId: created.Vendor.Id, displayName: created.Vendor.DisplayName },
        });
      });
      return created.Vendor.Id;
    } catch (error) {
      if (error instanceof QuickBooksError && error.faults.some((f) => f.code === DUPLICATE_NAME) && attempt < names.length - 1) continue;
      throw error;
    }
  }
  throw new QuickBooksError("no free vendor display name", "permanent");
}

interface SyncContext {
  deps: ServiceDeps;
  qbo: QuickBooksClient;
}

/**
 * Brings one payout into QuickBooks, as far as its state allows, and is
 * safe to run again at any point (each step is keyed by the payout):
 * 1. the partner as a vendor;
 * 2. an approved (or paid) payout as a Bill, one line per commission line on
 *    the program's expense account, clawbacks as negative lines, or, where
 *    QuickBooks refuses negative lines, the positive lines on the bill and
 *    the clawbacks as a VendorCredit;
 * 3. a paid payout's BillPayment, linking the bill (and the credit).
 * Throws QuickBooksError: retryable ones are retried by the outbox, others
 * stop the sync with the reason shown on the payout.
 */
export async function syncPayout(ctx: SyncContext, programId: string, payoutId: string): Promise<void> {
  const { deps, qbo } = ctx;
  const { connection, payout } = await loadForSync(deps, programId, payoutId);
  // A draft, cancelled or failed payout books nothing; one on its way through a provider has its bill, as an approved one.
  if (payout.status !== "APPROVED" && payout.status !== "PROCESSING" && payout.status !== "PAID") return;
  const program = await deps.tenant(programId).program.findUniqueOrThrow({ where: { id: programId }, select: { timeZone: true, currency: true } });

  await withCompany(deps, qbo, connection, async (company) => {
    const vendorId = await vendorFor(deps, company, payout.partner);
    let current: Payout = payout;
    if (!current.accountingBillId) current = await createBill(ctx, company, connection, current, vendorId, program);
    if (current.status === "PAID" && !current.accountingBillPaymentId) await createBillPayment(ctx, company, connection, current, vendorId, program);
  });
}

async function loadForSync(deps: ServiceDeps, programId: string, payoutId: string) {
  const db = deps.tenant(programId);
  const connection = await db.accountingConnection.findUnique({ where: { programId } });
  if (!connection || connection.status !== "CONNECTED") throw new QuickBooksError("QuickBooks is not connected", "permanent");
  const payout = await db.payout.findUnique({ where: { id: payoutId }, include: { partner: true } });
  if (!payout) throw new QuickBooksError("the payout is gone", "permanent");
  return { connection, payout };
}

/** QuickBooks' fault for an id it does not know (or no longer: deleted). */
const OBJECT_NOT_FOUND = "610";

interface QboTxn {
  Id: string;
  SyncToken: string;
  TotalAmt?: number;
  Balance?: number;
  PrivateNote?: string;
}

/**
 * The payout's bill or vendor credit as QuickBooks has it now: by the id we
 * kept, or, when we never learnt one (a create whose answer was lost before
 * the payout was cancelled), by the DocNumber and note we give every
 * document. Null when there is none (any more).
 */
async function findDocument(company: Company, entity: "bill" | "vendorcredit", payout: Payout): Promise<QboTxn | null> {
  const key = entity === "bill" ? "Bill" : "VendorCredit";
  const id = entity === "bill" ? payout.accountingBillId : payout.accountingVendorCreditId;
  if (id) {
    try {
      return (await company.read<Record<typeof key, QboTxn>>(entity, id))[key];
    } catch (error) {
      if (error instanceof QuickBooksError && error.faults.some((f) => f.code === OBJECT_NOT_FOUND)) return null;
      throw error;
    }
  }
  const number = entity === "bill" ? docNumber(payout.id) : `${docNumber(payout.id)}-C`;
  const found = await company.query<{ QueryResponse?: Partial<Record<typeof key, QboTxn[]>> }>(`select * from ${key} where DocNumber = '${number}'`);
  return found.QueryResponse?.[key]?.find((txn) => txn.PrivateNote === privateNote(payout.id)) ?? null;
}

/**
 * A cancelled payout's bill (and vendor credit) deleted from QuickBooks, so
 * that the books no longer owe the partner what accrue no longer does.
 * QuickBooks deletes a transaction by Id and current SyncToken, so each is
 * read first; one already gone counts as deleted, which makes a retry after a
 * lost answer harmless. A bill with payments is not deleted: the payments
 * must be removed in QuickBooks first, and the sync stops saying so.
 */
export async function removeBill(ctx: SyncContext, programId: string, payoutId: string): Promise<void> {
  const { deps, qbo } = ctx;
  const { connection, payout } = await loadForSync(deps, programId, payoutId);
  if ((payout.status !== "CANCELLED" && payout.status !== "FAILED") || payout.accountingSyncStatus === "REMOVED") return;
  const removed: Record<string, string> = {};
  await withCompany(deps, qbo, connection, async (company) => {
    for (const entity of ["bill", "vendorcredit"] as const) {
      const current = await findDocument(company, entity, payout);
      if (!current) continue;
      if (entity === "bill" && current.Balance !== current.TotalAmt) {
        throw new QuickBooksError(`bill ${current.Id} has payments in QuickBooks; remove them there, then retry`, "permanent");
      }
      await company.remove(entity, { Id: current.Id, SyncToken: current.SyncToken }, `delete-${entity}-${current.Id}`);
      removed[entity === "bill" ? "billId" : "vendorCreditId"] = current.Id;
    }
  });
  // Nothing known and nothing found: the payout never reached QuickBooks.
  const reached = Boolean(payout.accountingBillId) || Object.keys(removed).length > 0;
  const result = await transact(deps, systemActor(programId), async (tx) => {
    await tx.db.payout.update({
      where: { id: payout.id },
      data: { accountingSyncStatus: reached ? "REMOVED" : "NOT_SYNCED", accountingSyncError: null, accountingSyncedAt: tx.now },
    });
    if (reached) await audit(tx, { action: "payout.accounting_bill_removed", entityType: "Payout", entityId: payout.id, before: removed });
  });
  if (!result.ok) throw new Error(result.errors[0]!.message);
}

async function createBill(
  { deps }: SyncContext,
  company: Company,
  connection: AccountingConnection,
  payout: Payout,
  vendorId: string,
  program: { timeZone: string; currency: string },
): Promise<Payout> {
  const db = deps.tenant(payout.programId);
  const items = await db.payoutItem.findMany({
    where: { payoutId: payout.id, active: true },
    orderBy: { createdAt: "asc" },
    include: { commission: { select: { kind: true, id: true, conversion: { select: { externalId: true } } } } },
  });
  const line = (item: (typeof items)[number], sign: 1 | -1) => ({
    DetailType: "AccountBasedExpenseLineDetail",
    Amount: wireAmount(dec(item.amount).times(sign)),
    Description: `${item.commission.kind.toLowerCase()} ${item.commission.conversion?.externalId ?? item.commission.id}`.slice(0, 4000),
    AccountBasedExpenseLineDetail: { AccountRef: { value: connection.expenseAccountId } },
  });
  const header = {
    VendorRef: { value: vendorId },
    TxnDate: localDate(payout.approvedAt ?? deps.clock.now(), program.timeZone),
    DocNumber: docNumber(payout.id),
    PrivateNote: privateNote(payout.id),
    CurrencyRef: { value: program.currency },
  };
  let billId: string;
  let vendorCreditId: string | null = null;
  try {
    const bill = await company.create<{ Bill: { Id: string } }>("bill", { ...header, Line: items.map((item) => line(item, 1)) }, `bill-${payout.id}`);
    billId = bill.Bill.Id;
  } catch (error) {
    const refusesNegatives = error instanceof QuickBooksError && error.kind === "permanent" && error.faults.some((f) => /negative/i.test(`${f.message} ${f.detail ?? ""}`));
    const negatives = items.filter((item) => dec(item.amount).isNegative());
    if (!refusesNegatives || negatives.length === 0) throw error;
    const positives = items.filter((item) => !dec(item.amount).isNegative());
    const bill = await company.create<{ Bill: { Id: string } }>("bill", { ...header, Line: positives.map((item) => line(item, 1)) }, `bill-${payout.id}-positive`);
    billId = bill.Bill.Id;
    const credit = await company.create<{ VendorCredit: { Id: string } }>(
      "vendorcredit",
      { ...header, DocNumber: `${docNumber(payout.id)}-C`, Line: negatives.map((item) => line(item, -1)) },
      `vendorcredit-${payout.id}`,
    );
    vendorCreditId = credit.VendorCredit.Id;
  }
  return transact(deps, systemActor(payout.programId), async (tx) => {
    const after = await tx.db.payout.update({
      where: { id: payout.id },
      data: { accountingBillId: billId, accountingVendorCreditId: vendorCreditId, accountingSyncStatus: "BILLED", accountingSyncError: null, accountingSyncedAt: tx.now },
    });
    await audit(tx, { action: "payout.accounting_bill", entityType: "Payout", entityId: payout.id, after: { billId, vendorCreditId } });
    // Cancelled while the bill was being made (the cancel saw no bill to remove): remove it now.
    if (after.status === "CANCELLED") await enqueueAccountingSync(tx, [payout.id]);
    return after;
  }).then((result) => {
    if (!result.ok) throw new Error(result.errors[0]!.message);
    return result.value;
  });
}

async function createBillPayment(
  { deps }: SyncContext,
  company: Company,
  connection: AccountingConnection,
  payout: Payout,
  vendorId: string,
  program: { timeZone: string },
): Promise<void> {
  if (!connection.bankAccountId) throw new QuickBooksError("no bank account is set for bill payments; reconnect QuickBooks with one", "permanent");
  const amount = wireAmount(dec(payout.amount));
  let lines = [{ Amount: amount, LinkedTxn: [{ TxnId: payout.accountingBillId!, TxnType: "Bill" }] }];
  if (payout.accountingVendorCreditId) {
    // The bill holds the positive lines and the credit the clawbacks: the
    // payment settles the whole bill, the credit paying its share.
    const items = await deps.tenant(payout.programId).payoutItem.findMany({ where: { payoutId: payout.id, active: true }, select: { amount: true } });
    const credit = items
      .map((item) => dec(item.amount))
      .filter((a) => a.isNegative())
      .reduce((total, a) => total.minus(a), dec("0"));
    lines = [
      { Amount: wireAmount(dec(payout.amount).plus(credit)), LinkedTxn: [{ TxnId: payout.accountingBillId!, TxnType: "Bill" }] },
      { Amount: wireAmount(credit), LinkedTxn: [{ TxnId: payout.accountingVendorCreditId, TxnType: "VendorCredit" }] },
    ];
  }
  const payment = await company.create<{ BillPayment: { Id: string } }>(
    "billpayment",
    {
      VendorRef: { value: vendorId },
      PayType: "Check",
      CheckPayment: { BankAccountRef: { value: connection.bankAccountId } },
      TotalAmt: amount,
      TxnDate: localDate(payout.paidAt ?? deps.clock.now(), program.timeZone),
      ...(payout.reference ? { DocNumber: payout.reference.slice(0, 21) } : {}),
      PrivateNote: `accrue payout ${payout.id}${payout.method ? ` (${payout.method})` : ""}`,
      Line: lines,
    },
    `billpayment-${payout.id}`,
  );
  const result = await transact(deps, systemActor(payout.programId), async (tx) => {
    await tx.db.payout.update({
      where: { id: payout.id },
      data: { accountingBillPaymentId: payment.BillPayment.Id, accountingSyncStatus: "PAID", accountingSyncError: null, accountingSyncedAt: tx.now },
    });
    await audit(tx, { action: "payout.accounting_bill_payment", entityType: "Payout", entityId: payout.id, after: { billPaymentId: payment.BillPayment.Id } });
  });
  if (!result.ok) throw new Error(result.errors[0]!.message);
}
