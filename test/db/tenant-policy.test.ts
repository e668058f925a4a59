import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.ts";
import { Prisma, scopeToTenant, TenantViolationError, tenantPolicies, type TenantPolicy } from "../../src/db/tenant-scope.ts";
import { getDatamodel } from "../../src/generated/pothos-prisma-types.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { openMigratedDatabase } from "../helpers/migrated-database.ts";

/**
 * Every model has a tenant policy, decided on purpose. The map is typed over
 * Prisma.ModelName (a model added to the schema does not compile without a
 * rule: the @ts-expect-error below proves the type refuses a missing one);
 * this checks the same at run time against the generated client's model list,
 * and that each policy fits its model (a program-owned model has the column
 * the policy filters on, a platform model has no program).
 */

/** The models of `names` that have no policy in `policies`, and the policies that name no model. */
function policyGaps(names: readonly string[], policies: Record<string, unknown>): string[] {
  const missing = names.filter((name) => !(name in policies)).map((name) => `${name}: no tenant policy`);
  const stale = Object.keys(policies)
    .filter((name) => !names.includes(name))
    .map((name) => `${name}: a policy for no model`);
  return [...missing, ...stale];
}

// A map missing a model does not type-check (ScheduledTaskRun left out).
const { ScheduledTaskRun: _left, ...withoutOne } = tenantPolicies;
// @ts-expect-error: property 'ScheduledTaskRun' is missing
const _incomplete: Record<Prisma.ModelName, TenantPolicy> = withoutOne;

describe("tenant policies", () => {
  const modelNames = Object.values(Prisma.ModelName);
  const datamodel = getDatamodel().datamodel.models as Record<string, { fields: readonly { name: string; kind: string }[] }>;

  it("covers every model of the generated client, and names no other", () => {
    expect(modelNames.length).toBeGreaterThan(15);
    expect(new Set(modelNames)).toEqual(new Set(Object.keys(datamodel)));
    expect(policyGaps(modelNames, tenantPolicies)).toEqual([]);
  });

  it("reports a model added without a policy, and a policy left for a removed model", () => {
    expect(policyGaps([...modelNames, "LoyaltyTier"], tenantPolicies)).toEqual(["LoyaltyTier: no tenant policy"]);
    const { OutboxJob: _gone, ...fewer } = tenantPolicies;
    expect(policyGaps(modelNames, fewer)).toEqual(["OutboxJob: no tenant policy"]);
    expect(
      policyGaps(
        modelNames.filter((name) => name !== "Event"),
        tenantPolicies,
      ),
    ).toEqual(["Event: a policy for no model"]);
  });

  it("fits each model: program-owned ones have the column filtered on, platform ones have no program", () => {
    const misfits: string[] = [];
    for (const [name, policy] of Object.entries(tenantPolicies) as [string, TenantPolicy][]) {
      const fields = datamodel[name]!.fields.filter((field) => field.kind === "scalar").map((field) => field.name);
      if (policy.owner === "platform") {
        if (fields.includes("programId")) misfits.push(`${name} has programId but is called platform-level`);
        if (!policy.reason) misfits.push(`${name}: platform-level without a reason`);
      } else {
        if (!fields.includes(policy.column)) misfits.push(`${name} has no ${policy.column}`);
        if (policy.column === "id" && name !== "Program") misfits.push(`${name} is scoped by its own id`);
        if (typeof policy.partner === "object" && "programWide" in policy.partner && !policy.partner.programWide)
          misfits.push(`${name}: program-wide for partners without a reason`);
      }
    }
    expect(misfits).toEqual([]);
  });

  it("hides credentials, bookkeeping and other partners' history from partners", () => {
    const hidden = Object.entries(tenantPolicies as Record<string, TenantPolicy>)
      .filter(([, policy]) => policy.owner === "program" && policy.partner === "hidden")
      .map(([name]) => name)
      .sort();
    expect(hidden).toEqual(
      [
        "AccountingConnection",
        "AuditEntry",
        "ConversionCount",
        "IdempotencyKey",
        "IntegrationToken",
        "OutboxJob",
        "PaymentProviderConnection",
        "PayoutRun",
        "PayoutTransfer",
        "ProviderEvent",
      ].sort(),
    );
    const programWide = Object.entries(tenantPolicies as Record<string, TenantPolicy>)
      .filter(([, policy]) => policy.owner === "program" && typeof policy.partner === "object" && "programWide" in policy.partner)
      .map(([name]) => name);
    expect(programWide).toEqual(["Program"]);
  });
});

describe.each(databaseTargets())("scoped clients follow the policies on %s", (target) => {
  let db: Database;
  let close: () => Promise<void>;
  const programId = randomUUID();
  const otherProgramId = randomUUID();
  const mine = randomUUID();
  const theirs = randomUUID();
  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase(target));
    for (const id of [programId, otherProgramId]) {
      await db.sql.query(`INSERT INTO programs (id, name, currency, commission_rule, updated_at) VALUES ($1, 'P', 'USD', '{}', now())`, [id]);
    }
    for (const id of [mine, theirs]) {
      await db.sql.query(`INSERT INTO partners (id, program_id, name, updated_at) VALUES ($1, $2, 'A partner', now())`, [id, programId]);
    }
    await db.sql.query(`INSERT INTO outbox_jobs (id, program_id, kind, subject_id, next_attempt_at, updated_at) VALUES ($1, $2, 'quickbooks.sync-payout', 'x', now(), now())`, [
      randomUUID(),
      programId,
    ]);
    await db.sql.query(`INSERT INTO scheduled_task_runs (task) VALUES ('release-holds') ON CONFLICT DO NOTHING`);
  });
  afterAll(() => close?.());

  it("refuses a partner's read of a hidden model, and the program still reads it", async () => {
    const partner = scopeToTenant(db.prisma, { programId, partnerId: mine });
    await expect(partner.outboxJob.findMany()).rejects.toBeInstanceOf(TenantViolationError);
    await expect(partner.accountingConnection.findFirst()).rejects.toBeInstanceOf(TenantViolationError);
    expect(await scopeToTenant(db.prisma, { programId }).outboxJob.count()).toBe(1);
    expect(await scopeToTenant(db.prisma, { programId: otherProgramId }).outboxJob.count()).toBe(0);
  });

  it("narrows a partner to its own rows and shows it its program", async () => {
    const partner = scopeToTenant(db.prisma, { programId, partnerId: mine });
    expect((await partner.partner.findMany({ select: { id: true } })).map((row) => row.id)).toEqual([mine]);
    expect(await partner.partner.findUnique({ where: { id: theirs } })).toBeNull();
    expect((await partner.program.findMany({ select: { id: true } })).map((row) => row.id)).toEqual([programId]);
  });

  it("refuses a platform-level model in a program scope, where the unscoped client reads it", async () => {
    await expect(scopeToTenant(db.prisma, { programId }).scheduledTaskRun.findMany()).rejects.toBeInstanceOf(TenantViolationError);
    expect(await db.prisma.scheduledTaskRun.count()).toBeGreaterThan(0);
  });
});
