import { GraphQLError } from "graphql";
import type { Database, PrismaClient } from "../db/database.ts";
import { batchPerTurn } from "../db/batch-per-turn.ts";
import { readRows } from "../db/sql-read.ts";
import { Prisma } from "../generated/prisma/client.ts";
import { isDatabaseUnavailable } from "../db/errors.ts";
import type { Clock } from "../clock.ts";
import { AuthenticationError, type TokenVerifier } from "./verify-token.ts";
import type { Viewer } from "./viewer.ts";

export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(`Authentication failed: ${message}.`, {
    extensions: { code: "UNAUTHENTICATED", http: { status: 401 } },
  });
}

/**
 * From a bearer token to a viewer: the signature and claims (jose), then, for
 * integration tokens, the revocation list (the token's jti must name an
 * unrevoked, unexpired integration token of the same program, whose issued
 * scopes bound the token's).
 * No token gives null (anonymous); a bad one an UNAUTHENTICATED error.
 * `sqlReads` (PostgreSQL): the partner check's batched read without Prisma.
 */
export function createAuthenticator(verify: TokenVerifier, prisma: PrismaClient, clock: Clock, toleranceSeconds = 5, sqlReads?: Pick<Database, "sqlRead">) {
  // Signature checks cost more than the rest of a small request; a token that
  // verified once is trusted again until it expires (the revocation list is
  // still read every time). Bounded: the oldest entries go first.
  const verified = new Map<string, Viewer>();
  const MAX_CACHED = 10_000;

  /**
   * A well-signed token may still name a program (or partner) that is not
   * here: from another environment, or an identity provider's mistake. It
   * authenticates nobody, so it is refused like a bad signature, before any
   * resolver would find nothing where it expects its program. Programs and
   * partners are never deleted, so a token that passed once is cached.
   */
  // Partner tokens come in storms (a portal's or a feed's clients reconnecting
  // after a restart): the tokens of one turn are checked in one statement.
  const partnerKnown = batchPerTurn<{ programId: string; partnerId: string }, boolean>(async (keys) => {
    const programIds = keys.map((key) => key.programId.toLowerCase());
    const partnerIds = keys.map((key) => key.partnerId.toLowerCase());
    const rows = await readRows<{ program_id: string; id: string }>(
      { sqlReads },
      prisma,
      Prisma.sql`
      SELECT p.program_id::text, p.id::text
        FROM unnest(${programIds}::uuid[], ${partnerIds}::uuid[]) AS k(program_id, id)
        JOIN partners p ON p.program_id = k.program_id AND p.id = k.id`,
    );
    const found = new Set(rows.map((row) => `${row.program_id}/${row.id}`));
    return keys.map((_key, i) => found.has(`${programIds[i]}/${partnerIds[i]}`));
  });

  async function assertKnown(viewer: Viewer): Promise<void> {
    if (viewer.role === "platform") return;
    const found =
      viewer.role === "partner"
        ? Number(await partnerKnown({ programId: viewer.programId, partnerId: viewer.partnerId }))
        : await prisma.program.count({ where: { id: viewer.programId } });
    if (found === 0) throw new AuthenticationError(viewer.role === "partner" ? "the token's partner is not in its program" : "the token's program does not exist");
  }

  async function verifyOnce(token: string): Promise<Viewer> {
    const cached = verified.get(token);
    if (cached?.expiresAt && cached.expiresAt.getTime() + toleranceSeconds * 1000 > clock.now().getTime()) return cached;
    const viewer = await verify(token);
    await assertKnown(viewer);
    if (verified.size >= MAX_CACHED) verified.delete(verified.keys().next().value!);
    verified.set(token, viewer);
    return viewer;
  }

  async function viewerFromToken(token: string): Promise<Viewer> {
    let viewer: Viewer;
    try {
      viewer = await verifyOnce(token);
    } catch (error) {
      if (error instanceof AuthenticationError) throw unauthenticated(error.message);
      throw error;
    }
    if (viewer.role === "integration") {
      const row = await prisma.integrationToken
        .findUnique({
          where: { id: viewer.tokenId },
          select: { programId: true, revokedAt: true, expiresAt: true, scopes: true },
        })
        .catch((error: unknown) => {
          // A database that cannot answer is no proof the token was revoked:
          // the caller hears SERVICE_UNAVAILABLE and keeps its token.
          if (isDatabaseUnavailable(error)) throw error;
          return null;
        });
      const now = clock.now();
      if (!row || row.programId !== viewer.programId || row.revokedAt || (row.expiresAt && row.expiresAt <= now)) {
        throw unauthenticated("the integration token is revoked or unknown");
      }
      // The scopes an admin issued are the most the token may use, whatever its claims say
      // (an identity provider's token naming an issued jti cannot widen them).
      const issued = new Set(row.scopes);
      return { ...viewer, scopes: new Set([...viewer.scopes].filter((scope) => issued.has(scope))) };
    }
    return viewer;
  }

  return {
    viewerFromToken,
    /** Reads `Authorization: Bearer <token>`. */
    async viewerFromHeader(header: string | null | undefined): Promise<Viewer | null> {
      if (!header) return null;
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match) throw unauthenticated('send "Authorization: Bearer <token>"');
      return viewerFromToken(match[1]!);
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
