import { fail, UserErrorsThrown, type Result } from "../../domain/errors.ts";
import { maskSecret, parsePayoutMethod, payoutMethodLabel, type PayoutMethodInput } from "../../domain/payout-method.ts";
import type { PayoutMethod } from "../../generated/prisma/client.ts";
import { audit, transact, type Actor, type ServiceDeps, type Tx } from "../runtime.ts";

/** What the audit trail keeps of a method: never the number, only its mask. */
function masked(method: Pick<PayoutMethod, "type" | "details" | "secretLast4" | "currency" | "isDefault">) {
  return { type: method.type, details: method.details, number: maskSecret(method.secretLast4), currency: method.currency, isDefault: method.isDefault };
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

async function lockPartnerMethods(tx: Tx, partnerId: string): Promise<void> {
  // The partner row: serialises default changes for one partner.
  const rows = await tx.db.$queryRaw<{ id: string }[]>`SELECT id::text FROM partners WHERE id = ${partnerId}::uuid AND program_id = ${tx.programId}::uuid FOR UPDATE`;
  if (rows.length === 0) fail("NOT_FOUND", "no such partner", ["input", "partnerId"]);
}

/**
 * Adds a payout method. Sensitive numbers (IBAN, account number) are
 * encrypted; the rest is stored as given, checked per type. The first method
 * becomes the default; `makeDefault` moves the default to this one.
 * Errors: NOT_FOUND, INVALID_INPUT, INVALID_EMAIL, INVALID_IBAN, INVALID_BIC,
 * INVALID_ROUTING_NUMBER, INVALID_CURRENCY.
 */
export function addPayoutMethod(
  deps: ServiceDeps,
  actor: Actor,
  input: { partnerId: string; method: PayoutMethodInput; makeDefault?: boolean | null },
): Promise<Result<PayoutMethod>> {
  return transact(deps, actor, async (tx) => {
    assertActsFor(actor, input.partnerId, ["input", "partnerId"]);
    const parsed = parsePayoutMethod(input.method, ["input", "method"]);
    if (!parsed.ok) throw new UserErrorsThrown(parsed.errors);
    await lockPartnerMethods(tx, input.partnerId);
    const existing = await tx.db.payoutMethod.count({ where: { partnerId: input.partnerId } });
    if (existing >= 10) fail("INVALID_INPUT", "a partner has at most 10 payout methods", ["input", "partnerId"]);
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
      const next = await tx.db.payoutMethod.findFirst({ where: { partnerId: method.partnerId }, orderBy: { id: "desc" } });
      if (next) await tx.db.payoutMethod.update({ where: { id: next.id }, data: { isDefault: true } });
    }
    await audit(tx, { action: "payout_method.remove", entityType: "PayoutMethod", entityId: method.id, before: masked(method) });
    return method;
  });
}

/** Makes a method the partner's default. Errors: NOT_FOUND. */
export function setDefaultPayoutMethod(deps: ServiceDeps, actor: Actor, input: { id: string }): Promise<Result<PayoutMethod>> {
  return transact(deps, actor, async (tx) => {
    const method = await findOwnMethod(tx, actor, input.id);
    await lockPartnerMethods(tx, method.partnerId);
    await tx.db.payoutMethod.updateMany({ where: { partnerId: method.partnerId, isDefault: true }, data: { isDefault: false } });
    const after = await tx.db.payoutMethod.update({ where: { id: method.id }, data: { isDefault: true } });
    await audit(tx, { action: "payout_method.set_default", entityType: "PayoutMethod", entityId: method.id, before: { isDefault: method.isDefault }, after: { isDefault: true } });
    return after;
  });
}
