import type { Result } from "../../domain/errors.ts";
import type { Payout } from "../../generated/prisma/client.ts";
import { once } from "../idempotency.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";
import { draftPayout, type DraftPayoutOptions } from "./draft-payout.ts";

/**
 * Drafts a payout for one partner (see draftPayout). With an idempotency
 * key, a replay returns the first payout.
 */
export function createPayout(deps: ServiceDeps, actor: Actor, input: DraftPayoutOptions & { idempotencyKey?: string | null }): Promise<Result<Payout>> {
  return transact(deps, actor, (tx) =>
    once(tx, "createPayout", input.idempotencyKey, { ...input, idempotencyKey: undefined }, () => draftPayout(tx, input), {
      encode: (payout) => payout.id,
      decode: (id) => tx.db.payout.findUniqueOrThrow({ where: { id: id as string } }),
    }),
  );
}
