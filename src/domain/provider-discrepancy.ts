import type { Decimal } from "decimal.js";
import type { CurrencyCode } from "./currency.ts";
import { formatAmount } from "./money.ts";

/** What is compared: an amount and its currency. */
export interface MoneyFact {
  amount: Decimal;
  currency: string;
}

/**
 * MISSING: the provider has no such transfer; STATUS: it says something else
 * than paid (failed, returned, still on its way); AMOUNT: it sent another
 * amount or currency than accrue recorded; FEE: it charged another fee.
 */
export type DiscrepancyKind = "MISSING" | "STATUS" | "AMOUNT" | "FEE";

export interface Discrepancy {
  kind: DiscrepancyKind;
  message: string;
  providerStatus: string | null;
  providerAmount: MoneyFact | null;
  recordedAmount: MoneyFact;
  providerFee: MoneyFact | null;
  recordedFee: MoneyFact | null;
}

/** What the provider says of a transfer accrue booked as paid (null: it has none). */
export interface ProviderView {
  status: string;
  /** What it says was sent (the recipient's side); absent when it does not say. */
  sent: MoneyFact | null;
  fee: MoneyFact | null;
}

const same = (a: MoneyFact, b: MoneyFact) => a.currency === b.currency && a.amount.eq(b.amount);
const show = (m: MoneyFact | null) => (m ? `${formatAmount(m.amount, m.currency as CurrencyCode)} ${m.currency}` : "none");

/**
 * The provider reconciliation's rule for one PAID transfer: what the provider
 * says against what accrue recorded as sent (`recorded`, the recipient's
 * side, as the send's answer reported it) and charged (`recordedFee`). The
 * first difference found, in the order MISSING, STATUS, AMOUNT, FEE, or
 * null when they agree. A fee the provider does not report is not compared
 * (Wise's lookup and Stripe report none); one it reports and accrue did not
 * record is a difference.
 */
export function findDiscrepancy(recorded: MoneyFact, recordedFee: MoneyFact | null, seen: ProviderView | null): Discrepancy | null {
  const base = { providerStatus: seen?.status ?? null, providerAmount: seen?.sent ?? null, recordedAmount: recorded, providerFee: seen?.fee ?? null, recordedFee };
  if (!seen) return { ...base, kind: "MISSING", message: `the provider has no record of this transfer; accrue booked ${show(recorded)} as paid` };
  if (seen.status !== "PAID") return { ...base, kind: "STATUS", message: `the provider says ${seen.status.toLowerCase()}; accrue booked it as paid` };
  if (seen.sent && !same(seen.sent, recorded)) return { ...base, kind: "AMOUNT", message: `the provider sent ${show(seen.sent)}; accrue recorded ${show(recorded)}` };
  if (seen.fee && !(recordedFee && same(seen.fee, recordedFee)) && !(recordedFee === null && seen.fee.amount.isZero())) {
    return { ...base, kind: "FEE", message: `the provider charged ${show(seen.fee)}; accrue recorded ${show(recordedFee)}` };
  }
  return null;
}
