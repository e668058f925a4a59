import { GraphQLError } from "graphql";
import type { Context } from "../context.ts";
import { mayNamePartner, mayRead, NAMES_OTHER_PARTNER, READ_RULES, type RecordKind } from "../auth/read-rules.ts";
import type { IntegrationScope, Role } from "../auth/viewer.ts";
import type { Actor } from "../services/deps.ts";
import { decodeGlobalId } from "./global-ids.ts";

export function forbidden(message = "You are not allowed to do this."): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "FORBIDDEN" } });
}

export function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT" } });
}

/** The acting program member; the field's authScopes have already let only program roles through. */
export function actorOf(ctx: Context): Actor {
  if (!ctx.actor) throw forbidden();
  return ctx.actor;
}

/**
 * A partner naming any partner but itself is refused, whether that partner
 * exists or not, so ids cannot be probed.
 */
export function assertMayNamePartner(ctx: Context, partnerId: string): void {
  if (!mayNamePartner(ctx.viewer, partnerId)) throw forbidden(NAMES_OTHER_PARTNER);
}

export const OPERATORS = ["admin", "finance", "analyst"] as const;

/** A scope-auth map: the roles, the reading scopes, and the writing scopes that read in their payloads (`wrote`). */
export interface ReaderScopes {
  readonly role: readonly Role[];
  readonly integration: readonly IntegrationScope[];
  readonly wrote: readonly IntegrationScope[];
}

function scopesOf(kind: RecordKind): ReaderScopes {
  const rule = READ_RULES[kind];
  return { role: rule.roles, integration: rule.scopes, wrote: rule.payloadScopes };
}

/**
 * Who may see each kind of record, as scope-auth maps made from READ_RULES
 * (src/auth/read-rules.ts), wherever it is reached: a list, a relation from
 * another record, `node`/`nodes`, a mutation's payload. Set on the types, and
 * on every field that returns them (so a refused relation gives no count, no
 * cursor and no hint whether anything is there); root fields may narrow them.
 * Commission and Partner are checked on those fields only (scopes-at-entry.ts).
 */
export const READERS = Object.fromEntries((Object.keys(READ_RULES) as RecordKind[]).map((kind) => [kind, scopesOf(kind)])) as Record<RecordKind, ReaderScopes>;

/** The kind of record each node type is, for `node`/`nodes`: a type missing here is read by nobody. */
const NODE_KINDS: Readonly<Record<string, RecordKind>> = {
  Program: "program",
  Partner: "partner",
  Conversion: "conversion",
  Reversal: "conversion",
  Commission: "commission",
  Payout: "payout",
  PayoutRun: "payoutRun",
  PayoutMethod: "paymentDetails",
  AuditEntry: "auditEntry",
  IntegrationToken: "integrationToken",
};

/**
 * `node`/`nodes` answer by the type named in each id before looking anything
 * up: an id of a type the viewer may not read is refused whether such a
 * record exists or not, so the refusal tells nothing.
 */
export function mayLoadNodes(ctx: Context, ids: readonly unknown[]): boolean {
  return ids.every((id) => {
    let typename: string | undefined;
    if (typeof id === "string") {
      try {
        typename = decodeGlobalId(id).typename;
      } catch {
        return true; // not an id: the argument's own validation answers
      }
    } else typename = (id as { typename?: string } | null)?.typename;
    const kind = typename ? NODE_KINDS[typename] : undefined;
    return !!kind && mayRead(ctx.viewer, kind);
  });
}

/**
 * Naming a partner by its externalId or email is a lookup in the program's
 * partner list: it tells whether such a partner exists. A token may do it
 * only if it may read partners (or create them, which probes the same keys
 * through their uniqueness); others name partners by id.
 */
export function assertMayLookUpPartners(ctx: Context, refs: readonly { externalId?: string | null; email?: string | null }[]): void {
  if (!refs.some((ref) => ref.externalId != null || ref.email != null)) return;
  if (mayRead(ctx.viewer, "partner", { inPayload: true })) return;
  throw forbidden("Naming a partner by externalId or email needs the partners:read or partners:write scope; name it by id instead.");
}
