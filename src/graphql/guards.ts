import { GraphQLError } from "graphql";
import type { Context } from "../context.ts";
import type { Actor } from "../services/runtime.ts";

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
  if (ctx.viewer?.role === "partner" && ctx.viewer.partnerId !== partnerId) {
    throw forbidden("Partners can only see their own records.");
  }
}

export const OPERATORS = ["admin", "finance", "analyst"] as const;

const IN_PROGRAM = [...OPERATORS, "partner"] as const;

/**
 * Who may see each kind of record, wherever it is reached: a list, a
 * relation from another record, `node`/`nodes`, a mutation's payload. Set on
 * the types, so no path skips it (fields and root lists may narrow it
 * further). Operators see their program's; partners their own (tenancy does
 * the rest); an integration needs the scope that reads the record, or the one
 * that writes it, so that it sees what it wrote.
 */
export const READERS = {
  partner: { role: IN_PROGRAM, integration: ["partners:read", "partners:write"] },
  conversion: { role: IN_PROGRAM, integration: ["conversions:read", "conversions:write"] },
  /** A posted conversion's commissions are part of its result; a payout's lines are commissions too. */
  commission: { role: IN_PROGRAM, integration: ["commissions:read", "conversions:write", "payouts:read", "payouts:write"] },
  balance: { role: IN_PROGRAM, integration: ["commissions:read", "payouts:read"] },
  payout: { role: IN_PROGRAM, integration: ["payouts:read", "payouts:write"] },
  paymentDetails: { role: IN_PROGRAM, integration: ["payouts:read"] },
} as const;
