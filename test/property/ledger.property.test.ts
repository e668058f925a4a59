import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CurrencyCode } from "../../src/domain/currency.ts";
import { dec } from "../../src/domain/money.ts";
import { reversedShare } from "../../src/domain/reversal.ts";
import { reconcileBalances } from "../../src/services/balances/reconcile-balances.ts";
import { adjustCommission } from "../../src/services/commissions/adjust-commission.ts";
import { creditPartner } from "../../src/services/commissions/credit-partner.ts";
import { reviewCommissions, type ReviewAction } from "../../src/services/commissions/review-commissions.ts";
import { recordConversions } from "../../src/services/conversions/record-conversions.ts";
import { reverseConversion } from "../../src/services/conversions/reverse-conversion.ts";
import { createPartner } from "../../src/services/partners/create-partner.ts";
import { createProgram } from "../../src/services/programs/create-program.ts";
import type { Actor } from "../../src/services/runtime.ts";
import { startServiceHarness, type ServiceHarness } from "../helpers/service-harness.ts";

/**
 * Random sequences of accrue / approve / hold / release / cancel / reinstate /
 * adjust / credit / reverse. After every step:
 * - every balance equals the sum of its lines, bucket by bucket (reconcile);
 * - no line disappeared and no amount was edited in place;
 * - each sale's lines net to exactly what its refunds leave of them.
 */
export type Op =
  | { op: "accrue"; partner: number; cents: number; daysAgo: number; partners: number }
  | { op: ReviewAction; line: number }
  | { op: "adjust"; line: number; cents: number }
  | { op: "credit"; partner: number; cents: number }
  | { op: "reverse"; sale: number; cents: number | null };

export const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("accrue" as const), partner: fc.nat(9), cents: fc.integer({ min: 1, max: 100_000 }), daysAgo: fc.nat(40), partners: fc.integer({ min: 1, max: 2 }) }) },
  ...(["approve", "hold", "release", "cancel", "reinstate"] as const).map((op) => ({ weight: 2, arbitrary: fc.record({ op: fc.constant(op), line: fc.nat(99) }) })),
  { weight: 1, arbitrary: fc.record({ op: fc.constant("adjust" as const), line: fc.nat(99), cents: fc.integer({ min: -5_000, max: 5_000 }).filter((c) => c !== 0) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("credit" as const), partner: fc.nat(9), cents: fc.integer({ min: 1, max: 10_000 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("reverse" as const), sale: fc.nat(99), cents: fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: null }) }) },
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
  const program = await createProgram(h.deps, { role: "platform", id: "prop" }, {
    name: `property ${run}`,
    currency: "USD",
    commissionRule: { type: "PERCENTAGE", percent: "12.5" },
    holdPeriodDays: 14,
  });
  if (!program.ok) throw new Error(JSON.stringify(program.errors));
  const actor: Actor = { role: "admin", id: "prop-admin", programId: program.value.id };
  const partners: string[] = [];
  for (let i = 0; i < 3; i += 1) {
    const partner = await createPartner(h.deps, actor, { name: `P${i}` });
    if (!partner.ok) throw new Error(JSON.stringify(partner.errors));
    partners.push(partner.value.id);
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
        [{ externalId: `s-${step}`, partners: [...new Set(named)].map((id) => ({ id })), amount: money(op.cents), currency: "USD", occurredAt: new Date(h.clock.now().getTime() - op.daysAgo * 86_400_000) }],
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
        continue;
      }
      const net = shares.reduce((sum, s) => sum.plus(dec(s.amount)), dec(line.amount));
      expect(net.toFixed(2), `sale ${conversion.id} line ${line.id}`).toBe(dec(line.amount).minus(reversed).toFixed(2));
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

describe("ledger properties (embedded PostgreSQL)", () => {
  let h: ServiceHarness;
  beforeAll(async () => {
    h = await startServiceHarness("pglite");
  });
  afterAll(() => h?.close());

  it("keeps balances equal to their lines through random operations", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { minLength: 5, maxLength: 30 }), async (ops) => {
        run += 1;
        const world = await newWorld(h, run);
        let snapshot: Snapshot = new Map();
        for (const [step, op] of ops.entries()) {
          await applyOp(h, world, op, step);
          snapshot = await checkInvariants(h, world, snapshot);
        }
      }),
      { numRuns: 30, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
    );
  });
});
