import { NO_PROGRAM, type Context } from "../../context.ts";

/**
 * The tenancy of a list that plugin-prisma plans into its parent's query (a
 * `t.relation` list): Prisma sends it as a statement of its own, keyed by the
 * parents' ids, which the scoped client's extension (src/db/tenant-scope.ts)
 * never sees. Its where names the program, and for partner tokens the
 * partner when the rows are the partner's own (`partnerOwned`: they carry
 * partnerId), as the scoped client adds to a read of the same rows. So the
 * statement is held to the tenant like a top-level read, and the indexes,
 * which all begin with program_id, apply.
 */
export function inTenant(ctx: Context, options: { partnerOwned: boolean }): { programId: string; partnerId?: string } {
  const programId = ctx.actor?.programId ?? NO_PROGRAM;
  const partnerId = ctx.actor?.partnerId;
  return options.partnerOwned && partnerId ? { programId, partnerId } : { programId };
}
