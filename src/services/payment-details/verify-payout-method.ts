import { fail, failed, userError, type Result } from "../../domain/errors.ts";
import type { PayoutMethod } from "../../generated/prisma/client.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { assertPartnerMayActNow, transact } from "../transact.ts";
import { checkWithProvider, storedAsParsed, verificationData, VERIFYING_PROVIDER } from "./verify-with-provider.ts";

/**
 * Checks a stored method with the program's provider now: for methods saved
 * before the provider was connected (which may not become the default until
 * then), or to check again. Wise makes a recipient for it.
 * Errors: NOT_FOUND, NOT_CONNECTED, PROVIDER_REJECTED, PROVIDER_UNAVAILABLE,
 * and the field codes of a refusal (INVALID_IBAN, …).
 */
export async function verifyPayoutMethod(deps: ServiceDeps, actor: Actor, input: { id: string }): Promise<Result<PayoutMethod>> {
  await assertPartnerMayActNow(deps, actor);
  const stored = await deps.tenant(actor.programId).payoutMethod.findUnique({ where: { id: input.id } });
  if (!stored || (actor.partnerId && actor.partnerId !== stored.partnerId)) return failed(userError("NOT_FOUND", "no such payout method", ["input", "id"]));
  const check = await checkWithProvider(deps, actor.programId, stored.partnerId, storedAsParsed(deps, stored), ["input", "id"]);
  if (check.status === "REFUSED") return { ok: false, errors: check.errors };
  if (check.status === "UNVERIFIED") {
    const provider = VERIFYING_PROVIDER[stored.type];
    return failed(
      userError("NOT_CONNECTED", provider ? `the program has not connected ${provider} to check this method with` : `a ${stored.type} method is not checked with a provider`, [
        "input",
        "id",
      ]),
    );
  }
  return transact(deps, actor, async (tx) => {
    const before = await tx.db.payoutMethod.findUnique({ where: { id: stored.id } });
    if (!before) fail("NOT_FOUND", "no such payout method", ["input", "id"]);
    // Edited meanwhile: what was checked is no longer what is stored.
    if (before.updatedAt.getTime() !== stored.updatedAt.getTime()) fail("CONCURRENT_UPDATE", "the method changed while it was being checked; check it again", ["input", "id"]);
    const after = await tx.db.payoutMethod.update({ where: { id: stored.id }, data: verificationData(check, tx.now) });
    await audit(tx, {
      action: "payout_method.verify",
      entityType: "PayoutMethod",
      entityId: stored.id,
      before: { verificationStatus: before.verificationStatus },
      after: { verificationStatus: after.verificationStatus, verifiedWith: after.verifiedWith },
    });
    return after;
  });
}
