import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasPostgres } from "../helpers/databases.ts";
import { createPartnerFixture, createProgramFixture, type ProgramFixture } from "../helpers/fixtures.ts";
import { RecordConversionsDoc, recordSale } from "../helpers/ledger-docs.ts";
import { dataOf, startTestApp, type TestApp } from "../helpers/test-app.ts";

/**
 * A sale's last statement lets the foreign-key checks it fires keep their
 * plans for the rest of its transaction (Ledger.flush's `last`): the
 * setting is the transaction's alone. On one pooled connection, what the
 * next statement sees after sales and a batch is the connection's own
 * setting, planning every prepared statement for its values (db/database.ts).
 */
describe.skipIf(!hasPostgres)("the plan cache setting after recording conversions", () => {
  let t: TestApp;
  let program: ProgramFixture;
  let partner: Awaited<ReturnType<typeof createPartnerFixture>>;

  beforeAll(async () => {
    t = await startTestApp("postgres", { env: { DATABASE_POOL_SIZE: "1" } });
    program = await createProgramFixture(t, { currency: "USD" });
    partner = await createPartnerFixture(t, program);
  });
  afterAll(() => t?.stop());

  const mode = async () => (await t.app.db.sql.query<{ plan_cache_mode: string }>("SHOW plan_cache_mode"))[0]?.plan_cache_mode;

  it("is the connection's own again once a sale or a batch has committed", async () => {
    expect(await mode()).toBe("force_custom_plan");
    await recordSale(t, program.adminToken, partner.id);
    expect(await mode()).toBe("force_custom_plan");
    const items = Array.from({ length: 3 }, (_, i) => ({
      externalId: `plan-cache-${i}`,
      partners: [{ id: partner.id }],
      amount: "10.00",
      currency: "USD",
      occurredAt: t.clock.now().toISOString(),
    }));
    const batch = dataOf(await t.gql(RecordConversionsDoc, { input: { items } }, program.adminToken)).recordConversions;
    expect(batch.createdCount).toBe(3);
    expect(await mode()).toBe("force_custom_plan");
  });
});
