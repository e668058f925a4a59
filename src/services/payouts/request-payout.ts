import { fail, type Result } from "../../domain/errors.ts";
import type { Payout } from "../../generated/prisma/client.ts";
import { once } from "../idempotency.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";
import { draftPayout } from "./draft-payout.ts";

/**
 * A partner asks to be paid its payable balance, when the program allows
 * payout requests: a draft payout for operators to approve, under the same
 * rules as any other (minimum, payout method, billing details).
 * Errors: PAYOUT_REQUESTS_DISABLED, and those of draftPayout.
 */
export function requestPayout(deps: ServiceDeps, actor: Actor, input: { idempotencyKey?: string | null }): Promise<Result<Payout>> {
  return transact(deps, actor, async (tx) => {
    if (!actor.partnerId) fail("INVALID_INPUT", "only a partner can request its own payout");
    const program = await tx.db.program.findUniqueOrThrow({ where: { id: tx.programId }, select: { allowPayoutRequests: true } });
    if (!program.allowPayoutRequests) fail("PAYOUT_REQUESTS_DISABLED", "this program pays on its own schedule; payout requests are off");
    return once(tx, "requestPayout", input.idempotencyKey, { partnerId: actor.partnerId }, () => draftPayout(tx, { partnerId: actor.partnerId!, partnerField: [] }), {
      encode: (payout) => payout.id,
      decode: (id) => tx.db.payout.findUniqueOrThrow({ where: { id: id as string } }),
    });
  });
}
