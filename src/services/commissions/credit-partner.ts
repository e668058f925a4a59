import type { CurrencyCode } from "../../domain/currency.ts";
import { fail, UserErrorsThrown, type Result } from "../../domain/errors.ts";
import { once } from "../idempotency.ts";
import { insertLines, Ledger, type LineRow } from "../ledger/ledger.ts";
import { lineCodec } from "./adjust-commission.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact, type Tx } from "../transact.ts";
import { checkCorrection, type CorrectionInput } from "./correction-input.ts";

/**
 * Credits a partner (a bonus, or a bounced payment booked back): a CREDIT
 * line, approved and payable at once.
 * Errors: NOT_FOUND, INVALID_AMOUNT (zero or negative, or too many places),
 * IDEMPOTENCY_CONFLICT. With an idempotency key, a replay returns the first
 * credit line instead of booking another.
 */
export function creditPartner(deps: ServiceDeps, actor: Actor, input: CorrectionInput & { partnerId: string; idempotencyKey?: string | null }): Promise<Result<LineRow>> {
  return transact(deps, actor, (tx) => once(tx, "creditPartner", input.idempotencyKey, { ...input, idempotencyKey: undefined }, () => bookCredit(tx, input), lineCodec(tx)));
}

/** The credit inside a caller's transaction (also used when a paid payout bounces). */
export async function bookCredit(tx: Tx, input: CorrectionInput & { partnerId: string; relatedId?: string }): Promise<LineRow> {
  const ledger = new Ledger(tx, "commission.credit");
  const balances = await ledger.lockPartners([input.partnerId]);
  const balance = balances.get(input.partnerId);
  if (!balance) fail("NOT_FOUND", "no such partner", ["input", "partnerId"]);
  const checked = checkCorrection(input, balance.currency as CurrencyCode, { allowNegative: false });
  if (checked.errors.length > 0) throw new UserErrorsThrown(checked.errors);
  const [credit] = await insertLines(tx, [
    {
      partnerId: input.partnerId,
      kind: "CREDIT",
      status: "APPROVED",
      amount: checked.amount!,
      currency: balance.currency,
      occurredAt: tx.now,
      payableAt: tx.now,
      matured: true,
      relatedId: input.relatedId ?? null,
      reasonCode: input.reasonCode,
      note: checked.note,
    },
  ]);
  ledger.added(credit!);
  await audit(tx, {
    action: "commission.credit",
    entityType: "Commission",
    entityId: credit!.id,
    after: { amount: credit!.amount.toFixed(), partnerId: input.partnerId, reasonCode: input.reasonCode },
    reason: checked.note,
  });
  await ledger.flush();
  return credit!;
}
