import type { CurrencyCode } from "../../domain/currency.ts";
import { UserErrorsThrown, type Result, type UserError } from "../../domain/errors.ts";
import type { Partner } from "../../generated/prisma/client.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";
import { assertPartnerKeysFree, parsePartnerFields, writePartner, type PartnerFieldsInput } from "./partner-fields.ts";

export interface CreatePartnerInput extends PartnerFieldsInput {
  name: string;
}

/**
 * Adds a partner to the program, with an empty balance.
 * Errors: INVALID_INPUT, INVALID_EMAIL, INVALID_COMMISSION_RULE, TAKEN
 * (externalId or email already used in the program).
 */
export function createPartner(deps: ServiceDeps, actor: Actor, input: CreatePartnerInput): Promise<Result<Partner>> {
  return transact(deps, actor, async (tx) => {
    const program = await tx.db.program.findUniqueOrThrow({ where: { id: tx.programId }, select: { currency: true } });
    const errors: UserError[] = [];
    const data = parsePartnerFields(input, program.currency as CurrencyCode, errors);
    if (errors.length > 0) throw new UserErrorsThrown(errors);
    await assertPartnerKeysFree(tx, data);
    const partner = await writePartner(() =>
      tx.db.partner.create({
        data: { ...(data as object), name: data.name as string, programId: tx.programId },
      }),
    );
    await tx.db.balance.create({ data: { partnerId: partner.id, programId: tx.programId, currency: program.currency } });
    await audit(tx, { action: "partner.create", entityType: "Partner", entityId: partner.id, after: partner });
    return partner;
  });
}
