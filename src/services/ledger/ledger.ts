import type { Decimal } from "decimal.js";
import { addLineChange, emptyDelta, isZeroDelta, type BalanceDelta, type BucketInput } from "../../domain/balance.ts";
import { dec } from "../../domain/money.ts";
import type { CommissionKind, CommissionStatus } from "../../generated/prisma/enums.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { uuidv7 } from "../../db/uuid.ts";
import { storedEvent, type BalancePayload, type CommissionPayload, type EventPayloads, type EventType } from "../events.ts";
import type { Tx } from "../transact.ts";

/** A commission line as the ledger reasons about it. */
export interface LineRow {
  id: string;
  partnerId: string;
  kind: CommissionKind;
  status: CommissionStatus;
  heldFromStatus: CommissionStatus | null;
  amount: Decimal;
  currency: string;
  matured: boolean;
  inOpenPayout: boolean;
  /** The draft or approved payout the line is in, if any. */
  openPayout: { id: string; status: "DRAFT" | "APPROVED" } | null;
  relatedId: string | null;
  conversionId: string | null;
  payableAt: Date;
}

export interface BalanceRow {
  partnerId: string;
  currency: string;
  pending: Decimal;
  payable: Decimal;
  inPayouts: Decimal;
  paid: Decimal;
  lifetimeEarned: Decimal;
}

/** A balance row as the ledger's SQL returns it (amounts as text). */
interface BalanceSqlRow {
  partner_id: string;
  currency: string;
  pending: string;
  payable: string;
  in_payouts: string;
  paid: string;
  lifetime_earned: string;
}

function balanceFromSql(row: BalanceSqlRow): BalanceRow {
  return {
    partnerId: row.partner_id,
    currency: row.currency,
    pending: dec(row.pending),
    payable: dec(row.payable),
    inPayouts: dec(row.in_payouts),
    paid: dec(row.paid),
    lifetimeEarned: dec(row.lifetime_earned),
  };
}

type PendingEvent = { [K in EventType]: { type: K; entityId: string; payload: EventPayloads[K] } }[EventType];

/**
 * Keeps each partner's balance equal to the sum of its lines, in the same
 * transaction as the lines. A service locks the partners it touches first
 * (their balance rows, FOR UPDATE, in id order so two services never
 * deadlock), records every line it adds or moves, and flushes once: one
 * balance update per partner, and the partner's events numbered from the
 * balance row's sequence, which the lock makes gap-free in commit order.
 */
export class Ledger {
  private readonly deltas = new Map<string, BalanceDelta>();
  private readonly pending = new Map<string, PendingEvent[]>();
  private readonly locked = new Set<string>();

  constructor(private readonly tx: Tx) {}

  /** Locks the partners' balance rows (waits at most the connection's lock_timeout, 5 s). */
  async lockPartners(partnerIds: Iterable<string>): Promise<Map<string, BalanceRow>> {
    const ids = [...new Set(partnerIds)].filter((id) => !this.locked.has(id)).sort();
    const result = new Map<string, BalanceRow>();
    if (ids.length === 0) return result;
    const rows = await this.tx.db.$queryRaw<BalanceSqlRow[]>`SELECT partner_id::text, currency, pending::text, payable::text, in_payouts::text, paid::text, lifetime_earned::text
        FROM balances WHERE program_id = ${this.tx.programId}::uuid AND partner_id = ANY(${ids}::uuid[])
       ORDER BY partner_id FOR UPDATE`;
    for (const row of rows) {
      this.locked.add(row.partner_id);
      result.set(row.partner_id, balanceFromSql(row));
    }
    return result;
  }

  isLocked(partnerId: string): boolean {
    return this.locked.has(partnerId);
  }

  private deltaFor(partnerId: string): BalanceDelta {
    if (!this.locked.has(partnerId)) throw new Error(`Ledger: partner ${partnerId} changed without its balance lock`);
    let delta = this.deltas.get(partnerId);
    if (!delta) {
      delta = emptyDelta();
      this.deltas.set(partnerId, delta);
    }
    return delta;
  }

  /** A line moved between buckets (or appeared: before null; or stopped counting: after null). */
  move(partnerId: string, amount: Decimal, before: BucketInput | null, after: BucketInput | null): void {
    addLineChange(this.deltaFor(partnerId), amount, before, after);
  }

  /** A new line: counted in its bucket, announced as accrued. */
  added(line: LineRow): void {
    this.move(line.partnerId, line.amount, null, line);
    this.emit(line.partnerId, "commission.accrued", line.id, lineSnapshot(line));
  }

  /** A line moved (status, maturity or payout membership): re-bucketed, announced as changed. */
  changed(before: LineRow, after: LineRow): void {
    this.move(after.partnerId, after.amount, before, after);
    this.emit(after.partnerId, "commission.changed", after.id, lineSnapshot(after));
  }

  /** Queues an event for the partner, numbered at flush. */
  emit<K extends EventType>(partnerId: string, type: K, entityId: string, payload: EventPayloads[K]): void {
    this.deltaFor(partnerId);
    const list = this.pending.get(partnerId) ?? [];
    list.push({ type, entityId, payload } as PendingEvent);
    this.pending.set(partnerId, list);
  }

  /** Writes the balance changes and the events; returns the new balances. */
  async flush(): Promise<Map<string, BalanceRow>> {
    const balances = new Map<string, BalanceRow>();
    const partnerIds = [...new Set([...this.deltas.keys(), ...this.pending.keys()])].sort();
    if (partnerIds.length === 0) return balances;
    const events = partnerIds.map((id) => this.pending.get(id) ?? []);
    // Every partner whose lines changed also gets a balance.changed event with the new balance.
    const counts = partnerIds.map((id, i) => events[i]!.length + (isZeroDelta(this.deltas.get(id) ?? emptyDelta()) ? 0 : 1));
    const delta = (key: keyof BalanceDelta) => partnerIds.map((id) => (this.deltas.get(id) ?? emptyDelta())[key].toFixed());
    const rows = await this.tx.db.$queryRaw<(BalanceSqlRow & { event_sequence: bigint })[]>`UPDATE balances AS b SET
        pending = b.pending + d.pending,
        payable = b.payable + d.payable,
        in_payouts = b.in_payouts + d.in_payouts,
        paid = b.paid + d.paid,
        lifetime_earned = b.lifetime_earned + d.lifetime_earned,
        event_sequence = b.event_sequence + d.events,
        updated_at = ${this.tx.now}
      FROM unnest(${partnerIds}::uuid[], ${delta("pending")}::numeric[], ${delta("payable")}::numeric[],
                  ${delta("inPayouts")}::numeric[], ${delta("paid")}::numeric[], ${delta("lifetimeEarned")}::numeric[],
                  ${counts}::int[])
           AS d(partner_id, pending, payable, in_payouts, paid, lifetime_earned, events)
      WHERE b.partner_id = d.partner_id AND b.program_id = ${this.tx.programId}::uuid
      RETURNING b.partner_id::text, b.currency, b.pending::text, b.payable::text, b.in_payouts::text, b.paid::text,
                b.lifetime_earned::text, b.event_sequence`;

    const eventRows: { partnerId: string; sequence: bigint; type: string; entityId: string; payload: unknown }[] = [];
    for (const row of rows) {
      const balance = balanceFromSql(row);
      balances.set(row.partner_id, balance);
      const index = partnerIds.indexOf(row.partner_id);
      const list = [...events[index]!];
      if (counts[index]! > list.length) {
        list.push({ type: "balance.changed", entityId: row.partner_id, payload: balanceSnapshot(balance) });
      }
      let sequence = BigInt(row.event_sequence) - BigInt(list.length);
      for (const event of list) {
        sequence += 1n;
        eventRows.push({ partnerId: row.partner_id, sequence, ...event });
      }
    }
    if (eventRows.length > 0) {
      const inserted = await this.tx.db.$queryRaw<
        { id: bigint; partner_id: string; partner_sequence: bigint; type: string; entity_id: string; payload: unknown; created_at: Date; xid: string }[]
      >`INSERT INTO events (program_id, partner_id, partner_sequence, type, entity_id, payload, created_at)
        SELECT ${this.tx.programId}::uuid, e.partner_id, e.seq, e.type, e.entity_id, e.payload, ${this.tx.now}
          FROM unnest(${eventRows.map((e) => e.partnerId)}::uuid[], ${eventRows.map((e) => e.sequence.toString())}::bigint[],
                      ${eventRows.map((e) => e.type)}::text[], ${eventRows.map((e) => e.entityId)}::uuid[],
                      ${eventRows.map((e) => JSON.stringify(e.payload))}::jsonb[])
               AS e(partner_id, seq, type, entity_id, payload)
        RETURNING id, partner_id::text, partner_sequence, type, entity_id::text, payload, created_at, xid::text`;
      for (const row of inserted) {
        this.tx.events.push(
          storedEvent(
            {
              id: row.id.toString(),
              programId: this.tx.programId,
              partnerId: row.partner_id,
              partnerSequence: row.partner_sequence.toString(),
              entityId: row.entity_id,
              createdAt: new Date(row.created_at).toISOString(),
              xid: row.xid,
            },
            row.type,
            row.payload,
          ),
        );
      }
    }
    this.deltas.clear();
    this.pending.clear();
    return balances;
  }
}

export function balanceSnapshot(balance: BalanceRow): BalancePayload {
  return {
    partnerId: balance.partnerId,
    currency: balance.currency,
    pending: balance.pending.toFixed(),
    payable: balance.payable.toFixed(),
    inPayouts: balance.inPayouts.toFixed(),
    paid: balance.paid.toFixed(),
    lifetimeEarned: balance.lifetimeEarned.toFixed(),
  };
}

/** The lines matching `where`, with whether each sits in an open payout. */
export async function loadLines(tx: Tx, where: Prisma.CommissionWhereInput): Promise<LineRow[]> {
  const rows = await tx.db.commission.findMany({
    where,
    orderBy: { id: "asc" },
    select: {
      id: true,
      partnerId: true,
      kind: true,
      status: true,
      heldFromStatus: true,
      amount: true,
      currency: true,
      matured: true,
      relatedId: true,
      conversionId: true,
      payableAt: true,
      payoutItems: {
        where: { active: true, payout: { status: { in: ["DRAFT", "APPROVED"] } } },
        select: { payout: { select: { id: true, status: true } } },
      },
    },
  });
  return rows.map(({ payoutItems, amount, ...row }) => {
    const open = payoutItems[0]?.payout;
    return {
      ...row,
      amount: dec(amount),
      inOpenPayout: open !== undefined,
      openPayout: open ? { id: open.id, status: open.status as "DRAFT" | "APPROVED" } : null,
    };
  });
}

/** The event payload and API shape of a line. */
export function lineSnapshot(line: {
  id: string;
  partnerId: string;
  kind: CommissionKind;
  status: CommissionStatus;
  amount: Decimal | { toFixed(): string };
  currency: string;
  conversionId: string | null;
  relatedId: string | null;
  payableAt: Date;
  matured?: boolean;
}): CommissionPayload {
  return {
    id: line.id,
    partnerId: line.partnerId,
    kind: line.kind,
    status: line.status,
    matured: line.matured ?? false,
    amount: line.amount.toFixed(),
    currency: line.currency,
    conversionId: line.conversionId,
    relatedId: line.relatedId,
    payableAt: line.payableAt.toISOString(),
  };
}

export interface StatusChange {
  id: string;
  status: CommissionStatus;
  heldFromStatus: CommissionStatus | null;
  statusReason?: string | null;
  matured?: boolean;
  paidAt?: Date | null;
}

/** Writes many lines' new statuses in one statement. Amounts are never edited. */
export async function writeStatusChanges(tx: Tx, changes: StatusChange[]): Promise<void> {
  if (changes.length === 0) return;
  await tx.db.$executeRaw`
    UPDATE commissions AS c SET
      status = u.status::"CommissionStatus",
      held_from_status = u.held_from::"CommissionStatus",
      status_reason = CASE WHEN u.set_reason THEN u.reason ELSE c.status_reason END,
      matured = COALESCE(u.matured, c.matured),
      paid_at = CASE WHEN u.set_paid THEN u.paid_at ELSE c.paid_at END,
      updated_at = ${tx.now}
    FROM unnest(${changes.map((c) => c.id)}::uuid[], ${changes.map((c) => c.status)}::text[], ${changes.map((c) => c.heldFromStatus)}::text[],
                ${changes.map((c) => c.statusReason !== undefined)}::boolean[], ${changes.map((c) => c.statusReason ?? null)}::text[],
                ${changes.map((c) => c.matured ?? null)}::boolean[], ${changes.map((c) => c.paidAt !== undefined)}::boolean[],
                ${changes.map((c) => c.paidAt ?? null)}::timestamptz[])
         AS u(id, status, held_from, set_reason, reason, matured, set_paid, paid_at)
    WHERE c.id = u.id AND c.program_id = ${tx.programId}::uuid`;
}

export interface NewLine {
  partnerId: string;
  kind: "ADJUSTMENT" | "CREDIT" | "REVERSAL" | "CLAWBACK" | "WRITE_OFF";
  status: CommissionStatus;
  heldFromStatus?: CommissionStatus | null;
  amount: Decimal;
  currency: string;
  occurredAt: Date;
  payableAt: Date;
  matured: boolean;
  relatedId?: string | null;
  conversionId?: string | null;
  reversalId?: string | null;
  reasonCode?: string | null;
  note?: string | null;
}

/** Inserts correction lines (never CONVERSION lines: those come from recordConversions). */
export async function insertLines(tx: Tx, lines: NewLine[]): Promise<LineRow[]> {
  const ids = lines.map(() => uuidv7());
  if (lines.length === 0) return [];
  await tx.db.$executeRaw`
    INSERT INTO commissions (id, program_id, partner_id, conversion_id, reversal_id, related_id, kind, status, held_from_status, amount, currency,
                             occurred_at, payable_at, matured, reason_code, note, created_by, created_at, updated_at)
    SELECT l.id, ${tx.programId}::uuid, l.partner_id, l.conversion_id, l.reversal_id, l.related_id, l.kind::"CommissionKind",
           l.status::"CommissionStatus", l.held_from::"CommissionStatus", l.amount, l.currency, l.occurred_at, l.payable_at, l.matured,
           l.reason_code, l.note, ${tx.actor.id}, ${tx.now}, ${tx.now}
      FROM unnest(${ids}::uuid[], ${lines.map((l) => l.partnerId)}::uuid[], ${lines.map((l) => l.conversionId ?? null)}::uuid[],
                  ${lines.map((l) => l.reversalId ?? null)}::uuid[], ${lines.map((l) => l.relatedId ?? null)}::uuid[],
                  ${lines.map((l) => l.kind)}::text[], ${lines.map((l) => l.status)}::text[], ${lines.map((l) => l.heldFromStatus ?? null)}::text[],
                  ${lines.map((l) => l.amount.toFixed())}::numeric[], ${lines.map((l) => l.currency)}::text[],
                  ${lines.map((l) => l.occurredAt)}::timestamptz[], ${lines.map((l) => l.payableAt)}::timestamptz[],
                  ${lines.map((l) => l.matured)}::boolean[], ${lines.map((l) => l.reasonCode ?? null)}::text[], ${lines.map((l) => l.note ?? null)}::text[])
           AS l(id, partner_id, conversion_id, reversal_id, related_id, kind, status, held_from, amount, currency, occurred_at, payable_at, matured,
                reason_code, note)`;
  return lines.map((line, i) => ({
    id: ids[i]!,
    partnerId: line.partnerId,
    kind: line.kind,
    status: line.status,
    heldFromStatus: line.heldFromStatus ?? null,
    amount: line.amount,
    currency: line.currency,
    matured: line.matured,
    inOpenPayout: false,
    openPayout: null,
    relatedId: line.relatedId ?? null,
    conversionId: line.conversionId ?? null,
    payableAt: line.payableAt,
  }));
}
