import { fail, type Result } from "../../domain/errors.ts";
import { once } from "../idempotency.ts";
import { insertLines, Ledger, type LineRow } from "../ledger/ledger.ts";
import { lineCodec } from "./adjust-commission.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact, type Tx } from "../transact.ts";

/**
 * Writes off a partner's negative payable balance (clawbacks it will never
 * earn back): a WRITE_OFF line of the opposite amount, bringing payable to
 * zero. The reason is required and audited.
 * Errors: NOT_FOUND, BALANCE_NOT_NEGATIVE, INVALID_INPUT (no reason),
 * IDEMPOTENCY_CONFLICT. With an idempotency key, a replay returns the first
 * write-off line.
 */
export function writeOffBalance(deps: ServiceDeps, actor: Actor, input: { partnerId: string; reason: string; idempotencyKey?: string | null }): Promise<Result<LineRow>> {
  const reason = input.reason.trim();
  const request = { partnerId: input.partnerId, reason };
  return transact(deps, actor, (tx) => once(tx, "writeOffBalance", input.idempotencyKey, request, () => writeOff(tx, request), lineCodec(tx)));
}

async function writeOff(tx: Tx, input: { partnerId: string; reason: string }): Promise<LineRow> {
  const reason = input.reason;
  {
    if (!reason || reason.length > 2000) fail("INVALID_INPUT", "a reason of 1 to 2000 characters is required", ["input", "reason"]);
    const ledger = new Ledger(tx, "balance.write_off");
    const balance = (await ledger.lockPartners([input.partnerId])).get(input.partnerId);
    if (!balance) fail("NOT_FOUND", "no such partner", ["input", "partnerId"]);
    if (!balance.payable.isNegative()) {
      fail("BALANCE_NOT_NEGATIVE", `the payable balance is ${balance.payable.toFixed()}; only a negative one can be written off`, ["input", "partnerId"]);
    }
    const [line] = await insertLines(tx, [
      {
        partnerId: input.partnerId,
        kind: "WRITE_OFF",
        status: "APPROVED",
        amount: balance.payable.negated(),
        currency: balance.currency,
        occurredAt: tx.now,
        payableAt: tx.now,
        matured: true,
        reasonCode: "WRITE_OFF",
        note: reason,
      },
    ]);
    ledger.added(line!);
    await audit(tx, {
      action: "balance.write_off",
      entityType: "Commission",
      entityId: line!.id,
      before: { payable: balance.payable.toFixed() },
      after: { payable: "0", amount: line!.amount.toFixed() },
      reason,
    });
    await ledger.flush();
    return line!;
  }
}
