import { builder } from "../builder.ts";
import { OPERATORS } from "../guards.ts";
import { Money, moneyOf } from "./common.ts";
import { PaymentProviderEnum } from "./payment-provider.ts";
import type { StoredDiscrepancy } from "../../services/payment-providers/reconcile-provider-payouts.ts";

/**
 * Who reads a payout's send attempts: operators. A partner reads its
 * payout's state and the provider's reason on the payout itself (status,
 * failureReason, providerNote); the attempts carry the program's own
 * provider ids, keys and fees, which are none of the partner's business,
 * and no integration scope was ever said to cover them.
 */
export const TRANSFER_READERS = { role: OPERATORS } as const;

export const PayoutTransferStatusEnum = builder.enumType("PayoutTransferStatus", {
  values: {
    PENDING: { description: "Written with its keys before any request; the provider has not answered yet." },
    PROCESSING: { description: "Accepted by the provider, not final." },
    PAID: { description: "The provider says it left." },
    FAILED: { description: "Nothing was sent (`reason` says why)." },
    UNCLAIMED: { description: "PayPal sent it to an address with no account yet; it returns after 30 days unless claimed." },
    RETURNED: { description: "The money came back, or never arrived." },
  } as const,
});

builder.prismaObject("PayoutTransfer", {
  authScopes: TRANSFER_READERS,
  description: "One attempt to send a payout through a payment provider, as accrue recorded it (operators).",
  fields: (t) => ({
    attempt: t.exposeInt("attempt", { description: "1 for the first send of the payout." }),
    provider: t.expose("provider", { type: PaymentProviderEnum }),
    status: t.expose("status", { type: PayoutTransferStatusEnum }),
    idempotencyKey: t.exposeString("idempotencyKey", {
      description: "What the provider was given as the transfer's idempotency key (Stripe's Idempotency-Key; Wise's customerTransactionId is made from it).",
    }),
    batchKey: t.exposeString("batchKey", { description: "The send's batch (PayPal's sender_batch_id)." }),
    providerTransferId: t.exposeString("providerTransferId", { nullable: true, description: "PayPal payout_item_id, Wise transfer id, Stripe tr_…" }),
    providerBatchId: t.exposeString("providerBatchId", { nullable: true, description: "PayPal's payout_batch_id." }),
    amount: t.field({
      type: Money,
      description: "What was handed over (fixed when sent: a retry sends the same).",
      resolve: (row) => moneyOf(row.amount, row.currency),
    }),
    fee: t.field({
      type: Money,
      nullable: true,
      description: "What the provider charged, in its currency.",
      resolve: (row) => (row.fee ? moneyOf(row.fee, row.feeCurrency ?? row.currency) : null),
    }),
    sentAmount: t.field({
      type: Money,
      nullable: true,
      description: "What the provider says reached the recipient's side (Wise's target amount).",
      resolve: (row) => (row.sentAmount ? moneyOf(row.sentAmount, row.sentCurrency ?? row.currency) : null),
    }),
    rate: t.field({ type: "Decimal", nullable: true, description: "Target units per source unit, when the provider converted.", resolve: (row) => row.rate }),
    reason: t.exposeString("reason", { nullable: true, description: "The provider's reason for FAILED, UNCLAIMED or RETURNED." }),
    lastEventAt: t.expose("lastEventAt", { type: "DateTime", nullable: true, description: "When the last provider event applied to it happened." }),
    checkedAt: t.expose("checkedAt", { type: "DateTime", nullable: true, description: "When the provider was last asked about it." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When it was handed over (sendPayouts)." }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

const DiscrepancyKindEnum = builder.enumType("ProviderDiscrepancyKind", {
  values: {
    MISSING: { description: "The provider has no record of the transfer." },
    STATUS: { description: "The provider says something other than paid (failed, returned, still on its way)." },
    AMOUNT: { description: "The provider sent another amount (or currency) than accrue recorded." },
    FEE: { description: "The provider charged another fee than accrue recorded." },
  } as const,
});

export const ProviderDiscrepancyRef = builder.objectRef<StoredDiscrepancy>("ProviderDiscrepancy").implement({
  description: "A difference between what a provider says of a paid payout and what accrue booked.",
  fields: (t) => {
    const money = (key: "providerAmount" | "recordedAmount" | "providerFee" | "recordedFee", description: string) =>
      t.field({ type: Money, nullable: true, description, resolve: ({ [key]: m }) => (m ? moneyOf(m.amount, m.currency) : null) });
    return {
      kind: t.field({ type: DiscrepancyKindEnum, resolve: (d) => d.kind }),
      message: t.exposeString("message"),
      providerStatus: t.exposeString("providerStatus", {
        nullable: true,
        description: "The provider's status, normalised (PAID, FAILED, RETURNED, PROCESSING, UNCLAIMED); null when it has no such transfer.",
      }),
      providerAmount: money("providerAmount", "What the provider says was sent (the recipient's side)."),
      recordedAmount: money("recordedAmount", "What accrue recorded as sent."),
      providerFee: money("providerFee", "The fee the provider reports, when it reports one."),
      recordedFee: money("recordedFee", "The fee accrue recorded."),
      foundAt: t.field({ type: "DateTime", description: "When this difference was first found.", resolve: (d) => new Date(d.foundAt) }),
    };
  },
});
