import { fail, failed, userError, type Result } from "../../domain/errors.ts";
import { parsePayoutMethod, payoutMethodLabel, wiseRoute, type PayoutMethodInput } from "../../domain/payout-method.ts";
import type { PayoutMethod } from "../../generated/prisma/client.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { assertPartnerMayActNow, transact } from "../transact.ts";
import { lockPartnerMethods, masked } from "./payout-methods.ts";
import { checkWithProvider, mayBeDefault, verificationData } from "./verify-with-provider.ts";

/**
 * The sensitive number a stored method keeps, where an edit left it out: the
 * partner need not type an IBAN again to fix the account holder's name. A
 * Wise method keeps it only on the same route (an IBAN for an IBAN, an
 * account number with the same sort code or routing number form).
 */
function withKeptNumber(deps: ServiceDeps, stored: PayoutMethod, input: PayoutMethodInput): PayoutMethodInput {
  if (!stored.secret || input.iban != null || input.accountNumber != null) return input;
  const number = () => deps.secrets.open(stored.secret!);
  switch (stored.type) {
    case "BANK_TRANSFER":
      return { ...input, iban: number() };
    case "ACH":
    case "WIRE":
      return { ...input, accountNumber: number() };
    case "WISE": {
      const route = wiseRoute(stored.details as Record<string, string>);
      if (route === "iban" && input.email == null && input.sortCode == null && input.routingNumber == null) return { ...input, iban: number() };
      if ((route === "sort_code" && input.sortCode != null) || (route === "aba" && input.routingNumber != null)) return { ...input, accountNumber: number() };
      return input;
    }
    default:
      return input;
  }
}

/**
 * Edits a payout method: its fields are replaced by the input's (the type
 * stays; the IBAN or account number may be left out to keep the one on
 * file). The new details are checked as a new method's are, with the
 * provider when one is connected for it (Wise makes a new recipient), and a
 * refusal changes nothing.
 * Errors: NOT_FOUND, INVALID_INPUT, INVALID_EMAIL, INVALID_IBAN, INVALID_BIC,
 * INVALID_ROUTING_NUMBER, INVALID_CURRENCY, PROVIDER_REJECTED,
 * PROVIDER_UNAVAILABLE, METHOD_NOT_VERIFIED.
 */
export async function updatePayoutMethod(
  deps: ServiceDeps,
  actor: Actor,
  input: { id: string; method: PayoutMethodInput; makeDefault?: boolean | null },
): Promise<Result<PayoutMethod>> {
  await assertPartnerMayActNow(deps, actor);
  const stored = await deps.tenant(actor.programId).payoutMethod.findUnique({ where: { id: input.id } });
  if (!stored || (actor.partnerId && actor.partnerId !== stored.partnerId)) return failed(userError("NOT_FOUND", "no such payout method", ["input", "id"]));
  if (input.method.type !== stored.type)
    return failed(userError("INVALID_INPUT", `a method's type stays ${stored.type}; add a new method to be paid another way`, ["input", "method", "type"]));
  const parsed = parsePayoutMethod(withKeptNumber(deps, stored, input.method), ["input", "method"]);
  if (!parsed.ok) return parsed;
  const check = await checkWithProvider(deps, actor.programId, stored.partnerId, parsed.value, ["input", "method"]);
  if (check.status === "REFUSED") return { ok: false, errors: check.errors };
  return transact(deps, actor, async (tx) => {
    await lockPartnerMethods(tx, stored.partnerId);
    const before = await tx.db.payoutMethod.findUnique({ where: { id: stored.id } });
    // Removed meanwhile: nothing to edit.
    if (!before) fail("NOT_FOUND", "no such payout method", ["input", "id"]);
    const verification = verificationData(check, tx.now);
    const makeDefault = input.makeDefault === true && !before.isDefault;
    if (makeDefault && !(await mayBeDefault(tx, { type: before.type, ...verification }))) {
      fail("METHOD_NOT_VERIFIED", "verify this method with the provider before making it the default", ["input", "makeDefault"]);
    }
    if (makeDefault) await tx.db.payoutMethod.updateMany({ where: { partnerId: before.partnerId, isDefault: true }, data: { isDefault: false } });
    const after = await tx.db.payoutMethod.update({
      where: { id: before.id },
      data: {
        details: { ...parsed.value.details, label: payoutMethodLabel(parsed.value) },
        secret: parsed.value.secret ? deps.secrets.seal(parsed.value.secret) : null,
        secretLast4: parsed.value.secretLast4,
        currency: parsed.value.currency,
        ...(makeDefault ? { isDefault: true } : {}),
        ...verification,
      },
    });
    await audit(tx, { action: "payout_method.update", entityType: "PayoutMethod", entityId: after.id, before: masked(before), after: masked(after) });
    return after;
  });
}
