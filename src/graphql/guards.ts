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
