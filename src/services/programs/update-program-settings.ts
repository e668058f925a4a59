import type { CommissionRuleInput } from "../../domain/commission-rule.ts";
import { parseCurrencyCode, type CurrencyCode } from "../../domain/currency.ts";
import { fail, UserErrorsThrown, type Result, type UserError } from "../../domain/errors.ts";
import { todayIn } from "../../domain/program-time.ts";
import type { Program } from "../../generated/prisma/client.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";
import { parseProgramSettings, type ProgramSettingsInput } from "./program-settings.ts";

export interface UpdateProgramSettingsInput extends ProgramSettingsInput {
  currency?: string | null;
}

/**
 * Changes the program's settings; absent fields stay. The currency can change
 * only while no money exists in the program (no conversion, commission or
 * payout). Hold periods and rules are not retroactive: lines keep the
 * payableAt and rule they were written with. A changed payout schedule runs
 * from its first date after today.
 * Errors: CURRENCY_LOCKED, INVALID_CURRENCY, and those of the settings.
 */
export function updateProgramSettings(deps: ServiceDeps, actor: Actor, input: UpdateProgramSettingsInput): Promise<Result<Program>> {
  return transact(deps, actor, async (tx) => {
    // Locks the program row: settings changes are serialised, and a currency
    // change cannot race the first conversion (which reads this row FOR SHARE).
    await tx.db.$executeRaw`SELECT 1 FROM programs WHERE id = ${tx.programId}::uuid FOR UPDATE`;
    const before = await tx.db.program.findUniqueOrThrow({ where: { id: tx.programId } });
    const errors: UserError[] = [];
    let currency = before.currency as CurrencyCode;
    if (input.currency != null && input.currency !== before.currency) {
      const parsed = parseCurrencyCode(input.currency);
      if (!parsed) fail("INVALID_CURRENCY", `"${input.currency}" is not an ISO 4217 currency code`, ["input", "currency"]);
      const [conversion, commission, payout] = await Promise.all([
        tx.db.conversion.findFirst({ select: { id: true } }),
        tx.db.commission.findFirst({ select: { id: true } }),
        tx.db.payout.findFirst({ select: { id: true } }),
      ]);
      if (conversion || commission || payout) {
        fail("CURRENCY_LOCKED", "the currency is fixed once the program has conversions, commissions or payouts", ["input", "currency"]);
      }
      currency = parsed;
    }
    // Amounts already stored must fit the new currency's minor unit too.
    const checked: ProgramSettingsInput =
      currency === before.currency
        ? input
        : {
            ...input,
            minimumPayout: input.minimumPayout ?? before.minimumPayout.toFixed(),
            commissionRule: input.commissionRule ?? (before.commissionRule as unknown as CommissionRuleInput),
          };
    const data = parseProgramSettings(checked, currency, errors);
    if (errors.length > 0) throw new UserErrorsThrown(errors);
    if (currency !== before.currency) {
      data.currency = currency;
      await tx.db.balance.updateMany({ data: { currency } });
    }
    // A new schedule starts with its first date after today (in the program's
    // time zone): changing it must not run at once a date that is already past.
    if (input.payoutSchedule != null) data.lastScheduledRunOn = new Date(`${todayIn(tx.now, String(data.timeZone ?? before.timeZone))}T00:00:00Z`);
    const after = await tx.db.program.update({ where: { id: tx.programId }, data });
    await audit(tx, { action: "program.update_settings", entityType: "Program", entityId: after.id, before, after });
    return after;
  });
}
