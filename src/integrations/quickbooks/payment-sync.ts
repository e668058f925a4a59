import { DateTime } from "luxon";
import { transitionPayouts } from "../../services/payouts/transition-payouts.ts";
import type { Actor, ServiceDeps } from "../../services/deps.ts";
import { QuickBooksError, type QuickBooksClient } from "./client.ts";
import { withCompany } from "./connection.ts";

export interface QboBillPayment {
  Id: string;
  PayType?: string;
  TotalAmt?: number;
  TxnDate?: string;
  DocNumber?: string;
  Line?: { Amount?: number; LinkedTxn?: { TxnId: string; TxnType: string }[] }[];
  MetaData?: { LastUpdatedTime?: string };
}

const systemActor = (programId: string): Actor => ({ role: "system", id: "accounting-sync", programId });

/**
 * A BillPayment seen in QuickBooks (by the change-data-capture poll or a
 * webhook): each approved payout whose bill it pays in full is marked paid in
 * accrue, with the method and reference of that payment. Our own
 * BillPayments (for payouts paid in accrue first) change nothing.
 */
export async function applyBillPayment(deps: ServiceDeps, qbo: QuickBooksClient, programId: string, payment: QboBillPayment): Promise<number> {
  const db = deps.tenant(programId);
  const billIds = (payment.Line ?? []).flatMap((line) => (line.LinkedTxn ?? []).filter((t) => t.TxnType === "Bill").map((t) => t.TxnId));
  if (billIds.length === 0) return 0;
  const payouts = await db.payout.findMany({ where: { accountingBillId: { in: billIds } } });
  const connection = await db.accountingConnection.findUnique({ where: { programId } });
  if (!connection || connection.status !== "CONNECTED") return 0;
  const program = await db.program.findUniqueOrThrow({ where: { id: programId }, select: { timeZone: true } });
  let marked = 0;
  for (const payout of payouts) {
    if (payout.status !== "APPROVED") continue;
    const bill = await withCompany(deps, qbo, connection, (company) => company.read<{ Bill: { Id: string; Balance: number } }>("bill", payout.accountingBillId!));
    if (bill.Bill.Balance !== 0) continue; // paid in part: wait for the rest
    // Claim the payment first, so our own sync never books a second one.
    const claimed = await db.payout.updateMany({ where: { id: payout.id, accountingBillPaymentId: null }, data: { accountingBillPaymentId: payment.Id } });
    if (claimed.count !== 1) continue;
    const now = deps.clock.now();
    // QuickBooks dates a payment by day: the start of that day in the
    // program's zone, never before the approval it follows (a bill approved
    // and paid the same day) and never in the future.
    const txnDay = payment.TxnDate ? DateTime.fromISO(payment.TxnDate, { zone: program.timeZone }).startOf("day").toJSDate() : now;
    const day = payout.approvedAt && txnDay.getTime() < payout.approvedAt.getTime() ? payout.approvedAt : txnDay;
    const result = await transitionPayouts(deps, systemActor(programId), "pay", {
      ids: [payout.id],
      payment: {
        method: payment.PayType === "Check" ? "CHECK" : "OTHER",
        reference: payment.DocNumber ?? `QuickBooks BillPayment ${payment.Id}`,
        notes: "Paid in QuickBooks",
        paidAt: day.getTime() > now.getTime() ? now : day,
      },
    });
    if (result.ok && result.value.changed.length === 1) {
      await db.payout.update({ where: { id: payout.id }, data: { accountingSyncStatus: "PAID", accountingSyncedAt: now, accountingSyncError: null } });
      marked += 1;
    } else {
      await db.payout.updateMany({ where: { id: payout.id, accountingBillPaymentId: payment.Id }, data: { accountingBillPaymentId: null } });
    }
  }
  return marked;
}

/** Reads one BillPayment by id (a webhook names it) and applies it. */
export async function checkBillPayment(deps: ServiceDeps, qbo: QuickBooksClient, programId: string, billPaymentId: string): Promise<void> {
  const connection = await deps.tenant(programId).accountingConnection.findUnique({ where: { programId } });
  if (!connection || connection.status !== "CONNECTED") throw new QuickBooksError("QuickBooks is not connected", "permanent");
  const found = await withCompany(deps, qbo, connection, (company) => company.read<{ BillPayment: QboBillPayment }>("billpayment", billPaymentId));
  await applyBillPayment(deps, qbo, programId, found.BillPayment);
}

/**
 * Change data capture: asks QuickBooks for BillPayments changed since the
 * last check and applies each. The check time moves only when all were
 * applied, so a failure means the same window is asked again.
 */
export async function pollBillPayments(deps: ServiceDeps, qbo: QuickBooksClient, programId: string): Promise<number> {
  const db = deps.tenant(programId);
  const connection = await db.accountingConnection.findUnique({ where: { programId } });
  if (!connection || connection.status !== "CONNECTED") return 0;
  const asked = deps.clock.now();
  const since = connection.changesCheckedAt ?? connection.connectedAt;
  const response = await withCompany(deps, qbo, connection, (company) =>
    company.changesSince<{ CDCResponse?: { QueryResponse?: { BillPayment?: QboBillPayment[] }[] }[] }>(["BillPayment"], since),
  );
  // Newest first: when several payments settle a bill, the payout records the one that completed it.
  const payments = (response.CDCResponse ?? [])
    .flatMap((r) => (r.QueryResponse ?? []).flatMap((q) => q.BillPayment ?? []))
    .sort((a, b) => Date.parse(b.MetaData?.LastUpdatedTime ?? "") - Date.parse(a.MetaData?.LastUpdatedTime ?? ""));
  let marked = 0;
  for (const payment of payments) marked += await applyBillPayment(deps, qbo, programId, payment);
  await db.accountingConnection.update({ where: { id: connection.id }, data: { changesCheckedAt: asked } });
  return marked;
}
