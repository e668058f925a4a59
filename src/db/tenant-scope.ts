import { Prisma, type PrismaClient } from "../generated/prisma/client.ts";

/**
 * Tenancy, enforced in one place. Every model has a policy below, in a map
 * typed over every Prisma model name, so a model added to the schema does not
 * compile until someone decides who may read it. A program-owned model
 * carries programId (Program itself is keyed by id); a client scoped to a
 * program adds `programId = <that program>` to every top-level read, update
 * and delete, and refuses to create rows for another program. Platform-level
 * models (no program) are refused in a program scope altogether.
 *
 * A partner scope narrows reads further: to the partner's own rows, to
 * nothing (the model is hidden from partners: reading it is an error), or,
 * for the few models whose rows every partner of the program may see, program
 * wide with the reason written down. Writes on a partner's behalf go through
 * services that run on the program scope and check ownership themselves.
 *
 * What this hook cannot see (nested relation loads, nested writes, raw SQL)
 * is held elsewhere: composite foreign keys that include program_id, so no
 * row can point into another program and a nested load, which follows a key,
 * stays in its parent's program (it is not narrowed to a partner's rows: that
 * is the nested loads' own filter); and the scan in
 * test/db/raw-sql-tenancy.test.ts, so every raw statement names the program.
 */
export interface TenantScope {
  programId: string;
  /** Set for partner viewers: reads return this partner's rows only. */
  partnerId?: string;
}

type Where = Record<string, unknown>;

/** What a partner token may read of a program-owned model. */
export type PartnerRule =
  /** The partner's own rows only, found by this filter. */
  | { own: (partnerId: string) => Where }
  /** Nothing: program-level data (credentials, bookkeeping, other partners' history). */
  | "hidden"
  /** Every row of the program, for the reason given. */
  | { programWide: string };

export type TenantPolicy =
  /** Owned by a program through `column` (programId, or id for Program itself). */
  | { owner: "program"; column: "programId" | "id"; partner: PartnerRule }
  /** No program: reachable only through the unscoped client, by platform-level code, for the reason given. */
  | { owner: "platform"; reason: string };

/**
 * The rule for every model. `satisfies Record<Prisma.ModelName, ...>` makes a
 * model missing here a compile error; test/db/tenant-policy.test.ts checks the
 * same against the runtime model list.
 */
export const tenantPolicies = {
  Program: { owner: "program", column: "id", partner: { programWide: "the partner's own program: its name, currency and payout settings, shown in the portal" } },
  Partner: { owner: "program", column: "programId", partner: { own: (partnerId) => ({ id: partnerId }) } },
  PayoutMethod: { owner: "program", column: "programId", partner: { own: (partnerId) => ({ partnerId }) } },
  BillingProfile: { owner: "program", column: "programId", partner: { own: (partnerId) => ({ partnerId }) } },
  Conversion: { owner: "program", column: "programId", partner: { own: (partnerId) => ({ commissions: { some: { partnerId } } }) } },
  ConversionCount: { owner: "program", column: "programId", partner: "hidden" },
  Reversal: { owner: "program", column: "programId", partner: { own: (partnerId) => ({ conversion: { commissions: { some: { partnerId } } } }) } },
  Commission: { owner: "program", column: "programId", partner: { own: (partnerId) => ({ partnerId }) } },
  Balance: { owner: "program", column: "programId", partner: { own: (partnerId) => ({ partnerId }) } },
  Payout: { owner: "program", column: "programId", partner: { own: (partnerId) => ({ partnerId }) } },
  PayoutItem: { owner: "program", column: "programId", partner: { own: (partnerId) => ({ payout: { partnerId } }) } },
  Event: { owner: "program", column: "programId", partner: { own: (partnerId) => ({ partnerId }) } },
  BalanceMovement: { owner: "program", column: "programId", partner: { own: (partnerId) => ({ partnerId }) } },
  AuditEntry: { owner: "program", column: "programId", partner: "hidden" },
  IdempotencyKey: { owner: "program", column: "programId", partner: "hidden" },
  IntegrationToken: { owner: "program", column: "programId", partner: "hidden" },
  AccountingConnection: { owner: "program", column: "programId", partner: "hidden" },
  OutboxJob: { owner: "program", column: "programId", partner: "hidden" },
  PaymentProviderConnection: { owner: "program", column: "programId", partner: "hidden" },
  ProviderEvent: { owner: "program", column: "programId", partner: "hidden" },
  PayoutTransfer: { owner: "program", column: "programId", partner: "hidden" },
  PayoutRun: { owner: "program", column: "programId", partner: "hidden" },
  ScheduledTaskRun: { owner: "platform", reason: "scheduled work's outcome summed over every instance; read by the platform role (scheduledTasks)" },
} satisfies Record<Prisma.ModelName, TenantPolicy>;

const readOperations = new Set(["findUnique", "findUniqueOrThrow", "findFirst", "findFirstOrThrow", "findMany", "count", "aggregate", "groupBy"]);
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

function checkCreateData(model: Prisma.ModelName, scope: TenantScope, data: unknown): void {
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
          const policy: TenantPolicy | undefined = tenantPolicies[model as Prisma.ModelName];
          // Fails closed: a model the map does not know (it cannot compile, but a stale client could) is refused.
          if (!policy) throw new TenantViolationError(`${model} has no tenant policy`);
          if (policy.owner === "platform") throw new TenantViolationError(`${model} is platform-level, not reachable in a program scope`);
          const a = (args ?? {}) as Where & { where?: Where; data?: unknown; create?: unknown };
          if (createOperations.has(operation)) {
            checkCreateData(model as Prisma.ModelName, scope, a.data);
            return query(args);
          }
          if (!readOperations.has(operation) && !filteredWrites.has(operation)) {
            throw new TenantViolationError(`Operation ${operation} on ${model} is not allowed in a program scope`);
          }
          const isRead = readOperations.has(operation);
          let where = and(a.where, { [policy.column]: scope.programId });
          if (scope.partnerId && isRead) {
            const rule = policy.partner;
            if (rule === "hidden") throw new TenantViolationError(`${model} is not readable by partners`);
            if ("own" in rule) where = and(where, rule.own(scope.partnerId));
          }
          if (operation === "upsert") checkCreateData(model as Prisma.ModelName, scope, a.create);
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
