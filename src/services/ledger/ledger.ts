import type { Decimal } from "decimal.js";
import { addLineChange, bucketOf, emptyDelta, isZeroDelta, type BalanceDelta, type Bucket, type BucketInput } from "../../domain/balance.ts";
import { dec, ZERO } from "../../domain/money.ts";
import { holdEnded, withHoldsEnded } from "../../domain/payable.ts";
import { LINE_HOLDING_PAYOUT_STATUSES } from "../../domain/payout-status.ts";
import type { CommissionKind, CommissionStatus } from "../../generated/prisma/enums.ts";
import type { Prisma } from "../../generated/prisma/client.ts";
import { uuidv7 } from "../../db/uuid.ts";
import { unmarkedPayableByPartner } from "../commissions/payable-lines.ts";
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
  occurredAt: Date;
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

/** The line a movement moves. */
export interface MovingLine {
  id: string;
  partnerId: string;
  amount: Decimal;
  occurredAt: Date;
}

/** Where a line stands, for the balance, and the open payout that holds it (needed when it is in one). */
export interface LineState extends BucketInput {
  openPayout?: { id: string } | null;
}

export interface MoveOptions {
  /** When it happened for the statement (a refund's date, a payout's paid date); default: a new line's occurredAt, else now. */
  at?: Date;
  /** The reason given for it (a cancellation's, a refund's). */
  reason?: string | null;
}

/** What a movement is, stored with it: ACCRUAL (a new line counts), the three ways a line stops or starts counting again, or a move between buckets. */
export type MovementEntry = "ACCRUAL" | "CANCELLATION" | "REINSTATEMENT" | "REVERSAL" | "TRANSFER";

/** The movement table's name for each bucket (the balances table's columns). */
export const BUCKET_SQL: Readonly<Record<Bucket, string>> = { pending: "pending", payable: "payable", inPayouts: "in_payouts", paid: "paid" };

interface Movement {
  id: string;
  partnerId: string;
  commissionId: string;
  payoutId: string | null;
  entry: MovementEntry;
  from: Bucket | null;
  to: Bucket | null;
  amount: Decimal;
  occurredAt: Date;
  reason: string | null;
}

/**
 * Keeps each partner's balance equal to the sum of its lines, in the same
 * transaction as the lines. A service locks the partners it touches first
 * (their balance rows, FOR UPDATE, in id order so two services never
 * deadlock), records every line it adds or moves, and flushes once: one
 * balance update per partner, one append-only movement row per line moved
 * (balance_movements: from bucket, to bucket, amount, when, why, and the
 * audit entry of the change), and the partner's events numbered from the
 * balance row's sequence, which the lock makes gap-free in commit order.
 * Every balance change passes here, so none goes unrecorded: the balance
 * row is the sum of the partner's movements, bucket by bucket.
 */
export class Ledger {
  private readonly deltas = new Map<string, BalanceDelta>();
  private readonly pending = new Map<string, PendingEvent[]>();
  private readonly movements: Movement[] = [];
  private readonly locked = new Set<string>();
  private readonly currencies = new Map<string, string>();

  /** `cause` names what moves the money (the service action, or the job), stored with every movement. */
  constructor(
    private readonly tx: Tx,
    private readonly cause: string,
  ) {}

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
      this.currencies.set(row.partner_id, row.currency);
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

  /**
   * A line moved between buckets (before null: a new line; a state outside
   * the buckets: it starts or stops counting). Counted in the balance delta
   * and recorded as a movement when its bucket changes. A movement that
   * starts or stops the line counting is never dated before the line.
   */
  move(line: MovingLine, before: LineState | null, after: LineState | null, options: MoveOptions = {}): void {
    addLineChange(this.deltaFor(line.partnerId), line.amount, before, after);
    const from = before ? bucketOf(before) : null;
    const to = after ? bucketOf(after) : null;
    if (from === to) return;
    const entry: MovementEntry = from && to ? "TRANSFER" : to ? (before === null ? "ACCRUAL" : "REINSTATEMENT") : after?.status === "REVERSED" ? "REVERSAL" : "CANCELLATION";
    // Entering or leaving a payout names it: the statement shows a payout as one row.
    const payoutId = (to === "inPayouts" ? after?.openPayout?.id : undefined) ?? (from === "inPayouts" ? before?.openPayout?.id : undefined) ?? null;
    if ((to === "inPayouts" || from === "inPayouts") && payoutId === null) throw new Error(`Ledger: line ${line.id} moves ${from} → ${to} without naming its payout`);
    let occurredAt = options.at ?? (entry === "ACCRUAL" ? line.occurredAt : this.tx.now);
    if (entry !== "TRANSFER" && occurredAt.getTime() < line.occurredAt.getTime()) occurredAt = line.occurredAt;
    this.movements.push({
      id: uuidv7(),
      partnerId: line.partnerId,
      commissionId: line.id,
      payoutId,
      entry,
      from,
      to,
      amount: line.amount,
      occurredAt,
      reason: options.reason ?? null,
    });
  }

  /** A new line: counted in its bucket, announced as accrued. */
  added(line: LineRow, options: MoveOptions = {}): void {
    this.move(line, null, line, options);
    this.emit(line.partnerId, "commission.accrued", line.id, this.snapshot(line));
  }

  /** A line moved (status, maturity or payout membership): re-bucketed, announced as changed. */
  changed(before: LineRow, after: LineRow, options: MoveOptions = {}): void {
    this.move(after, before, after, options);
    this.emit(after.partnerId, "commission.changed", after.id, this.snapshot(after));
  }

  /** The line as announced: past its hold by the clock (domain/payable.ts), whether or not it is marked yet. */
  private snapshot(line: LineRow): CommissionPayload {
    return lineSnapshot({ ...line, matured: line.matured || holdEnded(line, this.tx.now) });
  }

  /** Queues an event for the partner, numbered at flush. */
  emit<K extends EventType>(partnerId: string, type: K, entityId: string, payload: EventPayloads[K]): void {
    this.deltaFor(partnerId);
    const list = this.pending.get(partnerId) ?? [];
    list.push({ type, entityId, payload } as PendingEvent);
    this.pending.set(partnerId, list);
  }

  /** Appends the movements, linked to the audit entries written so far in the transaction. */
  private async writeMovements(): Promise<void> {
    if (this.movements.length === 0) return;
    const moves = this.movements;
    const audited = this.tx.audited ?? new Map<string, string>();
    await this.tx.db.$executeRaw`
      INSERT INTO balance_movements (id, program_id, partner_id, commission_id, payout_id, currency, entry, from_bucket, to_bucket, amount,
                                     occurred_at, recorded_at, cause, reason, audit_entry_id)
      SELECT m.id, ${this.tx.programId}::uuid, m.partner_id, m.commission_id, m.payout_id, m.currency, m.entry, m.from_bucket, m.to_bucket, m.amount,
             m.occurred_at, ${this.tx.now}, ${this.cause}, m.reason, m.audit_entry_id
        FROM unnest(${moves.map((m) => m.id)}::uuid[], ${moves.map((m) => m.partnerId)}::uuid[], ${moves.map((m) => m.commissionId)}::uuid[],
                    ${moves.map((m) => m.payoutId)}::uuid[], ${moves.map((m) => this.currencies.get(m.partnerId)!)}::text[],
                    ${moves.map((m) => m.entry)}::text[], ${moves.map((m) => (m.from ? BUCKET_SQL[m.from] : null))}::text[],
                    ${moves.map((m) => (m.to ? BUCKET_SQL[m.to] : null))}::text[], ${moves.map((m) => m.amount.toFixed())}::numeric[],
                    ${moves.map((m) => m.occurredAt)}::timestamptz[], ${moves.map((m) => m.reason)}::text[],
                    ${moves.map((m) => audited.get(m.commissionId) ?? (m.payoutId ? audited.get(m.payoutId) : undefined) ?? null)}::uuid[])
             AS m(id, partner_id, commission_id, payout_id, currency, entry, from_bucket, to_bucket, amount, occurred_at, reason, audit_entry_id)`;
    this.movements.length = 0;
  }

  /** Writes the movements, the balance changes and the events; returns the new balances. */
  async flush(): Promise<Map<string, BalanceRow>> {
    const balances = new Map<string, BalanceRow>();
    await this.writeMovements();
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

    // A balance is announced as the payable rule reads it (withHoldsEnded): lines whose
    // hold ended but that no one has marked yet are payable in the event too.
    const announced = partnerIds.filter((_id, i) => counts[i]! > events[i]!.length);
    const unmarked = announced.length > 0 ? await unmarkedPayableByPartner(this.tx.db, this.tx.programId, announced, this.tx.now) : new Map<string, Decimal>();
    const eventRows: { partnerId: string; sequence: bigint; type: string; entityId: string; payload: unknown }[] = [];
    for (const row of rows) {
      const balance = balanceFromSql(row);
      balances.set(row.partner_id, balance);
      const index = partnerIds.indexOf(row.partner_id);
      const list = [...events[index]!];
      if (counts[index]! > list.length) {
        const shown = withHoldsEnded(balance, unmarked.get(row.partner_id) ?? ZERO);
        list.push({ type: "balance.changed", entityId: row.partner_id, payload: balanceSnapshot(shown) });
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
      occurredAt: true,
      payableAt: true,
      payoutItems: {
        where: { active: true, payout: { status: { in: [...LINE_HOLDING_PAYOUT_STATUSES] } } },
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
    occurredAt: line.occurredAt,
    payableAt: line.payableAt,
  }));
}
