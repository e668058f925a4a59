import { UserErrorsThrown, type Result } from "../../domain/errors.ts";
import { parseBillingProfile, type BillingProfileInput } from "../../domain/billing-profile.ts";
import { maskSecret } from "../../domain/payout-method.ts";
import type { BillingProfile } from "../../generated/prisma/client.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";
import { assertActsFor } from "./payout-methods.ts";

/**
 * Sets a partner's billing details (replacing what was there). The tax id is
 * encrypted; the audit trail keeps its mask only. Leaving taxId out keeps
 * the one on file.
 * Errors: NOT_FOUND, INVALID_INPUT.
 */
export function setBillingProfile(deps: ServiceDeps, actor: Actor, input: { partnerId: string; profile: BillingProfileInput }): Promise<Result<BillingProfile>> {
  return transact(deps, actor, async (tx) => {
    assertActsFor(actor, input.partnerId, ["input", "partnerId"]);
    const partner = await tx.db.partner.findUnique({ where: { id: input.partnerId }, select: { id: true } });
    if (!partner) throw new UserErrorsThrown([{ code: "NOT_FOUND", message: "no such partner", field: ["input", "partnerId"] }]);
    const before = await tx.db.billingProfile.findUnique({ where: { partnerId: input.partnerId } });
    // A form that shows the tax id masked sends none back: keep the one on file.
    const keepTaxId = input.profile.taxId == null && before?.taxId != null;
    const parsed = parseBillingProfile(input.profile, ["input", "profile"], keepTaxId);
    if (!parsed.ok) throw new UserErrorsThrown(parsed.errors);
    const { taxId, taxIdLast4, ...fields } = parsed.value;
    const data = {
      ...fields,
      taxId: keepTaxId ? before!.taxId : taxId ? deps.secrets.seal(taxId) : null,
      taxIdLast4: keepTaxId ? before!.taxIdLast4 : taxIdLast4,
    };
    const after = await tx.db.billingProfile.upsert({
      where: { partnerId: input.partnerId },
      create: { ...data, programId: tx.programId, partnerId: input.partnerId },
      update: data,
    });
    const show = (profile: BillingProfile | null) => (profile ? { ...profile, taxId: maskSecret(profile.taxIdLast4) } : null);
    await audit(tx, { action: "billing_profile.set", entityType: "BillingProfile", entityId: after.id, before: show(before), after: show(after) });
    return after;
  });
}
