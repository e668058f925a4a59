import type { Decimal } from "decimal.js";
import type { CurrencyCode } from "../../domain/currency.ts";

/**
 * One small interface in front of every payment rail (PayPal Payouts, Wise,
 * Stripe Connect), so the payout lifecycle (phase 2 of issue 15) never sees a
 * provider's wire format. docs/payment-rails.md says how the pieces fit.
 *
 * Money crosses it as decimal.js values with an ISO 4217 currency, never as
 * JavaScript numbers; each connector converts to its provider's wire form
 * (PayPal decimal strings, Wise JSON numbers, Stripe minor-unit integers)
 * exactly, refusing what would not convert without rounding.
 */
export const PAYMENT_PROVIDERS = ["PAYPAL", "WISE", "STRIPE"] as const;
export type PaymentProviderName = (typeof PAYMENT_PROVIDERS)[number];

export interface Amount {
  amount: Decimal;
  currency: CurrencyCode;
}

/** Where the money goes, as the provider knows the recipient. */
export type Recipient =
  | { kind: "paypal"; email: string }
  /** A recipient account Wise created (and validated) when the method was verified; `currency` is what it receives. */
  | { kind: "wise"; recipientId: string; currency: CurrencyCode }
  /** A connected account of the platform. */
  | { kind: "stripe"; accountId: string };

export interface TransferInstruction {
  /** Our id for the transfer (the payout's id); providers echo it back where they can. */
  reference: string;
  /**
   * Stable for one send attempt of this transfer, stored by the caller before
   * the first request: Wise's customerTransactionId is made from it and
   * Stripe's Idempotency-Key is it. A transfer that FAILED needs a new one.
   */
  idempotencyKey: string;
  /** What leaves the program's account, in the program's currency. */
  amount: Decimal;
  currency: CurrencyCode;
  recipient: Recipient;
  /** Shown to the recipient where the provider carries it. */
  note?: string;
}

export interface SendRequest {
  /** The batch's key: PayPal's sender_batch_id (Wise and Stripe key each transfer by its own). */
  idempotencyKey: string;
  transfers: TransferInstruction[];
  /** PayPal's email subject for the recipients. */
  emailSubject?: string;
}

/**
 * Where a transfer stands, normalised:
 * PROCESSING — accepted, not final (PayPal PENDING/ONHOLD, Wise before outgoing_payment_sent);
 * PAID — the provider says it left (PayPal SUCCESS, Wise outgoing_payment_sent, a Stripe transfer);
 * FAILED — nothing was sent (reason says why);
 * UNCLAIMED — PayPal sent it to an email with no account yet (RETURNED after 30 days);
 * RETURNED — money came back after it left, or never arrived (refunded, reversed, bounced).
 */
export type TransferStatus = "PROCESSING" | "PAID" | "FAILED" | "UNCLAIMED" | "RETURNED";

export interface TransferOutcome {
  reference: string;
  idempotencyKey?: string;
  status: TransferStatus;
  /** PayPal payout_item_id, Wise transfer id, Stripe tr_…; null while the provider has not assigned one. */
  providerTransferId: string | null;
  providerBatchId?: string;
  /** The provider's reason for FAILED, RETURNED or UNCLAIMED. */
  reason?: string;
  /** What the provider charged for it. */
  fee?: Amount;
  /** What was sent on the recipient's side (Wise's target amount; the amount elsewhere). */
  sentAmount?: Amount;
  /** Target currency units per source unit, when the provider converted. */
  rate?: Decimal;
}

export interface SendResult {
  batchId?: string;
  transfers: TransferOutcome[];
}

/** What to ask the provider about: a PayPal batch, or transfers by the provider's ids (Stripe: also by key). */
export interface LookupQuery {
  batchId?: string;
  transfers?: { reference: string; idempotencyKey?: string; providerTransferId?: string | null }[];
}

export type ProviderEventKind = "paid" | "failed" | "returned" | "unclaimed";

/** A webhook's news, normalised. Phase 2 applies it to the payout the transfer belongs to. */
export interface ProviderEvent {
  /** Dedupe key: the provider's event id (Wise has none: transfer, state and time). */
  eventId: string;
  kind: ProviderEventKind;
  /** "transfer": one of ours (PayPal item, Wise transfer, Stripe tr_); "account_payout": a Stripe connected account's bank payout (po_). */
  subject: "transfer" | "account_payout";
  /** The provider's id of the subject. */
  transferId: string;
  /** Our reference, when the provider echoes it (PayPal sender_item_id, Stripe metadata). */
  reference?: string;
  batchId?: string;
  /** Stripe: the connected account a payout belongs to. */
  account?: string;
  reason?: string;
  /** Stripe transfer.reversed: the total reversed so far (reversals may be partial). */
  amount?: Amount;
  occurredAt: Date;
  /** The provider's own type and state, for the record. */
  providerType: string;
}

export type WebhookHeaders = Record<string, string | string[] | undefined>;

/** The address fields a Wise ACH recipient needs. */
export interface RecipientAddress {
  country: string;
  city: string;
  postCode: string;
  firstLine: string;
  state?: string;
}

export type WiseAccount =
  | { type: "email"; email: string }
  | { type: "iban"; iban: string; bic?: string }
  | { type: "sort_code"; sortCode: string; accountNumber: string }
  | { type: "aba"; routingNumber: string; accountNumber: string; accountType: "CHECKING" | "SAVINGS"; address: RecipientAddress };

/** A payout method, in the terms the provider checks it in. */
export type MethodToVerify =
  | { provider: "PAYPAL"; email: string; currency: CurrencyCode }
  | { provider: "WISE"; currency: CurrencyCode; accountHolderName: string; legalType: "PRIVATE" | "BUSINESS"; account: WiseAccount }
  | { provider: "STRIPE"; accountId: string; currency: CurrencyCode };

/** A problem the provider found, named by our input field (iban, sortCode, accountNumber, routingNumber, email, accountName, currency, accountId, address fields). */
export interface MethodProblem {
  field: string | null;
  message: string;
}

export type MethodVerification = { ok: true; recipientId: string | null } | { ok: false; problems: MethodProblem[] };

export interface PayoutProvider {
  readonly name: PaymentProviderName;
  /** Proves the credentials work; a label for the account (shown to admins). */
  verifyCredentials(): Promise<{ accountLabel: string }>;
  /** Asks the provider whether it can pay this method (Wise creates the recipient). */
  verifyMethod(method: MethodToVerify): Promise<MethodVerification>;
  /**
   * Sends the transfers. Idempotent: the same request again (after a timeout,
   * a crash, a 5xx) returns the transfers the first one made and sends
   * nothing twice, within the provider's window (PayPal 30 days, Stripe keys
   * 24 hours and then a lookup by transfer group, Wise's is not published).
   * Refusals of one transfer are its outcome (FAILED); an outage that
   * outlasts the connector's retries throws a retryable PaymentProviderError.
   */
  send(request: SendRequest): Promise<SendResult>;
  /** What the provider says now (for polling and reconciliation). */
  lookup(query: LookupQuery): Promise<TransferOutcome[]>;
  /** Verifies a webhook's signature and normalises it; throws WebhookRejected. Events we do not act on give []. */
  parseWebhook(raw: Buffer, headers: WebhookHeaders): Promise<ProviderEvent[]>;
}
