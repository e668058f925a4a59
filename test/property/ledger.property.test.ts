import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CurrencyCode } from "../../src/domain/currency.ts";
import { dec } from "../../src/domain/money.ts";
import { reversedShare } from "../../src/domain/reversal.ts";
import { reconcileBalances } from "../../src/services/balances/reconcile-balances.ts";
import { readStatement } from "../../src/services/ledger/read-statement.ts";
import { adjustCommission } from "../../src/services/commissions/adjust-commission.ts";
import { creditPartner } from "../../src/services/commissions/credit-partner.ts";
import { reviewCommissions, type ReviewAction } from "../../src/services/commissions/review-commissions.ts";
import { recordConversions } from "../../src/services/conversions/record-conversions.ts";
import { reverseConversion } from "../../src/services/conversions/reverse-conversion.ts";
import { createPartner } from "../../src/services/partners/create-partner.ts";
import { createProgram } from "../../src/services/programs/create-program.ts";
import { addPayoutMethod } from "../../src/services/payment-details/payout-methods.ts";
import { setBillingProfile } from "../../src/services/payment-details/set-billing-profile.ts";
import { createPayout } from "../../src/services/payouts/create-payout.ts";
import { removePayoutLines } from "../../src/services/payouts/remove-payout-lines.ts";
import { transitionPayouts } from "../../src/services/payouts/transition-payouts.ts";
import type { Actor } from "../../src/services/deps.ts";
import { startServiceHarness, type ServiceHarness } from "../helpers/service-harness.ts";

/**
 * Random sequences of accrue / approve / hold / release / cancel / reinstate /
 * adjust / credit / reverse, and payout operations (draft, approve, pay,
 * cancel, remove a line) with the clock moving on. After every step:
 * - every balance equals the sum of its lines, bucket by bucket (reconcile),
 *   and the sum of its movements (reconcile, and summed here on their own);
 * - no line disappeared and no amount was edited in place;
 * - each sale's lines net to exactly what its refunds leave of them, and a
 *   line reversed whole takes its earlier reversal shares and clawbacks along;
 *   a line's shares count exactly while it counts (cancelled with it).
 */
export type Op =
  | { op: "accrue"; partner: number; cents: number; daysAgo: number; partners: number }
  | { op: "draft"; partner: number }
  | { op: "approvePayout" | "payPayout" | "cancelPayout"; payout: number }
  | { op: "removeLine"; payout: number; line: number }
  | { op: "advance"; days: number }
  | { op: ReviewAction; line: number }
  | { op: "adjust"; line: number; cents: number }
  | { op: "credit"; partner: number; cents: number }
  | { op: "reverse"; sale: number; cents: number | null };

export const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("accrue" as const),
      partner: fc.nat(9),
      cents: fc.integer({ min: 1, max: 100_000 }),
      daysAgo: fc.nat(40),
      partners: fc.integer({ min: 1, max: 2 }),
    }),
  },
  ...(["approve", "hold", "release", "cancel", "reinstate"] as const).map((op) => ({ weight: 2, arbitrary: fc.record({ op: fc.constant(op), line: fc.nat(99) }) })),
  { weight: 1, arbitrary: fc.record({ op: fc.constant("adjust" as const), line: fc.nat(99), cents: fc.integer({ min: -5_000, max: 5_000 }).filter((c) => c !== 0) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("credit" as const), partner: fc.nat(9), cents: fc.integer({ min: 1, max: 10_000 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("reverse" as const), sale: fc.nat(99), cents: fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: null }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("draft" as const), partner: fc.nat(9) }) },
  ...(["approvePayout", "payPayout", "cancelPayout"] as const).map((op) => ({
    weight: op === "cancelPayout" ? 1 : 2,
    arbitrary: fc.record({ op: fc.constant(op), payout: fc.nat(99) }),
  })),
  { weight: 1, arbitrary: fc.record({ op: fc.constant("removeLine" as const), payout: fc.nat(99), line: fc.nat(99) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("advance" as const), days: fc.integer({ min: 1, max: 20 }) }) },
);

const money = (cents: number) => (cents / 100).toFixed(2);
const USD = "USD" as CurrencyCode;

export interface World {
  actor: Actor;
  partners: string[];
  sales: string[];
  lines: () => Promise<string[]>;
}

export async function newWorld(h: ServiceHarness, run: number): Promise<World> {
  const program = await createProgram(
    h.deps,
    { role: "platform", id: "prop" },
    {
      name: `property ${run}`,
      currency: "USD",
      commissionRule: { type: "PERCENTAGE", percent: "12.5" },
      holdPeriodDays: 14,
      // Half the worlds approve automatically, so payouts have lines to gather.
      approvalMode: run % 2 === 0 ? "AUTOMATIC" : "MANUAL",
    },
  );
  if (!program.ok) throw new Error(JSON.stringify(program.errors));
  const actor: Actor = { role: "admin", id: "prop-admin", programId: program.value.id };
  const partners: string[] = [];
  for (let i = 0; i < 3; i += 1) {
    const partner = await createPartner(h.deps, actor, { name: `P${i}` });
    if (!partner.ok) throw new Error(JSON.stringify(partner.errors));
    partners.push(partner.value.id);
    // Two of three can be paid; the third lacks billing details and is always refused.
    await addPayoutMethod(h.deps, actor, { partnerId: partner.value.id, method: { type: "PAYPAL", email: `p${i}@example.com` } });
    if (i < 2) await setBillingProfile(h.deps, actor, { partnerId: partner.value.id, profile: { entityType: "INDIVIDUAL", legalName: `P${i}`, country: "GB" } });
  }
  const db = h.deps.tenant(actor.programId);
  return {
    actor,
    partners,
    sales: [],
    lines: async () => (await db.commission.findMany({ select: { id: true }, orderBy: { id: "asc" } })).map((row) => row.id),
  };
}

export async function applyOp(h: ServiceHarness, world: World, op: Op, step: number): Promise<void> {
  const { actor, partners } = world;
  switch (op.op) {
    case "accrue": {
      const named = Array.from({ length: op.partners }, (_, i) => partners[(op.partner + i) % partners.length]!);
      const result = await recordConversions(
        h.deps,
        actor,
        [
          {
            externalId: `s-${step}`,
            partners: [...new Set(named)].map((id) => ({ id })),
            amount: money(op.cents),
            currency: "USD",
            occurredAt: new Date(h.clock.now().getTime() - op.daysAgo * 86_400_000),
          },
        ],
        () => ["input"],
      );
      if (result.ok) world.sales.push(result.value[0]!.id);
      break;
    }
    case "approve":
    case "hold":
    case "release":
    case "cancel":
    case "reinstate": {
      const lines = await world.lines();
      if (lines.length === 0) return;
      await reviewCommissions(h.deps, actor, op.op, [lines[op.line % lines.length]!], "property test");
      break;
    }
    case "adjust": {
      const lines = await world.lines();
      if (lines.length === 0) return;
      await adjustCommission(h.deps, actor, { commissionId: lines[op.line % lines.length]!, amount: money(op.cents), reasonCode: "CORRECTION" });
      break;
    }
    case "credit":
      await creditPartner(h.deps, actor, { partnerId: partners[op.partner % partners.length]!, amount: money(op.cents), reasonCode: "BONUS" });
      break;
    case "draft":
      await createPayout(h.deps, actor, { partnerId: partners[op.partner % partners.length]! });
      break;
    case "approvePayout":
    case "payPayout":
    case "cancelPayout": {
      const payouts = await h.deps.tenant(actor.programId).payout.findMany({ select: { id: true }, orderBy: { id: "asc" } });
      if (payouts.length === 0) return;
      const id = payouts[op.payout % payouts.length]!.id;
      const action = ({ approvePayout: "approve", payPayout: "pay", cancelPayout: "cancel" } as const)[op.op];
      await transitionPayouts(h.deps, actor, action, { ids: [id], reason: "property", payment: { method: "PAYPAL" } });
      break;
    }
    case "removeLine": {
      const drafts = await h.deps
        .tenant(actor.programId)
        .payout.findMany({ where: { status: "DRAFT" }, select: { id: true, items: { where: { active: true }, select: { commissionId: true } } }, orderBy: { id: "asc" } });
      const draft = drafts[op.payout % Math.max(drafts.length, 1)];
      if (!draft || draft.items.length === 0) return;
      await removePayoutLines(h.deps, actor, { payoutId: draft.id, commissionIds: [draft.items[op.line % draft.items.length]!.commissionId] });
      break;
    }
    case "advance":
      h.clock.advance(op.days * 86_400_000);
      break;
    case "reverse": {
      if (world.sales.length === 0) return;
      await reverseConversion(h.deps, actor, {
        conversionId: world.sales[op.sale % world.sales.length]!,
        refundId: `r-${step}`,
        amount: op.cents === null ? null : money(op.cents),
      });
      break;
    }
  }
}

type Snapshot = Map<string, string>;

export async function checkInvariants(h: ServiceHarness, world: World, before: Snapshot): Promise<Snapshot> {
  const db = h.deps.tenant(world.actor.programId);
  const report = await reconcileBalances(db, world.actor.programId);
  expect(report.mismatches).toEqual([]);
  expect(report.checkedPartners).toBe(world.partners.length);

  // Every operation that moved money wrote movements, and they add up to the balance (summed here, apart from reconcile).
  const moved = await h.db.sql.query<{ partner_id: string; pending: string; payable: string; in_payouts: string; paid: string }>(
    `SELECT partner_id::text, ${["pending", "payable", "in_payouts", "paid"]
      .map((b) => `(coalesce(sum(amount) FILTER (WHERE to_bucket = '${b}'), 0) - coalesce(sum(amount) FILTER (WHERE from_bucket = '${b}'), 0))::text AS ${b}`)
      .join(", ")}
       FROM balance_movements WHERE program_id = $1 GROUP BY partner_id`,
    [world.actor.programId],
  );
  for (const row of await db.balance.findMany()) {
    const sums = moved.find((m) => m.partner_id === row.partnerId) ?? { pending: "0", payable: "0", in_payouts: "0", paid: "0" };
    expect(
      [sums.pending, sums.payable, sums.in_payouts, sums.paid].map((v) => dec(v).toFixed(4)),
      `movements of ${row.partnerId}`,
    ).toEqual([row.pending, row.payable, row.inPayouts, row.paid].map((v) => dec(v).toFixed(4)));
  }

  const lines = await db.commission.findMany({ select: { id: true, amount: true, kind: true, status: true, relatedId: true, conversionId: true, currency: true } });
  const now: Snapshot = new Map(lines.map((line) => [line.id, line.amount.toFixed()]));
  for (const [id, amount] of before) expect(now.get(id), `line ${id} must keep its amount`).toBe(amount);

  const conversions = await db.conversion.findMany({ select: { id: true, amount: true, reversedAmount: true } });
  for (const conversion of conversions) {
    for (const line of lines.filter((l) => l.conversionId === conversion.id && l.kind === "CONVERSION")) {
      const shares = lines.filter((l) => l.relatedId === line.id && (l.kind === "REVERSAL" || l.kind === "CLAWBACK"));
      const reversed = reversedShare(dec(line.amount), dec(conversion.amount), dec(conversion.reversedAmount), USD);
      if (line.status === "REVERSED") {
        expect(dec(conversion.reversedAmount).equals(dec(conversion.amount))).toBe(true);
        // Its earlier shares (a clawback left by a cancelled payout included) went
        // with it: none still stands to take the reversed amount away twice.
        expect(
          shares.filter((s) => s.status !== "REVERSED").map((s) => [s.kind, s.status]),
          `sale ${conversion.id} line ${line.id}`,
        ).toEqual([]);
        continue;
      }
      // A share counts exactly while its line does: the sale nets to what its
      // refunds leave while the line counts, and to nothing once it is cancelled.
      const counting = (status: string) => status !== "CANCELLED" && status !== "REVERSED";
      const outOfStep = shares.filter((s) => counting(s.status) !== counting(line.status));
      expect(
        outOfStep.map((s) => [s.kind, s.status]),
        `sale ${conversion.id} line ${line.id} ${line.status}`,
      ).toEqual([]);
      // A full refund of a line whose adjustment was paid books the adjustment
      // back too (the sale nets to zero with it): the money oracle checks that
      // case against its model; here the shares alone are checked otherwise.
      const adjusted = lines.some((l) => l.relatedId === line.id && l.kind === "ADJUSTMENT" && counting(l.status));
      if (adjusted && dec(conversion.reversedAmount).equals(dec(conversion.amount))) continue;
      const net = shares.reduce((sum, s) => sum.plus(dec(s.amount)), dec(line.amount));
      expect(net.toFixed(2), `sale ${conversion.id} line ${line.id}`).toBe(dec(line.amount).minus(reversed).toFixed(2));
    }
  }
  // A payout is the sum of its active lines; a paid payout's lines are all paid;
  // no line is active in two payouts that are not cancelled.
  const payouts = await db.payout.findMany({ include: { items: { include: { commission: { select: { status: true, amount: true } } } } } });
  const activeLines = new Map<string, string>();
  for (const payout of payouts) {
    const active = payout.items.filter((item) => item.active);
    // A cancelled payout keeps the amount it had, as history; its lines are released.
    if (payout.status === "CANCELLED") expect(active).toEqual([]);
    else expect(active.reduce((total, item) => total.plus(dec(item.amount)), dec("0")).toFixed(2), `payout ${payout.id}`).toBe(dec(payout.amount).toFixed(2));
    if (payout.status === "PAID") expect(active.every((item) => item.commission.status === "PAID")).toBe(true);
    if (payout.status === "DRAFT" || payout.status === "APPROVED") expect(active.every((item) => item.commission.status === "APPROVED")).toBe(true);
    for (const item of active) {
      expect(activeLines.has(item.commissionId), `line ${item.commissionId} in two payouts`).toBe(false);
      activeLines.set(item.commissionId, payout.id);
    }
  }

  // Each partner's events are numbered 1, 2, 3, … without a gap, and the last
  // number is the one its balance row holds.
  const events = await db.event.groupBy({ by: ["partnerId"], _count: true, _max: { partnerSequence: true }, _min: { partnerSequence: true } });
  const balances = new Map((await db.balance.findMany({ select: { partnerId: true, eventSequence: true } })).map((b) => [b.partnerId, b.eventSequence]));
  for (const group of events) {
    expect(group._min.partnerSequence).toBe(1n);
    expect(group._max.partnerSequence).toBe(BigInt(group._count));
    expect(balances.get(group.partnerId!)).toBe(BigInt(group._count));
  }
  return now;
}

/** A statement of all time, read from the movements, closes on what the partner is owed: pending + payable + in payouts. */
export async function checkStatements(h: ServiceHarness, world: World): Promise<void> {
  const db = h.deps.tenant(world.actor.programId);
  for (const row of await db.balance.findMany()) {
    const statement = await readStatement(db, world.actor.programId, row.partnerId, { start: new Date("2000-01-01T00:00:00.000Z"), end: new Date("2100-01-01T00:00:00.000Z") });
    let closing = dec(statement.opening);
    for await (const movement of statement.movements) closing = closing.plus(dec(movement.amount));
    expect(closing.toFixed(4), `statement of ${row.partnerId}`).toBe(dec(row.pending).plus(dec(row.payable)).plus(dec(row.inPayouts)).toFixed(4));
  }
}

describe("ledger properties (embedded PostgreSQL)", () => {
  let h: ServiceHarness;
  beforeAll(async () => {
    h = await startServiceHarness("pglite");
  });
  afterAll(() => h?.close());

  it("keeps balances equal to their lines through random operations, payouts included", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { minLength: 10, maxLength: 40 }), async (ops) => {
        run += 1;
        h.clock.set("2026-03-10T12:00:00.000Z");
        const world = await newWorld(h, run);
        let snapshot: Snapshot = new Map();
        for (const [step, op] of ops.entries()) {
          await applyOp(h, world, op, step);
          snapshot = await checkInvariants(h, world, snapshot);
        }
        await checkStatements(h, world);
      }),
      // A fixed seed keeps CI deterministic; FC_SEED=<n> explores other sequences.
      { numRuns: 30, seed: Number(process.env.FC_SEED ?? 20261122) },
    );
    // Thirty runs of up to forty operations: about 15 s on a quiet machine,
    // over 40 s on a busy one. The default 30 s would make it fail by load.
  }, 300_000);
});
