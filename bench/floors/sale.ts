// The plain-pg floors' sale: the rows one recordConversion writes, written
// with hand-written SQL and no reads. bench/ingest.ts measures accrue's
// ingestion against it; the feed's loaded floor (bench/feed/floor-server.ts)
// commits one per accrual before it sends the two messages.
import { randomUUID } from "node:crypto";
import pg from "pg";

/** A pool of plain pg connections for a floor; idle ones dropped at the end are of no interest. */
export function floorPool(url: string, max: number): pg.Pool {
  const client = new pg.Pool({ connectionString: url, max });
  client.on("error", () => {});
  return client;
}

export async function inTransaction<T>(client: pg.Pool, work: (conn: pg.PoolClient) => Promise<T>): Promise<T> {
  const conn = await client.connect();
  try {
    await conn.query("BEGIN");
    const result = await work(conn);
    await conn.query("COMMIT");
    return result;
  } catch (error) {
    await conn.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    conn.release();
  }
}

/** What accrue writes beside each line: event and audit payloads of the same size (bench/README's "same rows"). */
export const RULE = '{"type":"PERCENTAGE","percent":"10"}';
export function accruedPayload(lineId: string, partnerId: string, conversionId: string, amount: string, at: Date): string {
  return JSON.stringify({
    id: lineId,
    partnerId,
    kind: "CONVERSION",
    status: "PENDING",
    amount,
    currency: "USD",
    conversionId,
    relatedId: null,
    payableAt: at.toISOString(),
    matured: false,
  });
}
export function auditAfter(externalId: string, amount: string, at: Date, lineId: string, partnerId: string, commission: string): string {
  return JSON.stringify({
    externalId,
    amount,
    currency: "USD",
    exchangeRate: null,
    occurredAt: at.toISOString(),
    commissions: [{ id: lineId, partnerId, amount: commission, status: "PENDING" }],
  });
}
export const tenth = (amount: string) => (Math.round(Number(amount) * 10) / 100).toFixed(2); // 10% (bench bookkeeping only)

/** What one floor sale wrote: the line, and the balance after it with its last event sequence (the balance.changed event's). */
export interface FloorSale {
  conversionId: string;
  lineId: string;
  commission: string;
  sequence: bigint;
  balance: { pending: string; payable: string; inPayouts: string; paid: string; lifetimeEarned: string };
}

/**
 * The rows one recordConversion writes, by plain pg, in the caller's
 * transaction: the conversion (with its content hash, the idempotency
 * record), its commission line, the balance update (which takes the
 * partner's row lock) returning the event sequence, the balance movement,
 * the two events (commission.accrued, balance.changed) and the audit entry.
 * Six statements; no reads, no GraphQL, no Prisma. `i` varies the amount.
 */
export async function floorSale(conn: pg.PoolClient, programId: string, partnerId: string, i: number): Promise<FloorSale> {
  const id = randomUUID();
  const lineId = randomUUID();
  const amount = `${10 + (i % 90)}.${String(i % 100).padStart(2, "0")}`;
  const commission = tenth(amount);
  const externalId = `floor-single-${id}`;
  const now = new Date();
  await conn.query(
    `WITH inserted AS (INSERT INTO conversions (id, program_id, external_id, amount, currency, program_amount, occurred_at, content_hash, created_at)
                       VALUES ($1, $2, $3, $4, 'USD', $4, $5, $6, $5) ON CONFLICT (program_id, external_id) DO NOTHING RETURNING id)
     INSERT INTO conversion_counts (program_id, slot, conversions) SELECT $2, $7, count(*) FROM inserted
     ON CONFLICT (program_id, slot) DO UPDATE SET conversions = conversion_counts.conversions + excluded.conversions`,
    [id, programId, externalId, amount, now, randomUUID().replaceAll("-", "").repeat(2), i % 16],
  );
  await conn.query(
    `INSERT INTO commissions (id, program_id, partner_id, conversion_id, kind, status, amount, currency, rule, occurred_at, payable_at, matured, created_by, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'CONVERSION', 'PENDING', $5, 'USD', $6, $7, $7, false, 'floor', $7, $7)`,
    [lineId, programId, partnerId, id, commission, RULE, now],
  );
  const updated = await conn.query<{ event_sequence: string; pending: string; payable: string; in_payouts: string; paid: string; lifetime_earned: string }>(
    `UPDATE balances SET pending = pending + $3, lifetime_earned = lifetime_earned + $3, event_sequence = event_sequence + 2, updated_at = $4
      WHERE program_id = $1 AND partner_id = $2 RETURNING event_sequence, pending::text, payable::text, in_payouts::text, paid::text, lifetime_earned::text`,
    [programId, partnerId, commission, now],
  );
  const b = updated.rows[0]!;
  const sequence = BigInt(b.event_sequence);
  await conn.query(
    `INSERT INTO balance_movements (id, program_id, partner_id, commission_id, currency, entry, to_bucket, amount, occurred_at, recorded_at, cause)
     VALUES ($1, $2, $3, $4, 'USD', 'ACCRUAL', 'pending', $5, $6, $6, 'conversion.record')`,
    [randomUUID(), programId, partnerId, lineId, commission, now],
  );
  const balance = { pending: b.pending, payable: b.payable, inPayouts: b.in_payouts, paid: b.paid, lifetimeEarned: b.lifetime_earned };
  await conn.query(
    `INSERT INTO events (program_id, partner_id, partner_sequence, type, entity_id, payload, created_at)
     VALUES ($1, $2, $3, 'commission.accrued', $4, $5, $8), ($1, $2, $6, 'balance.changed', $2, $7, $8) RETURNING id, xid::text`,
    [
      programId,
      partnerId,
      (sequence - 1n).toString(),
      lineId,
      accruedPayload(lineId, partnerId, id, commission, now),
      sequence.toString(),
      JSON.stringify({ partnerId, currency: "USD", ...balance }),
      now,
    ],
  );
  await conn.query(
    `INSERT INTO audit_entries (id, program_id, actor_role, actor_id, action, entity_type, entity_id, after, created_at)
     VALUES ($1, $2, 'admin', 'floor', 'conversion.record', 'Conversion', $3, $4, $5)`,
    [randomUUID(), programId, id, auditAfter(externalId, amount, now, lineId, partnerId, commission), now],
  );
  return { conversionId: id, lineId, commission, sequence, balance };
}
