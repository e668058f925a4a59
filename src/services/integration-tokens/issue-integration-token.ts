import { randomUUID } from "node:crypto";
import { INTEGRATION_SCOPES, type IntegrationScope } from "../../auth/viewer.ts";
import { fail, failed, userError, type Result } from "../../domain/errors.ts";
import { checkText } from "../../domain/validation.ts";
import type { IntegrationToken } from "../../generated/prisma/client.ts";
import { audit } from "../audit.ts";
import type { Actor, ServiceDeps } from "../deps.ts";
import { transact } from "../transact.ts";

export interface IssueIntegrationTokenInput {
  name: string;
  scopes: readonly string[];
  expiresInDays?: number | null;
}

export interface IssuedIntegrationToken {
  record: IntegrationToken;
  /** The signed token; shown once, never stored. */
  token: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Issues a token for an integration with the given scopes. Its jti is the
 * record's id: revoking the record revokes the token.
 * Errors: INVALID_INPUT, NOT_CONFIGURED (no signing secret: accrue only
 * verifies an identity provider's tokens).
 */
export async function issueIntegrationToken(deps: ServiceDeps, actor: Actor, input: IssueIntegrationTokenInput): Promise<Result<IssuedIntegrationToken>> {
  const signer = deps.tokens;
  if (!signer) return failed(userError("NOT_CONFIGURED", "accrue has no HS256 secret (ACCRUE_JWT_SECRET) to sign tokens with"));
  return transact(deps, actor, async (tx) => {
    const errors: ReturnType<typeof userError>[] = [];
    const name = checkText(input.name, ["input", "name"], errors);
    const unknown = input.scopes.filter((scope) => !(INTEGRATION_SCOPES as readonly string[]).includes(scope));
    if (unknown.length > 0 || input.scopes.length === 0) {
      fail("INVALID_INPUT", `scopes must be some of ${INTEGRATION_SCOPES.join(", ")}`, ["input", "scopes"]);
    }
    const days = input.expiresInDays ?? 365;
    if (!Number.isInteger(days) || days < 1 || days > 3650) fail("INVALID_INPUT", "expiresInDays must be 1 to 3650", ["input", "expiresInDays"]);
    if (!name) fail(errors[0]!.code, errors[0]!.message, errors[0]!.field);
    const id = randomUUID();
    const expiresAt = new Date(tx.now.getTime() + days * DAY_MS);
    const scopes = [...new Set(input.scopes)] as IntegrationScope[];
    const record = await tx.db.integrationToken.create({
      data: { id, programId: tx.programId, name, scopes, createdBy: actor.id, expiresAt },
    });
    const token = await signer.sign({ role: "integration", subject: `integration:${id}`, programId: tx.programId, scopes, tokenId: id }, { issuedAt: tx.now, expiresAt });
    await audit(tx, { action: "integration_token.issue", entityType: "IntegrationToken", entityId: id, after: record });
    return { record, token };
  });
}
