import { fail, type Result } from "../../domain/errors.ts";
import type { IntegrationToken } from "../../generated/prisma/client.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";

/**
 * Revokes an integration token: requests with it fail from now on.
 * Revoking twice is harmless and returns the record as it is.
 * Errors: NOT_FOUND.
 */
export function revokeIntegrationToken(deps: ServiceDeps, actor: Actor, id: string): Promise<Result<IntegrationToken>> {
  return transact(deps, actor, async (tx) => {
    const before = await tx.db.integrationToken.findUnique({ where: { id } });
    if (!before) fail("NOT_FOUND", "no such integration token", ["input", "id"]);
    if (before.revokedAt) return before;
    const after = await tx.db.integrationToken.update({ where: { id }, data: { revokedAt: tx.now } });
    await audit(tx, { action: "integration_token.revoke", entityType: "IntegrationToken", entityId: id, before, after });
    return after;
  });
}
