import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../src/db/migrate.ts";
import { dec } from "../../src/domain/money.ts";
import { Prisma } from "../../src/generated/prisma/client.ts";
import { balancesAsOf } from "../../src/services/balances/balance-as-of.ts";
import { reconcileBalances } from "../../src/services/balances/reconcile-balances.ts";
import { adjustCommission } from "../../src/services/commissions/adjust-commission.ts";
import { creditPartner } from "../../src/services/commissions/credit-partner.ts";
import { reviewCommissions } from "../../src/services/commissions/review-commissions.ts";
import { recordConversions } from "../../src/services/conversions/record-conversions.ts";
import { reverseConversion } from "../../src/services/conversions/reverse-conversion.ts";
import { readStatement, type MovementRow } from "../../src/services/ledger/read-statement.ts";
import { createPartner } from "../../src/services/partners/create-partner.ts";
import { addPayoutMethod } from "../../src/services/payment-details/payout-methods.ts";
import { setBillingProfile } from "../../src/services/payment-details/set-billing-profile.ts";
import { createPayout } from "../../src/services/payouts/create-payout.ts";
import { recordPayoutBounce } from "../../src/services/payouts/record-payout-bounce.ts";
import { removePayoutLines } from "../../src/services/payouts/remove-payout-lines.ts";
import { transitionPayouts } from "../../src/services/payouts/transition-payouts.ts";
import { createProgram } from "../../src/services/programs/create-program.ts";
import type { Actor } from "../../src/services/deps.ts";
import { startServiceHarness, type ServiceHarness } from "../helpers/service-harness.ts";

/**
 * The movement ledger's migration applied over history made before it.
 * The history is made by the real services; then the database is put back
 * to before the migration (its table, trigger function and record dropped)
 * and the migration applied again, so its backfill runs over that data.
 * The statement it gives must be the one the audit trail gave before the
 * ledger (the old query, kept below as the oracle), and every balance the
 * sum of its movements.
 */
const MIGRATION = "20261202030000_balance_movements";

/** A commission status that counts toward what the partner earned. */
const COUNTS = (status: Prisma.Sql) => Prisma.sql`(${status} NOT IN ('CANCELLED', 'REVERSED'))`;

/**
 * The statement as it was read before the movement ledger: rebuilt from lines,
 * the audit trail and payouts (verbatim, but for one rule that came with the
 * bounce fix: a bounced payment's minus line is born paid, earned and paid at
 * once, so it nets to nothing on the statement).
 */
function auditStatementSql(programId: string, partnerId: string): Prisma.Sql {
  const changing = Prisma.sql`a.program_id = ${programId}::uuid AND a.entity_type = 'Commission'
      AND a.action IN ('commission.cancel', 'commission.reinstate', 'commission.reverse')
      AND ${COUNTS(Prisma.sql`a.before->>'status'`)} <> ${COUNTS(Prisma.sql`a.after->>'status'`)}`;
  return Prisma.sql`
    WITH lines AS (
      SELECT c.id, c.kind::text AS kind, c.status::text AS status,
             CASE WHEN c.status = 'PAID' AND c.reason_code = 'PAYMENT_BOUNCED' THEN 0 ELSE c.amount END AS amount, c.occurred_at, c.note, c.reason_code, v.external_id AS conversion_ref
        FROM commissions c
        LEFT JOIN conversions v ON v.id = c.conversion_id AND v.program_id = c.program_id
       WHERE c.program_id = ${programId}::uuid AND c.partner_id = ${partnerId}::uuid
    ), changes AS (
      SELECT a.id, a.entity_id AS line_id, a.action, a.created_at, a.reason,
             ${COUNTS(Prisma.sql`a.before->>'status'`)} AS counted_before,
             ${COUNTS(Prisma.sql`a.after->>'status'`)} AS counts_after,
             CASE WHEN a.after->>'reversalId' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN (a.after->>'reversalId')::uuid END AS reversal_id
        FROM audit_entries a
        JOIN lines l ON l.id = a.entity_id
       WHERE ${changing}
    ), first_changes AS (
      SELECT DISTINCT ON (line_id) line_id, counted_before FROM changes ORDER BY line_id, created_at, id
    ), movements AS (
      SELECT l.occurred_at AS at, 0 AS ord, l.id, l.kind AS type, l.conversion_ref, l.id AS line_id,
             coalesce(l.note, l.reason_code) AS description, NULL::text AS payout_ref, l.amount
        FROM lines l
        LEFT JOIN first_changes f ON f.line_id = l.id
       -- Whether it counted when written: before its first change, else as it is now.
       WHERE coalesce(f.counted_before, ${COUNTS(Prisma.sql`l.status`)})
      UNION ALL
      SELECT greatest(CASE WHEN ch.action = 'commission.reverse' AND r.occurred_at IS NOT NULL THEN r.occurred_at ELSE ch.created_at END, l.occurred_at),
             1, ch.id,
             CASE ch.action WHEN 'commission.cancel' THEN 'CANCELLATION' WHEN 'commission.reinstate' THEN 'REINSTATEMENT' ELSE 'REVERSAL' END,
             l.conversion_ref, l.id, coalesce(ch.reason, r.reason, r.kind::text), NULL,
             CASE WHEN ch.counts_after THEN l.amount ELSE -l.amount END
        FROM changes ch
        JOIN lines l ON l.id = ch.line_id
        LEFT JOIN reversals r ON r.id = ch.reversal_id AND r.program_id = ${programId}::uuid
      UNION ALL
      SELECT p.paid_at, 2, p.id, 'PAYOUT', NULL, NULL, p.method::text, p.reference, -p.amount
        FROM payouts p
       WHERE p.program_id = ${programId}::uuid AND p.partner_id = ${partnerId}::uuid AND p.status = 'PAID' AND p.paid_at IS NOT NULL
    )`;
}

function ok<T>(result: { ok: true; value: T } | { ok: false; errors: unknown }): T {
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.value;
}

const PERIODS = [
  { start: new Date("2026-01-01T00:00:00.000Z"), end: new Date("2026-06-01T00:00:00.000Z") },
  { start: new Date("2026-02-01T00:00:00.000Z"), end: new Date("2026-03-01T00:00:00.000Z") },
  { start: new Date("2026-03-01T00:00:00.000Z"), end: new Date("2026-03-10T00:00:00.000Z") },
  { start: new Date("2026-03-10T00:00:00.000Z"), end: new Date("2026-06-01T00:00:00.000Z") },
];

type Row = [string, number, string, string | null, string | null, string | null, string | null, string];
const shape = (r: MovementRow, withId: boolean): Row => [
  new Date(r.at).toISOString(),
  Number(r.ord),
  r.type,
  withId ? r.id : null,
  r.line_id,
  r.description,
  r.payout_ref,
  dec(r.amount).toFixed(4),
];

describe("the movement ledger's backfill, over history made before it (embedded PostgreSQL)", () => {
  let h: ServiceHarness;
  let actor: Actor;
  let partners: string[];
  let outOfBand: string;
  /** Per partner and period: the old audit-based statement, and the live ledger's, before the table is rebuilt. */
  const before = new Map<string, { audit: { opening: string; rows: MovementRow[] }; live: { opening: string; rows: MovementRow[] } }>();

  async function statementOf(partnerId: string, period: { start: Date; end: Date }) {
    const reader = await readStatement(h.deps.tenant(actor.programId), actor.programId, partnerId, period);
    const rows: MovementRow[] = [];
    for await (const row of reader.movements) rows.push(row);
    return { opening: dec(reader.opening).toFixed(4), rows };
  }

  async function auditStatementOf(partnerId: string, period: { start: Date; end: Date }) {
    const db = h.deps.tenant(actor.programId);
    const sql = auditStatementSql(actor.programId, partnerId);
    const [opening] = await db.$queryRaw<{ total: string }[]>`${sql} SELECT coalesce(sum(amount), 0)::text AS total FROM movements WHERE at < ${period.start}::timestamptz`;
    const rows = await db.$queryRaw<MovementRow[]>`${sql}
      SELECT at, ord, id::text AS id, type, conversion_ref, line_id::text AS line_id, description, payout_ref, amount::text AS amount
        FROM movements WHERE at >= ${period.start}::timestamptz AND at < ${period.end}::timestamptz ORDER BY at, ord, id`;
    return { opening: dec(opening!.total).toFixed(4), rows };
  }

  beforeAll(async () => {
    h = await startServiceHarness("pglite");
    h.clock.set("2026-03-10T12:00:00.000Z");
    const program = ok(
      await createProgram(
        h.deps,
        { role: "platform", id: "backfill" },
        {
          name: "backfill",
          currency: "USD",
          commissionRule: { type: "PERCENTAGE", percent: "12.5" },
          holdPeriodDays: 14,
          approvalMode: "AUTOMATIC",
        },
      ),
    );
    actor = { role: "admin", id: "backfill-admin", programId: program.id };
    partners = [];
    for (let i = 0; i < 3; i += 1) {
      const partner = ok(await createPartner(h.deps, actor, { name: `P${i}` }));
      partners.push(partner.id);
      await addPayoutMethod(h.deps, actor, { partnerId: partner.id, method: { type: "PAYPAL", email: `p${i}@example.com` } });
      await setBillingProfile(h.deps, actor, { partnerId: partner.id, profile: { entityType: "INDIVIDUAL", legalName: `P${i}`, country: "GB" } });
    }
    const [a, b, c] = partners as [string, string, string];
    const db = h.deps.tenant(actor.programId);
    const sale = async (externalId: string, partnerId: string, amount: string, occurredAt: string) => {
      const [recorded] = ok(
        await recordConversions(h.deps, actor, [{ externalId, partners: [{ id: partnerId }], amount, currency: "USD", occurredAt: new Date(occurredAt) }], () => ["input"]),
      );
      const line = await db.commission.findFirstOrThrow({ where: { conversionId: recorded!.id } });
      return { sale: recorded!.id, line: line.id };
    };
    const tick = () => h.clock.advance(3_600_000);

    // Partner A: sales, a cancellation and reinstatement, refunds in part and whole,
    // an adjustment, a credit, a payout with a line taken out, paid on an earlier date, then bounced.
    const s1 = await sale("s1", a, "100.00", "2026-01-15T10:00:00.000Z");
    const s2 = await sale("s2", a, "80.00", "2026-02-20T10:00:00.000Z");
    const s3 = await sale("s3", a, "60.00", "2026-03-10T09:00:00.000Z");
    tick();
    ok(await reviewCommissions(h.deps, actor, "cancel", [s3.line], "duplicate"));
    tick();
    ok(await reviewCommissions(h.deps, actor, "reinstate", [s3.line], null));
    tick();
    ok(
      await reverseConversion(h.deps, actor, {
        conversionId: s2.sale,
        refundId: "r-s2",
        amount: "30.00",
        reason: "partial return",
        occurredAt: new Date("2026-03-01T10:00:00.000Z"),
      }),
    );
    ok(await adjustCommission(h.deps, actor, { commissionId: s1.line, amount: "2.00", reasonCode: "CORRECTION", note: "rate fix" }));
    ok(await creditPartner(h.deps, actor, { partnerId: a, amount: "5.00", reasonCode: "BONUS" }));
    tick();
    const payoutA = ok(await createPayout(h.deps, actor, { partnerId: a }));
    ok(await removePayoutLines(h.deps, actor, { payoutId: payoutA.id, commissionIds: [s2.line], reason: "disputed" }));
    ok(await transitionPayouts(h.deps, actor, "approve", { ids: [payoutA.id] }));
    tick();
    ok(await transitionPayouts(h.deps, actor, "pay", { ids: [payoutA.id], payment: { method: "PAYPAL", reference: "PP-A", paidAt: new Date("2026-03-10T16:30:00.000Z") } }));
    tick();
    ok(await recordPayoutBounce(h.deps, actor, { payoutId: payoutA.id, reason: "closed" }));
    ok(await reverseConversion(h.deps, actor, { conversionId: s3.sale, refundId: "r-s3", reason: "chargeback", kind: "CHARGEBACK" }));

    // Partner B: a payout cancelled, its line released and then cancelled; another left in a draft.
    const s4 = await sale("s4", b, "50.00", "2026-02-01T10:00:00.000Z");
    tick();
    const payoutB = ok(await createPayout(h.deps, actor, { partnerId: b }));
    ok(await transitionPayouts(h.deps, actor, "cancel", { ids: [payoutB.id], reason: "wrong account" }));
    tick();
    ok(await reviewCommissions(h.deps, actor, "cancel", [s4.line], "fraud"));
    await sale("s5", b, "70.00", "2026-02-02T10:00:00.000Z");
    ok(await createPayout(h.deps, actor, { partnerId: b }));

    // Partner C: a line cancelled through the service, then put back outside it (no audit entry), its balance fixed by hand.
    const s6 = await sale("s6", c, "30.00", "2026-02-03T10:00:00.000Z");
    tick();
    ok(await reviewCommissions(h.deps, actor, "cancel", [s6.line], "mistake"));
    outOfBand = s6.line;
    tick();
    h.clock.advance(86_400_000);

    for (const partnerId of [a, b]) {
      for (const [i, period] of PERIODS.entries()) {
        before.set(`${partnerId}/${i}`, { audit: await auditStatementOf(partnerId, period), live: await statementOf(partnerId, period) });
      }
    }
    await h.db.sql.exec(`
      UPDATE commissions SET status = 'APPROVED', updated_at = '2026-03-11T18:00:00Z' WHERE id = '${s6.line}';
      UPDATE balances SET payable = payable + 3.75, lifetime_earned = lifetime_earned + 3.75 WHERE partner_id = '${c}';`);

    // Back to before the migration, and the migration again: its backfill runs over all of the above.
    await h.db.sql.exec(`
      DROP TABLE balance_movements;
      DROP FUNCTION balance_movements_append_only();
      DELETE FROM "_prisma_migrations" WHERE migration_name = '${MIGRATION}';`);
    expect(await migrate(h.db.sql)).toEqual([MIGRATION]);
  }, 600_000);
  afterAll(() => h?.close());

  it("made the history it claims (the live ledger stated it as the audit trail did)", () => {
    // The write path and the old reconstruction agree on every row but the change rows' ids (movement vs audit entry).
    for (const [key, { audit, live }] of before) {
      expect(live.opening, key).toBe(audit.opening);
      expect(
        live.rows.map((r) => shape(r, false)),
        key,
      ).toEqual(audit.rows.map((r) => shape(r, false)));
    }
    expect(before.get(`${partners[0]}/0`)!.audit.rows.map((r) => r.type)).toEqual(
      expect.arrayContaining(["CONVERSION", "CANCELLATION", "REINSTATEMENT", "REVERSAL", "ADJUSTMENT", "CREDIT", "PAYOUT"]),
    );
  });

  it("backfills movements that sum to every balance, bucket by bucket, and to the lines", async () => {
    const report = await reconcileBalances(h.deps.tenant(actor.programId), actor.programId);
    expect(report).toEqual({ checkedPartners: 3, mismatches: [] });
    const count = await h.db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM balance_movements");
    expect(count[0]!.n).toBeGreaterThan(10);
    // Balance as of now is the balance row.
    const asOf = await balancesAsOf(h.deps.tenant(actor.programId), actor.programId, partners, h.clock.now());
    for (const row of await h.deps.tenant(actor.programId).balance.findMany()) {
      const got = asOf.get(row.partnerId)!;
      expect([got.pending, got.payable, got.inPayouts, got.paid, got.lifetimeEarned].map((d) => d.toFixed(4))).toEqual(
        [row.pending, row.payable, row.inPayouts, row.paid, row.lifetimeEarned].map((d) => d.toFixed(4)),
      );
    }
  });

  it("gives the statement the audit trail gave, row for row (ids included), for every period", async () => {
    for (const partnerId of partners.slice(0, 2)) {
      for (const [i, period] of PERIODS.entries()) {
        const { audit } = before.get(`${partnerId}/${i}`)!;
        const now = await statementOf(partnerId, period);
        expect(now.opening, `${partnerId}/${i}`).toBe(audit.opening);
        expect(
          now.rows.map((r) => shape(r, true)),
          `${partnerId}/${i}`,
        ).toEqual(audit.rows.map((r) => shape(r, true)));
      }
    }
  });

  it("links audited changes to their entries, and brings a line changed without one to where it stands", async () => {
    const linked = await h.db.sql.query<{ entry: string; action: string }>(
      "SELECT m.entry, a.action FROM balance_movements m JOIN audit_entries a ON a.id = m.audit_entry_id WHERE m.entry <> 'TRANSFER' ORDER BY m.entry, a.action",
    );
    expect(linked.length).toBeGreaterThanOrEqual(5);
    for (const row of linked) expect(`${row.entry} ${row.action}`).toMatch(/^(CANCELLATION commission\.cancel|REINSTATEMENT commission\.reinstate|REVERSAL commission\.reverse)$/);
    const history = await h.db.sql.query<{ entry: string; from_bucket: string | null; to_bucket: string | null; cause: string; reason: string | null }>(
      "SELECT entry, from_bucket, to_bucket, cause, reason FROM balance_movements WHERE commission_id = $1 ORDER BY recorded_at, id",
      [outOfBand],
    );
    expect(history).toEqual([
      { entry: "ACCRUAL", from_bucket: null, to_bucket: "payable", cause: "backfill", reason: null },
      { entry: "CANCELLATION", from_bucket: "payable", to_bucket: null, cause: "commission.cancel", reason: "mistake" },
      { entry: "REINSTATEMENT", from_bucket: null, to_bucket: "payable", cause: "backfill", reason: "status changed without an audit entry" },
    ]);
    // Paid lines went through their payout: into it, then paid on its paid date.
    const paid = await h.db.sql.query<{ n: number; at: Date }>(
      "SELECT count(*)::int AS n, min(occurred_at) AS at FROM balance_movements WHERE to_bucket = 'paid' AND partner_id = $1",
      [partners[0]],
    );
    expect(paid[0]!.n).toBeGreaterThan(0);
    expect(new Date(paid[0]!.at).toISOString()).toBe("2026-03-10T16:30:00.000Z");
  });
});
