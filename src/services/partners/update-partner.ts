import type { CurrencyCode } from "../../domain/currency.ts";
import { fail, UserErrorsThrown, type Result, type UserError } from "../../domain/errors.ts";
import type { Partner } from "../../generated/prisma/client.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";
import { assertPartnerKeysFree, parsePartnerFields, writePartner, type PartnerFieldsInput } from "./partner-fields.ts";

export interface UpdatePartnerInput extends PartnerFieldsInput {
  id: string;
}

/**
 * Changes a partner's identity, status or commission override; absent fields
 * stay, null clears an optional one. An override applies to sales recorded
 * after the change only.
 * Errors: NOT_FOUND, INVALID_INPUT, INVALID_EMAIL, INVALID_COMMISSION_RULE, TAKEN.
 */
export function updatePartner(deps: ServiceDeps, actor: Actor, input: UpdatePartnerInput): Promise<Result<Partner>> {
  return transact(deps, actor, async (tx) => {
    const before = await tx.db.partner.findUnique({ where: { id: input.id } });
    if (!before) fail("NOT_FOUND", "no such partner", ["input", "id"]);
    const program = await tx.db.program.findUniqueOrThrow({ where: { id: tx.programId }, select: { currency: true } });
    const errors: UserError[] = [];
    const data = parsePartnerFields(input, program.currency as CurrencyCode, errors);
    if (errors.length > 0) throw new UserErrorsThrown(errors);
    await assertPartnerKeysFree(tx, data, before.id);
    const after = await writePartner(() => tx.db.partner.update({ where: { id: before.id }, data }));
    await audit(tx, { action: "partner.update", entityType: "Partner", entityId: after.id, before, after });
    return after;
  });
}
