import { fail, Forbidden, type Result } from "../../domain/errors.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";

/**
 * Shows a payout method's full number to an operator, audited. Admins may
 * always; finance only while the partner has an approved payout, the one it
 * is paying. Everyone else sees the last four characters.
 * Errors: NOT_FOUND, INVALID_INPUT (nothing to reveal); throws Forbidden
 * for finance with nothing to pay.
 */
export function revealPayoutMethod(deps: ServiceDeps, actor: Actor, input: { id: string; reason?: string | null }): Promise<Result<{ id: string; number: string }>> {
  return transact(deps, actor, async (tx) => {
    const method = await tx.db.payoutMethod.findUnique({ where: { id: input.id } });
    if (!method) fail("NOT_FOUND", "no such payout method", ["input", "id"]);
    if (!method.secret) fail("INVALID_INPUT", "this method has no number to reveal", ["input", "id"]);
    if (actor.role === "finance") {
      const paying = await tx.db.payout.findFirst({ where: { partnerId: method.partnerId, status: "APPROVED" }, select: { id: true } });
      if (!paying) throw new Forbidden("finance may reveal bank details only while paying an approved payout to this partner");
    }
    const number = deps.secrets.open(method.secret);
    await audit(tx, { action: "payout_method.reveal", entityType: "PayoutMethod", entityId: method.id, after: { partnerId: method.partnerId }, reason: input.reason ?? null });
    return { id: method.id, number };
  });
}

/** Shows a partner's full tax id to an admin (for tax filing), audited. Errors: NOT_FOUND, INVALID_INPUT. */
export function revealTaxId(deps: ServiceDeps, actor: Actor, input: { partnerId: string; reason?: string | null }): Promise<Result<{ id: string; number: string }>> {
  return transact(deps, actor, async (tx) => {
    const profile = await tx.db.billingProfile.findUnique({ where: { partnerId: input.partnerId } });
    if (!profile) fail("NOT_FOUND", "no billing details for this partner", ["input", "partnerId"]);
    if (!profile.taxId) fail("INVALID_INPUT", "no tax id on file", ["input", "partnerId"]);
    const number = deps.secrets.open(profile.taxId);
    await audit(tx, {
      action: "billing_profile.reveal_tax_id",
      entityType: "BillingProfile",
      entityId: profile.id,
      after: { partnerId: input.partnerId },
      reason: input.reason ?? null,
    });
    return { id: profile.id, number };
  });
}
