import { fail, failed, userError, type Result } from "../../domain/errors.ts";
import { maskSecret, parsePayoutMethod, payoutMethodLabel, type PayoutMethodInput } from "../../domain/payout-method.ts";
import type { PayoutMethod } from "../../generated/prisma/client.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { assertPartnerMayActNow, transact, type Tx } from "../transact.ts";
import { checkWithProvider, mayBeDefault, verificationData } from "./verify-with-provider.ts";

const MAX_METHODS = 10;

/** What the audit trail keeps of a method: never the number, only its mask. */
export function masked(
  method: Pick<PayoutMethod, "type" | "details" | "secretLast4" | "currency" | "isDefault"> & Partial<Pick<PayoutMethod, "verificationStatus" | "verifiedWith">>,
) {
  return {
    type: method.type,
    details: method.details,
    number: maskSecret(method.secretLast4),
    currency: method.currency,
    isDefault: method.isDefault,
    ...(method.verificationStatus ? { verificationStatus: method.verificationStatus, verifiedWith: method.verifiedWith ?? null } : {}),
  };
}

/** A partner acts for itself only; operators for any partner of the program. */
export function assertActsFor(actor: Actor, partnerId: string, field: string[]): void {
  if (actor.partnerId && actor.partnerId !== partnerId) fail("NOT_FOUND", "no such partner", field);
}

/**
 * A method by id, as the actor may name it: a partner's own methods only, so
 * another partner's method reads "no such payout method" like an unknown id
 * (naming "no such partner" there would confirm the method exists).
 */
async function findOwnMethod(tx: Tx, actor: Actor, id: string): Promise<PayoutMethod> {
  const method = await tx.db.payoutMethod.findUnique({ where: { id } });
  if (!method || (actor.partnerId && method.partnerId !== actor.partnerId)) fail("NOT_FOUND", "no such payout method", ["input", "id"]);
  return method;
}

export async function lockPartnerMethods(tx: Tx, partnerId: string): Promise<void> {
  // The partner row: serialises default changes for one partner.
  const rows = await tx.db.$queryRaw<{ id: string }[]>`SELECT id::text FROM partners WHERE id = ${partnerId}::uuid AND program_id = ${tx.programId}::uuid FOR UPDATE`;
  if (rows.length === 0) fail("NOT_FOUND", "no such partner", ["input", "partnerId"]);
}

/**
 * Adds a payout method. Sensitive numbers (IBAN, account number) are
 * encrypted; the rest is stored as given, checked per type. When the program
 * has connected the provider that pays this type, the provider checks it
 * first (Wise creates the recipient) and a refusal saves nothing. The first
 * method becomes the default; `makeDefault` moves the default to this one.
 * Errors: NOT_FOUND, INVALID_INPUT, INVALID_EMAIL, INVALID_IBAN, INVALID_BIC,
 * INVALID_ROUTING_NUMBER, INVALID_CURRENCY, PROVIDER_REJECTED, PROVIDER_UNAVAILABLE.
 */
export async function addPayoutMethod(
  deps: ServiceDeps,
  actor: Actor,
  input: { partnerId: string; method: PayoutMethodInput; makeDefault?: boolean | null },
): Promise<Result<PayoutMethod>> {
  await assertPartnerMayActNow(deps, actor);
  if (actor.partnerId && actor.partnerId !== input.partnerId) return failed(userError("NOT_FOUND", "no such partner", ["input", "partnerId"]));
  const parsed = parsePayoutMethod(input.method, ["input", "method"]);
  if (!parsed.ok) return parsed;
  // Before asking a provider (which may create a recipient there): the partner is ours and has room.
  const db = deps.tenant(actor.programId);
  if (!(await db.partner.findUnique({ where: { id: input.partnerId }, select: { id: true } }))) return failed(userError("NOT_FOUND", "no such partner", ["input", "partnerId"]));
  if ((await db.payoutMethod.count({ where: { partnerId: input.partnerId } })) >= MAX_METHODS) {
    return failed(userError("INVALID_INPUT", `a partner has at most ${MAX_METHODS} payout methods`, ["input", "partnerId"]));
  }
  const check = await checkWithProvider(deps, actor.programId, input.partnerId, parsed.value, ["input", "method"]);
  if (check.status === "REFUSED") return { ok: false, errors: check.errors };
  return transact(deps, actor, async (tx) => {
    await lockPartnerMethods(tx, input.partnerId);
    const existing = await tx.db.payoutMethod.count({ where: { partnerId: input.partnerId } });
    if (existing >= MAX_METHODS) fail("INVALID_INPUT", `a partner has at most ${MAX_METHODS} payout methods`, ["input", "partnerId"]);
    const isDefault = existing === 0 || input.makeDefault === true;
    if (isDefault) await tx.db.payoutMethod.updateMany({ where: { partnerId: input.partnerId, isDefault: true }, data: { isDefault: false } });
    const method = await tx.db.payoutMethod.create({
      data: {
        programId: tx.programId,
        partnerId: input.partnerId,
        type: parsed.value.type,
        details: { ...parsed.value.details, label: payoutMethodLabel(parsed.value) },
        secret: parsed.value.secret ? deps.secrets.seal(parsed.value.secret) : null,
        secretLast4: parsed.value.secretLast4,
        currency: parsed.value.currency,
        isDefault,
        ...verificationData(check, tx.now),
      },
    });
    await audit(tx, { action: "payout_method.add", entityType: "PayoutMethod", entityId: method.id, after: masked(method) });
    return method;
  });
}

/**
 * Removes a payout method. Removing the default makes the newest remaining
 * method the default. Past payouts keep the method name they were paid with.
 * Errors: NOT_FOUND.
 */
export function removePayoutMethod(deps: ServiceDeps, actor: Actor, input: { id: string }): Promise<Result<PayoutMethod>> {
  return transact(deps, actor, async (tx) => {
    const method = await findOwnMethod(tx, actor, input.id);
    await lockPartnerMethods(tx, method.partnerId);
    await tx.db.payoutMethod.delete({ where: { id: method.id } });
    if (method.isDefault) {
      // The newest that may be the default (one a connected provider has not verified may not).
      const rest = await tx.db.payoutMethod.findMany({ where: { partnerId: method.partnerId }, orderBy: { id: "desc" } });
      for (const next of rest) {
        if (!(await mayBeDefault(tx, next))) continue;
        await tx.db.payoutMethod.update({ where: { id: next.id }, data: { isDefault: true } });
        break;
      }
    }
    await audit(tx, { action: "payout_method.remove", entityType: "PayoutMethod", entityId: method.id, before: masked(method) });
    return method;
  });
}

/**
 * Makes a method the partner's default: one the program's connected provider
 * has verified, or one no connected provider can check.
 * Errors: NOT_FOUND, METHOD_NOT_VERIFIED.
 */
export function setDefaultPayoutMethod(deps: ServiceDeps, actor: Actor, input: { id: string }): Promise<Result<PayoutMethod>> {
  return transact(deps, actor, async (tx) => {
    const method = await findOwnMethod(tx, actor, input.id);
    await lockPartnerMethods(tx, method.partnerId);
    if (!(await mayBeDefault(tx, method))) fail("METHOD_NOT_VERIFIED", "verify this method with the provider (verifyPayoutMethod) before making it the default", ["input", "id"]);
    await tx.db.payoutMethod.updateMany({ where: { partnerId: method.partnerId, isDefault: true }, data: { isDefault: false } });
    const after = await tx.db.payoutMethod.update({ where: { id: method.id }, data: { isDefault: true } });
    await audit(tx, { action: "payout_method.set_default", entityType: "PayoutMethod", entityId: method.id, before: { isDefault: method.isDefault }, after: { isDefault: true } });
    return after;
  });
}
