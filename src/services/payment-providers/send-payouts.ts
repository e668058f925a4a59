import type { CurrencyCode } from "../../domain/currency.ts";
import { fail, userError, type Result } from "../../domain/errors.ts";
import { dec } from "../../domain/money.ts";
import { dualControlRefusal, transitionPayout } from "../../domain/payout-status.ts";
import { uuidv7 } from "../../db/uuid.ts";
import type { PaymentProvider, PayoutMethod } from "../../generated/prisma/client.ts";
import type { Recipient } from "../../integrations/payments/payout-provider.ts";
import { enqueue } from "../accounting/enqueue.ts";
import type { BulkResult } from "../commissions/review-commissions.ts";
import { once } from "../idempotency.ts";
import { Ledger } from "../ledger/ledger.ts";
import { emitPayout } from "../payouts/payout-lines.ts";
import { MAX_PAYOUTS_PER_CALL } from "../payouts/transition-payouts.ts";
import { audit, type AuditInput } from "../audit.ts";
import { transact, type Tx } from "../transact.ts";
import { toJson } from "../to-json.ts";
import { type Actor, type ServiceDeps } from "../deps.ts";
import { PROVIDER_LABEL } from "./payout-outcomes.ts";

/** The outbox job that hands a send's transfers to their provider; its subject is the send's batch key. */
export const SEND_TRANSFERS = "payments.send_transfers";

/** Which rail pays a method type. */
const RAIL_OF: Partial<Record<PayoutMethod["type"], PaymentProvider>> = { PAYPAL: "PAYPAL", WISE: "WISE", STRIPE: "STRIPE" };

/**
 * sendPayouts: hands APPROVED payouts to the payment provider that pays
 * each partner's default payout method. In one transaction: each payout is
 * checked (approved, positive, a default method verified with a connected
 * provider, dual control), gets a send attempt whose idempotency keys are
 * written before any request leaves, moves to PROCESSING, and the attempts
 * are queued on the outbox as one batch per provider. The provider is called
 * by the outbox (sendTransfers), never here: a crash after the provider
 * accepted and before accrue recorded it retries with the same keys, and the
 * provider answers with what it already did.
 *
 * Named by ids, or as a payout run (every APPROVED payout the run drafted,
 * up to MAX_PAYOUTS_PER_CALL a call, oldest first; NOT_FOUND for a run that
 * is not the program's).
 *
 * Payouts that cannot be sent are reported skipped with a code, without
 * failing the others: NOT_FOUND, INVALID_TRANSITION, NOT_POSITIVE,
 * NO_PAYOUT_METHOD, METHOD_NOT_VERIFIED, NOT_CONNECTED, DUAL_CONTROL.
 * Errors: INVALID_INPUT, IDEMPOTENCY_CONFLICT.
 */
export function sendPayouts(deps: ServiceDeps, actor: Actor, input: { ids?: string[] | null; runId?: string | null; idempotencyKey?: string | null }): Promise<Result<BulkResult>> {
  if ((input.ids == null) === (input.runId == null)) {
    return Promise.resolve({ ok: false, errors: [userError("INVALID_INPUT", "name the payouts (ids) or a payout run (runId), not both", ["input", "ids"])] });
  }
  const codec = { encode: (result: BulkResult) => result, decode: async (stored: unknown) => stored as BulkResult };
  if (input.runId != null) {
    const runId = input.runId;
    return transact(deps, actor, (tx) => once(tx, "payout.send", input.idempotencyKey, { runId }, async () => send(tx, await approvedOfRun(tx, runId)), codec));
  }
  const ids = [...new Set(input.ids)];
  if (ids.length === 0 || ids.length > MAX_PAYOUTS_PER_CALL) {
    return Promise.resolve({ ok: false, errors: [userError("INVALID_INPUT", `name 1 to ${MAX_PAYOUTS_PER_CALL} payouts`, ["input", "ids"])] });
  }
  // The request hashed as before runs could be named, so keys stored then still replay.
  return transact(deps, actor, (tx) => once(tx, "payout.send", input.idempotencyKey, { ids }, () => send(tx, ids), codec));
}

/**
 * A run's payouts that can be sent: its APPROVED ones, oldest first, at most
 * MAX_PAYOUTS_PER_CALL (one transaction locks every partner it sends for);
 * the rest wait for the next call. A run of another program is not found.
 */
async function approvedOfRun(tx: Tx, runId: string): Promise<string[]> {
  const run = await tx.db.payoutRun.findUnique({ where: { id: runId }, select: { id: true } });
  if (!run) fail("NOT_FOUND", "no such payout run", ["input", "runId"]);
  const payouts = await tx.db.payout.findMany({ where: { runId, status: "APPROVED" }, select: { id: true }, orderBy: { id: "asc" }, take: MAX_PAYOUTS_PER_CALL });
  return payouts.map((payout) => payout.id);
}

async function send(tx: Tx, ids: string[]): Promise<BulkResult> {
  const program = await tx.db.program.findUniqueOrThrow({ where: { id: tx.programId }, select: { currency: true, minimumPayout: true, dualControlAbove: true } });
  const currency = program.currency as CurrencyCode;
  const threshold = program.dualControlAbove === null ? null : dec(program.dualControlAbove);
  const ledger = new Ledger(tx, "payout.send");
  const first = await tx.db.payout.findMany({ where: { id: { in: ids } }, select: { partnerId: true } });
  await ledger.lockPartners(first.map((payout) => payout.partnerId));
  const payouts = new Map((await tx.db.payout.findMany({ where: { id: { in: ids } } })).map((payout) => [payout.id, payout]));
  const partnerIds = [...new Set([...payouts.values()].map((p) => p.partnerId))];
  const methods = new Map((await tx.db.payoutMethod.findMany({ where: { partnerId: { in: partnerIds }, isDefault: true } })).map((m) => [m.partnerId, m]));
  const connections = new Map((await tx.db.paymentProviderConnection.findMany({ where: { status: "CONNECTED" } })).map((c) => [c.provider, c]));

  const result: BulkResult = { changed: [], skipped: [] };
  const audits: AuditInput[] = [];
  // One batch per provider for this send (PayPal's sender_batch_id; the outbox job's subject).
  const batchKeys = new Map<PaymentProvider, string>();
  for (const id of ids) {
    const payout = payouts.get(id);
    if (!payout) {
      result.skipped.push({ id, code: "NOT_FOUND", message: "no such payout" });
      continue;
    }
    const amount = dec(payout.amount);
    const move = transitionPayout(payout.status, "send", { amount, currency, minimum: dec(program.minimumPayout), minimumOverridden: payout.minimumOverrideReason !== null });
    if (!move.ok) {
      result.skipped.push({ id, code: move.code, message: move.message });
      continue;
    }
    const dual = dualControlRefusal({ amount, currency, threshold, approvedBy: payout.approvedBy, sender: tx.actor.id });
    if (dual) {
      result.skipped.push({ id, code: dual.code, message: dual.message });
      continue;
    }
    const method = methods.get(payout.partnerId);
    const provider = method ? RAIL_OF[method.type] : undefined;
    if (!method || !provider) {
      result.skipped.push({ id, code: "NO_PAYOUT_METHOD", message: "the partner's default payout method is not one a payment provider pays (PayPal, Wise, Stripe)" });
      continue;
    }
    const connection = connections.get(provider);
    if (!connection) {
      result.skipped.push({ id, code: "NOT_CONNECTED", message: `${PROVIDER_LABEL[provider]} is not connected to this program` });
      continue;
    }
    const recipient = method.verificationStatus === "VERIFIED" && method.verifiedWith === provider ? recipientOf(method, provider) : null;
    if (!recipient) {
      result.skipped.push({ id, code: "METHOD_NOT_VERIFIED", message: `the partner's ${PROVIDER_LABEL[provider]} method is not verified with ${PROVIDER_LABEL[provider]}` });
      continue;
    }
    let batchKey = batchKeys.get(provider);
    if (!batchKey) {
      // PayPal keeps a sender_batch_id at most 256 characters; this is 47.
      batchKey = `send-${provider.toLowerCase()}-${uuidv7()}`;
      batchKeys.set(provider, batchKey);
    }
    const attempt = (await tx.db.payoutTransfer.count({ where: { payoutId: id } })) + 1;
    await tx.db.payoutTransfer.create({
      data: {
        programId: tx.programId,
        payoutId: id,
        attempt,
        provider,
        connectionId: connection.id,
        idempotencyKey: `${id}:${attempt}`,
        batchKey,
        amount: payout.amount,
        currency: payout.currency,
        recipient: toJson(recipient) as object,
        createdAt: tx.now,
      },
    });
    const updated = await tx.db.payout.updateMany({
      where: { id, status: move.from },
      data: { status: move.to, sentAt: tx.now, sentBy: tx.actor.id, method: method.type, failureReason: null, providerNote: null },
    });
    if (updated.count !== 1) throw new Error(`payout ${id} changed under its partner's lock`);
    const after = await tx.db.payout.findUniqueOrThrow({ where: { id } });
    emitPayout(ledger, after);
    audits.push({
      action: "payout.send",
      entityType: "Payout",
      entityId: id,
      before: { status: payout.status, approvedBy: payout.approvedBy },
      after: { status: after.status, sentBy: tx.actor.id, approvedBy: payout.approvedBy, provider, batchKey, idempotencyKey: `${id}:${attempt}` },
    });
    result.changed.push(id);
  }
  await enqueue(tx, SEND_TRANSFERS, [...batchKeys.values()]);
  await audit(tx, ...audits);
  await ledger.flush();
  return result;
}

/** The provider's recipient for a verified method, or null when it lacks what the provider needs. */
function recipientOf(method: PayoutMethod, provider: PaymentProvider): Recipient | null {
  const details = (method.details ?? {}) as Record<string, string | undefined>;
  switch (provider) {
    case "PAYPAL":
      return details.email ? { kind: "paypal", email: details.email } : null;
    case "WISE":
      return method.providerRecipientId && method.currency ? { kind: "wise", recipientId: method.providerRecipientId, currency: method.currency as CurrencyCode } : null;
    case "STRIPE": {
      const accountId = method.providerRecipientId ?? details.accountId;
      return accountId ? { kind: "stripe", accountId } : null;
    }
  }
}
