import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dec } from "../../src/domain/money.ts";
import { balancesAsOf } from "../../src/services/balances/balance-as-of.ts";
import { reconcileBalances } from "../../src/services/balances/reconcile-balances.ts";
import { reviewCommissions } from "../../src/services/commissions/review-commissions.ts";
import { recordConversions } from "../../src/services/conversions/record-conversions.ts";
import { reverseConversion } from "../../src/services/conversions/reverse-conversion.ts";
import { readStatement, type MovementRow } from "../../src/services/ledger/read-statement.ts";
import { createPayout } from "../../src/services/payouts/create-payout.ts";
import { recordPayoutBounce } from "../../src/services/payouts/record-payout-bounce.ts";
import { transitionPayouts } from "../../src/services/payouts/transition-payouts.ts";
import { databaseTargets } from "../helpers/databases.ts";
import { startServiceHarness, type ServiceHarness } from "../helpers/service-harness.ts";
import { createPartner } from "../../src/services/partners/create-partner.ts";
import { addPayoutMethod } from "../../src/services/payment-details/payout-methods.ts";
import { setBillingProfile } from "../../src/services/payment-details/set-billing-profile.ts";
import { createProgram } from "../../src/services/programs/create-program.ts";
import type { Actor } from "../../src/services/deps.ts";

interface World {
  actor: Actor;
  partners: string[];
}

/** A program approving automatically (12.5 %, 14-day hold) with three partners who can be paid. */
async function newWorld(h: ServiceHarness, name: string): Promise<World> {
  const program = ok(
    await createProgram(
      h.deps,
      { role: "platform", id: "ledger-test" },
      {
        name,
        currency: "USD",
        commissionRule: { type: "PERCENTAGE", percent: "12.5" },
        holdPeriodDays: 14,
        approvalMode: "AUTOMATIC",
      },
    ),
  );
  const actor: Actor = { role: "admin", id: "ledger-admin", programId: program.id };
  const partners: string[] = [];
  for (let i = 0; i < 3; i += 1) {
    const partner = ok(await createPartner(h.deps, actor, { name: `P${i}` }));
    partners.push(partner.id);
    await addPayoutMethod(h.deps, actor, { partnerId: partner.id, method: { type: "PAYPAL", email: `p${i}@example.com` } });
    await setBillingProfile(h.deps, actor, { partnerId: partner.id, profile: { entityType: "INDIVIDUAL", legalName: `P${i}`, country: "GB" } });
  }
  return { actor, partners };
}

interface MovementSql {
  id: string;
  commission_id: string;
  payout_id: string | null;
  entry: string;
  from_bucket: string | null;
  to_bucket: string | null;
  amount: string;
  occurred_at: Date;
  recorded_at: Date;
  cause: string;
  reason: string | null;
  audit_action: string | null;
  audit_entity: string | null;
}

function ok<T>(result: { ok: true; value: T } | { ok: false; errors: unknown }): T {
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.value;
}

const BALANCE_FIELDS = ["pending", "payable", "inPayouts", "paid", "lifetimeEarned"] as const;

describe("the movement ledger (embedded PostgreSQL)", () => {
  let h: ServiceHarness;
  let world: World;
  let partner: string;
  /** The balance row after each step, with the instant it held. */
  const snapshots: { at: Date; balance: Record<(typeof BALANCE_FIELDS)[number], string> }[] = [];
  const lineOf: Record<string, string> = {};
  let payoutId = "";
  let paidAt: Date;
  let refundAt: Date;

  async function snapshot() {
    const row = await h.deps.tenant(world.actor.programId).balance.findUniqueOrThrow({ where: { partnerId: partner } });
    snapshots.push({ at: h.clock.now(), balance: Object.fromEntries(BALANCE_FIELDS.map((f) => [f, row[f].toFixed(4)])) as never });
    h.clock.advance(3_600_000);
  }

  async function movements(): Promise<MovementSql[]> {
    return h.db.sql.query<MovementSql>(
      `SELECT m.id::text, m.commission_id::text, m.payout_id::text, m.entry, m.from_bucket, m.to_bucket, m.amount::text, m.occurred_at, m.recorded_at,
              m.cause, m.reason, a.action AS audit_action, a.entity_id::text AS audit_entity
         FROM balance_movements m LEFT JOIN audit_entries a ON a.id = m.audit_entry_id
        WHERE m.partner_id = $1 ORDER BY m.recorded_at, m.id`,
      [partner],
    );
  }

  beforeAll(async () => {
    h = await startServiceHarness("pglite");
    h.clock.set("2026-03-10T12:00:00.000Z");
    world = await newWorld(h, "movements");
    partner = world.partners[0]!;
    const { actor } = world;
    const sale = async (externalId: string, amount: string, occurredAt: Date) => {
      const [recorded] = ok(await recordConversions(h.deps, actor, [{ externalId, partners: [{ id: partner }], amount, currency: "USD", occurredAt }], () => ["input"]));
      const line = await h.deps.tenant(actor.programId).commission.findFirstOrThrow({ where: { conversionId: recorded!.id } });
      lineOf[externalId] = line.id;
      return recorded!.id;
    };
    // 1. A sale a month old (approved, past its hold: payable) and one today (pending).
    await sale("old", "100.00", new Date("2026-02-08T12:00:00.000Z"));
    await snapshot();
    const fresh = await sale("new", "40.00", h.clock.now());
    await snapshot();
    // 2. The old line is drafted, approved and paid (paid date given, earlier than now).
    payoutId = ok(await createPayout(h.deps, actor, { partnerId: partner })).id;
    await snapshot();
    ok(await transitionPayouts(h.deps, actor, "approve", { ids: [payoutId] }));
    await snapshot();
    paidAt = new Date(h.clock.now().getTime() - 1_800_000);
    ok(await transitionPayouts(h.deps, actor, "pay", { ids: [payoutId], payment: { method: "PAYPAL", reference: "PP-1", paidAt } }));
    await snapshot();
    // 3. The payment bounces: a CREDIT line owes it again, a PAID minus line takes it out of paid.
    ok(await recordPayoutBounce(h.deps, actor, { payoutId, reason: "account closed" }));
    await snapshot();
    // 4. The new line is cancelled, reinstated, then refunded in full.
    ok(await reviewCommissions(h.deps, actor, "cancel", [lineOf.new!], "suspected fraud"));
    await snapshot();
    ok(await reviewCommissions(h.deps, actor, "reinstate", [lineOf.new!], null));
    await snapshot();
    refundAt = new Date(h.clock.now().getTime() - 600_000);
    ok(await reverseConversion(h.deps, actor, { conversionId: fresh, refundId: "rf-1", reason: "returned", occurredAt: refundAt }));
    await snapshot();
  }, 300_000);
  afterAll(() => h?.close());

  it("records each change of each line, with its buckets, payout, cause, reason and audit entry", async () => {
    const rows = await movements();
    const credit = rows.find((m) => m.cause === "commission.credit")!;
    const returned = rows.find((m) => m.cause === "payout.bounce")!;
    expect(rows.map((m) => [m.commission_id, m.entry, m.from_bucket, m.to_bucket, m.amount, m.payout_id, m.cause, m.reason, m.audit_action])).toEqual([
      [lineOf.old, "ACCRUAL", null, "payable", "12.5000", null, "conversion.record", null, null],
      [lineOf.new, "ACCRUAL", null, "pending", "5.0000", null, "conversion.record", null, null],
      [lineOf.old, "TRANSFER", "payable", "in_payouts", "12.5000", payoutId, "payout.create", null, "payout.create"],
      [lineOf.old, "TRANSFER", "in_payouts", "paid", "12.5000", payoutId, "payout.pay", null, "payout.pay"],
      [credit.commission_id, "ACCRUAL", null, "payable", "12.5000", null, "commission.credit", null, "commission.credit"],
      [returned.commission_id, "ACCRUAL", null, "paid", "-12.5000", null, "payout.bounce", null, null],
      [lineOf.new, "CANCELLATION", "pending", null, "5.0000", null, "commission.cancel", "suspected fraud", "commission.cancel"],
      [lineOf.new, "REINSTATEMENT", null, "pending", "5.0000", null, "commission.reinstate", null, "commission.reinstate"],
      [lineOf.new, "REVERSAL", "pending", null, "5.0000", null, "conversion.reverse", "returned", "commission.reverse"],
    ]);
    // Dated for the statement: a line on its sale, a payout on its paid date, a refund on its own date.
    expect(rows[0]!.occurred_at.toISOString()).toBe("2026-02-08T12:00:00.000Z");
    expect(rows[3]!.occurred_at.toISOString()).toBe(paidAt.toISOString());
    expect(rows[8]!.occurred_at.toISOString()).toBe(refundAt.toISOString());
    // Each links the audit entry of its own record (the line's, or the payout's).
    for (const m of rows.filter((row) => row.audit_action)) expect([m.commission_id, m.payout_id]).toContain(m.audit_entity);
  });

  it("sums, bucket by bucket, to the balance row, and reconcile agrees", async () => {
    const [sums] = await h.db.sql.query<Record<string, string>>(
      `SELECT ${["pending", "payable", "in_payouts", "paid"].map((b) => `(coalesce(sum(amount) FILTER (WHERE to_bucket = '${b}'), 0) - coalesce(sum(amount) FILTER (WHERE from_bucket = '${b}'), 0))::text AS ${b}`).join(", ")}
         FROM balance_movements WHERE partner_id = $1`,
      [partner],
    );
    const last = snapshots.at(-1)!.balance;
    expect(dec(sums!.pending!).toFixed(4)).toBe(last.pending);
    expect(dec(sums!.payable!).toFixed(4)).toBe(last.payable);
    expect(dec(sums!.in_payouts!).toFixed(4)).toBe(last.inPayouts);
    expect(dec(sums!.paid!).toFixed(4)).toBe(last.paid);
    // Paid once and come back: nothing paid, 12.50 earned and owed again.
    expect(last).toEqual({ pending: "0.0000", payable: "12.5000", inPayouts: "0.0000", paid: "0.0000", lifetimeEarned: "12.5000" });
    expect(await reconcileBalances(h.deps.tenant(world.actor.programId), world.actor.programId)).toEqual({ checkedPartners: 3, mismatches: [] });
  });

  it("answers the balance as of each past instant as the row stood then", async () => {
    const db = h.deps.tenant(world.actor.programId);
    for (const { at, balance } of snapshots) {
      const asOf = (await balancesAsOf(db, world.actor.programId, [partner], at)).get(partner)!;
      expect(Object.fromEntries(BALANCE_FIELDS.map((f) => [f, asOf[f].toFixed(4)])), at.toISOString()).toEqual(balance);
    }
    // Before anything happened: nothing.
    const before = (await balancesAsOf(db, world.actor.programId, [partner], new Date("2026-01-01T00:00:00.000Z"))).get(partner)!;
    expect(before.lifetimeEarned.isZero() && before.pending.isZero()).toBe(true);
    // Another program's partner is not answered.
    expect((await balancesAsOf(db, "00000000-0000-7000-8000-000000000000", [partner], h.clock.now())).size).toBe(0);
  });

  it("states the period from the movements: lines, changes and payouts as rows that add up", async () => {
    const statement = await readStatement(h.deps.tenant(world.actor.programId), world.actor.programId, partner, {
      start: new Date("2026-03-01T00:00:00.000Z"),
      end: new Date("2026-04-01T00:00:00.000Z"),
    });
    const rows: MovementRow[] = [];
    for await (const row of statement.movements) rows.push(row);
    // The old sale (February) is in the opening balance.
    expect(statement.opening).toBe("12.5000");
    expect(rows.map((r) => [r.type, r.amount, r.description, r.payout_ref])).toEqual([
      ["CONVERSION", "5.0000", null, null],
      ["PAYOUT", "-12.5000", "PAYPAL", "PP-1"],
      ["CREDIT", "12.5000", `payout ${payoutId} bounced: account closed`, null],
      // The payment that came back: earned and paid at once, it nets to nothing.
      ["CREDIT", "0.0000", `payout ${payoutId} came back: account closed`, null],
      ["CANCELLATION", "-5.0000", "suspected fraud", null],
      ["REINSTATEMENT", "5.0000", null, null],
      ["REVERSAL", "-5.0000", "returned", null],
    ]);
    // Opening + rows = what is owed now (earned less paid): pending + payable + in payouts.
    const closing = rows.reduce((sum, r) => sum.plus(dec(r.amount)), dec(statement.opening));
    expect(closing.toFixed(4)).toBe("12.5000");
  });
});

describe.each(databaseTargets())("balance_movements is append-only (%s)", (target) => {
  let h: ServiceHarness;
  beforeAll(async () => {
    h = await startServiceHarness(target);
    const world = await newWorld(h, "append-only");
    ok(
      await recordConversions(
        h.deps,
        world.actor,
        [{ externalId: "s", partners: [{ id: world.partners[0]! }], amount: "10.00", currency: "USD", occurredAt: h.clock.now() }],
        () => ["input"],
      ),
    );
  }, 300_000);
  afterAll(() => h?.close());

  it("refuses UPDATE, DELETE and TRUNCATE, and the row stays as written", async () => {
    const before = await h.db.sql.query<{ id: string; amount: string }>("SELECT id::text, amount::text FROM balance_movements");
    expect(before).toHaveLength(1);
    await expect(h.db.sql.exec("UPDATE balance_movements SET amount = 0")).rejects.toThrow(/append-only: UPDATE refused/);
    await expect(h.db.sql.exec("DELETE FROM balance_movements")).rejects.toThrow(/append-only: DELETE refused/);
    await expect(h.db.sql.exec("TRUNCATE balance_movements")).rejects.toThrow(/append-only: TRUNCATE refused/);
    expect(await h.db.sql.query("SELECT id::text, amount::text FROM balance_movements")).toEqual(before);
  });
});
