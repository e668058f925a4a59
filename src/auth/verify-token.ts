import { createHmac, timingSafeEqual } from "node:crypto";
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  UnsecuredJWT,
  type JWTClaimVerificationOptions,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from "jose";
import * as z from "zod";
import { INTEGRATION_SCOPES, ROLES, type Viewer } from "./viewer.ts";

export interface TokenVerifierOptions {
  /** HS256 secret: our own tokens (dev tokens, integration tokens). */
  secret?: string;
  /** An identity provider's key set: RS256 / ES256 tokens. */
  jwksUrl?: string;
  issuer: string;
  audience: string;
  clockToleranceSeconds: number;
  /** Longest `exp - iat` of a token that is not an integration token (those carry a revocable expiry of their own). */
  maxLifetimeSeconds?: number;
  now?: () => Date;
}

export class AuthenticationError extends Error {
  override name = "AuthenticationError";
}

const uuid = z.uuid();
const Claims = z
  .object({
    // The subject is written into the audit trail and every line's author: PostgreSQL
    // text holds no NUL, and no other control character belongs in a name.
    sub: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[^\p{Cc}]+$/u, "sub holds a control character"),
    role: z.enum(ROLES),
    program_id: uuid.optional(),
    partner_id: uuid.optional(),
    scope: z.string().optional(),
    jti: z.string().optional(),
    exp: z.number(),
    iat: z.number(),
  })
  .superRefine((claims, ctx) => {
    if (claims.role !== "platform" && !claims.program_id) ctx.addIssue({ code: "custom", message: "program_id is required" });
    if (claims.role === "partner" && !claims.partner_id) ctx.addIssue({ code: "custom", message: "partner_id is required" });
    if (claims.role === "integration" && !claims.jti) ctx.addIssue({ code: "custom", message: "jti is required" });
  });

const HMAC_ALGORITHMS = ["HS256"];
const ASYMMETRIC_ALGORITHMS = ["RS256", "ES256"];

/** `{"alg":"none"}`, the header jose's claim checks are handed (see verifyHs256). */
const NO_ALGORITHM_HEADER = "eyJhbGciOiJub25lIn0";
/** An HS256 signature: 32 bytes, base64url without padding. */
const HS256_SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

/**
 * An HS256 token's signature checked with node:crypto, at once, where
 * WebCrypto (jose's way) imports the key and runs the check as a job on the
 * thread pool for every token: a reconnect storm checks thousands of tokens,
 * and this was the largest part of a subscription's CPU. The claims are then
 * checked by jose itself (its JWT claim rules, the same options and errors),
 * handed over as an unsecured JWT once the signature is known good. Headers
 * asking for extensions (`crit`, `b64`) are refused: our tokens have none.
 */
function verifyHs256(token: string, header: ProtectedHeaderParameters, secret: Uint8Array, claims: JWTClaimVerificationOptions): JWTPayload {
  const parts = token.split(".");
  if (parts.length !== 3 || "crit" in header || "b64" in header || !HS256_SIGNATURE.test(parts[2]!)) throw new Error("not a compact HS256 JWS");
  const expected = createHmac("sha256", secret).update(`${parts[0]}.${parts[1]}`).digest();
  if (!timingSafeEqual(expected, Buffer.from(parts[2]!, "base64url"))) throw new Error("signature verification failed");
  return UnsecuredJWT.decode(`${NO_ALGORITHM_HEADER}.${parts[1]}.`, claims).payload;
}

/**
 * Verifies bearer tokens with jose (HS256 signatures with node:crypto, see
 * verifyHs256): signature with an explicit algorithm allow-list (never
 * `none`), issuer, audience and expiry (with a small clock tolerance), then
 * the claims' shape. Every failure is an AuthenticationError
 * with a message safe to show.
 */
export function createTokenVerifier(options: TokenVerifierOptions) {
  const secret = options.secret ? new TextEncoder().encode(options.secret) : undefined;
  const jwks = options.jwksUrl ? createRemoteJWKSet(new URL(options.jwksUrl)) : undefined;
  const common = () => ({
    issuer: options.issuer,
    audience: options.audience,
    clockTolerance: options.clockToleranceSeconds,
    requiredClaims: ["exp", "sub", "iat"],
    currentDate: (options.now ?? (() => new Date()))(),
  });

  return async function verify(token: string): Promise<Viewer> {
    let payload: JWTPayload;
    try {
      const header = decodeProtectedHeader(token);
      const { alg } = header;
      if (alg && HMAC_ALGORITHMS.includes(alg) && secret) {
        payload = verifyHs256(token, header, secret, common());
      } else if (alg && ASYMMETRIC_ALGORITHMS.includes(alg) && jwks) {
        ({ payload } = await jwtVerify(token, jwks, { ...common(), algorithms: ASYMMETRIC_ALGORITHMS }));
      } else {
        throw new AuthenticationError(`tokens signed with ${alg ?? "no algorithm"} are not accepted`);
      }
    } catch (error) {
      if (error instanceof AuthenticationError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new AuthenticationError("the token has expired");
      if (error instanceof joseErrors.JWTClaimValidationFailed) throw new AuthenticationError(`the token's ${error.claim} claim is not accepted`);
      throw new AuthenticationError("the token is invalid");
    }
    const parsed = Claims.safeParse(payload);
    if (!parsed.success) throw new AuthenticationError(`the token's claims are invalid: ${parsed.error.issues.map((i) => i.message).join(", ")}`);
    const claims = parsed.data;
    // A token issued "in the future" would outlive any lifetime check; one
    // that lives too long is a leaked credential nobody can revoke.
    const now = (options.now ?? (() => new Date()))().getTime() / 1000;
    if (claims.iat > now + options.clockToleranceSeconds) throw new AuthenticationError("the token's iat claim is in the future");
    if (options.maxLifetimeSeconds !== undefined && claims.role !== "integration" && claims.exp - claims.iat > options.maxLifetimeSeconds) {
      throw new AuthenticationError(`the token lives longer than ${options.maxLifetimeSeconds} seconds (exp - iat)`);
    }
    const expiresAt = new Date(claims.exp * 1000);
    switch (claims.role) {
      case "platform":
        return { role: "platform", subject: claims.sub, expiresAt };
      case "partner":
        return { role: "partner", subject: claims.sub, programId: claims.program_id!, partnerId: claims.partner_id!, expiresAt };
      case "integration": {
        const requested = (claims.scope ?? "").split(" ").filter(Boolean);
        const unknown = requested.filter((scope) => !(INTEGRATION_SCOPES as readonly string[]).includes(scope));
        if (unknown.length > 0) throw new AuthenticationError(`unknown scopes: ${unknown.join(", ")}`);
        return {
          role: "integration",
          subject: claims.sub,
          programId: claims.program_id!,
          tokenId: claims.jti!,
          scopes: new Set(requested as (typeof INTEGRATION_SCOPES)[number][]),
          expiresAt,
        };
      }
      default:
        return { role: claims.role, subject: claims.sub, programId: claims.program_id!, expiresAt };
    }
  };
}

export type TokenVerifier = ReturnType<typeof createTokenVerifier>;
