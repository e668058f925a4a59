import { SignJWT } from "jose";
import type { IntegrationScope, Role } from "./viewer.ts";

export interface TokenClaims {
  subject: string;
  role: Role;
  programId?: string;
  partnerId?: string;
  scopes?: readonly IntegrationScope[];
  tokenId?: string;
}

/** Signs an HS256 token that this server's verifier accepts. */
export async function signToken(claims: TokenClaims, options: { secret: string; issuer: string; audience: string; expiresAt: Date; issuedAt?: Date }): Promise<string> {
  const payload: Record<string, unknown> = { role: claims.role };
  if (claims.programId) payload.program_id = claims.programId;
  if (claims.partnerId) payload.partner_id = claims.partnerId;
  if (claims.scopes) payload.scope = claims.scopes.join(" ");
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.subject)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt(Math.floor((options.issuedAt ?? new Date()).getTime() / 1000))
    .setExpirationTime(Math.floor(options.expiresAt.getTime() / 1000));
  if (claims.tokenId) jwt.setJti(claims.tokenId);
  return jwt.sign(new TextEncoder().encode(options.secret));
}
