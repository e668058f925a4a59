import { Prisma, type PrismaClient } from "../generated/prisma/client.ts";

/**
 * Tenancy, enforced in one place. Every model but Program (and
 * ScheduledTaskRun, system bookkeeping read unscoped by the platform role)
 * carries programId;
 * a client scoped to a program adds `programId = <that program>` to every
 * read, update and delete, and refuses to create rows for another program.
 * A row of another program therefore behaves as not found, through every
 * path: resolvers, services, plugin-prisma's relation loads and `node(id)`.
 *
 * A partner scope narrows reads further to the partner's own rows, so a
 * partner token cannot read another partner's records even through a
 * resolver that forgot to filter. Writes on a partner's behalf go through
 * services that run on the program scope and check ownership themselves.
 */
export interface TenantScope {
  programId: string;
  /** Set for partner viewers: reads return this partner's rows only. */
  partnerId?: string;
}

type Where = Record<string, unknown>;

/** Models owned by a partner, and how to find that partner's rows. */
const partnerFilter: Record<string, (partnerId: string) => Where> = {
  Partner: (partnerId) => ({ id: partnerId }),
  PayoutMethod: (partnerId) => ({ partnerId }),
  BillingProfile: (partnerId) => ({ partnerId }),
  Commission: (partnerId) => ({ partnerId }),
  Balance: (partnerId) => ({ partnerId }),
  Payout: (partnerId) => ({ partnerId }),
  PayoutItem: (partnerId) => ({ payout: { partnerId } }),
  Event: (partnerId) => ({ partnerId }),
  Conversion: (partnerId) => ({ commissions: { some: { partnerId } } }),
  Reversal: (partnerId) => ({ conversion: { commissions: { some: { partnerId } } } }),
};

/** Program-level rows a partner has no business reading. */
const hiddenFromPartners = new Set(["AuditEntry", "IdempotencyKey", "IntegrationToken", "PaymentProviderConnection", "ProviderEvent", "PayoutTransfer"]);

const readOperations = new Set([
  "findUnique",
  "findUniqueOrThrow",
  "findFirst",
  "findFirstOrThrow",
  "findMany",
  "count",
  "aggregate",
  "groupBy",
]);
const filteredWrites = new Set(["update", "updateMany", "updateManyAndReturn", "delete", "deleteMany", "upsert"]);
const createOperations = new Set(["create", "createMany", "createManyAndReturn"]);

export class TenantViolationError extends Error {
  override name = "TenantViolationError";
}

function and(where: Where | undefined, extra: Where): Where {
  if (!where) return { ...extra };
  const existing = where.AND === undefined ? [] : Array.isArray(where.AND) ? where.AND : [where.AND];
  return { ...where, AND: [...existing, extra] };
}

function checkCreateData(model: string, scope: TenantScope, data: unknown): void {
  const rows = Array.isArray(data) ? data : [data];
  for (const row of rows as Where[]) {
    if (model === "Program") throw new TenantViolationError("Programs are created outside a program scope");
    if (row.programId !== scope.programId) {
      throw new TenantViolationError(`${model} rows must be created with programId of the current program`);
    }
  }
}

export function scopeToTenant(prisma: PrismaClient, scope: TenantScope) {
  return prisma.$extends({
    name: "tenant-scope",
    query: {
      $allModels: {
        async $allOperations({ model, operation, args, query }) {
          const a = (args ?? {}) as Where & { where?: Where; data?: unknown; create?: unknown };
          if (createOperations.has(operation)) {
            checkCreateData(model, scope, a.data);
            return query(args);
          }
          if (!readOperations.has(operation) && !filteredWrites.has(operation)) {
            throw new TenantViolationError(`Operation ${operation} on ${model} is not allowed in a program scope`);
          }
          const isRead = readOperations.has(operation);
          let where = a.where;
          where = and(where, model === "Program" ? { id: scope.programId } : { programId: scope.programId });
          if (scope.partnerId && isRead) {
            if (hiddenFromPartners.has(model)) throw new TenantViolationError(`${model} is not readable by partners`);
            const filter = partnerFilter[model];
            if (filter) where = and(where, filter(scope.partnerId));
          }
          if (operation === "upsert") checkCreateData(model, scope, a.create);
          return query({ ...a, where } as typeof args);
        },
      },
    },
  });
}

export type ScopedPrisma = ReturnType<typeof scopeToTenant>;
/** The client inside an interactive transaction on a scoped client. */
export type ScopedTransaction = Omit<ScopedPrisma, "$connect" | "$disconnect" | "$on" | "$transaction" | "$extends">;

export { Prisma };
