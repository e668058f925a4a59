import { parseCurrencyCode } from "../../domain/currency.ts";
import { failed, ok, userError, type Result, type UserError } from "../../domain/errors.ts";
import type { Program } from "../../generated/prisma/client.ts";
import type { ServiceDeps } from "../deps.ts";
import { toJson } from "../to-json.ts";
import { parseProgramSettings, type ProgramSettingsInput } from "./program-settings.ts";

export interface CreateProgramInput extends ProgramSettingsInput {
  name: string;
  currency: string;
  commissionRule: NonNullable<ProgramSettingsInput["commissionRule"]>;
}

/**
 * Creates a program (a tenant). Platform role only: there is no program scope
 * yet, so this is the one service that writes through the unscoped client.
 * Errors: INVALID_CURRENCY, INVALID_TIME_ZONE, INVALID_COMMISSION_RULE,
 * INVALID_SCHEDULE, INVALID_AMOUNT, INVALID_INPUT.
 */
export async function createProgram(deps: ServiceDeps, actor: { role: "platform"; id: string }, input: CreateProgramInput): Promise<Result<Program>> {
  const errors: UserError[] = [];
  const currency = parseCurrencyCode(input.currency);
  if (!currency) {
    return failed(userError("INVALID_CURRENCY", `"${input.currency}" is not an ISO 4217 currency code`, ["input", "currency"]));
  }
  const settings = parseProgramSettings(input, currency, errors);
  if (errors.length > 0) return failed(...errors);

  const program = await deps.prisma.$transaction(async (db) => {
    const created = await db.program.create({
      // createdAt from the business clock: scheduled payout runs never run for days before the program existed.
      data: { ...(settings as object), name: settings.name as string, currency, commissionRule: settings.commissionRule as object, createdAt: deps.clock.now() },
    });
    await db.auditEntry.create({
      data: {
        programId: created.id,
        actorRole: actor.role,
        actorId: actor.id,
        action: "program.create",
        entityType: "Program",
        entityId: created.id,
        after: toJson(created),
      },
    });
    return created;
  });
  return ok(program);
}
