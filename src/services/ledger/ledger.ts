import type { Decimal } from "decimal.js";
import { addLineChange, bucketOf, emptyDelta, isZeroDelta, type BalanceDelta, type Bucket, type BucketInput } from "../../domain/balance.ts";
import { dec } from "../../domain/money.ts";
import { holdEnded } from "../../domain/payable.ts";
import { LINE_HOLDING_PAYOUT_STATUSES } from "../../domain/payout-status.ts";
import type { CommissionKind, CommissionStatus } from "../../generated/prisma/enums.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import { PREPARED_SQL } from "../../db/prepared.ts";
import { uuidv7 } from "../../db/uuid.ts";
import { unmarkedPayableSql } from "../commissions/payable-lines.ts";
import { auditInsert, type AuditInput } from "../audit.ts";
import { storedEvent, type BalancePayload, type CommissionPayload, type EventPayloads, type EventType } from "../events.ts";
import { RetryTransaction, type Tx } from "../transact.ts";

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
  /** Partners whose balance rows the flush itself locks (lockAtFlush). */
  private readonly lockedAtFlush = new Set<string>();
  private readonly currencies = new Map<string, string>();
  private readonly audits: AuditInput[] = [];

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

  /**
   * For a service that reads nothing of these balances and decides nothing
   * from them (recording a sale at a flat or percentage rule): the partners'
   * rows are locked by the flush's own statement, in id order, before the
   * update, and held to commit like lockPartners' lock; the round trip of a
   * lock of its own is saved. A partner without a balance row fails the
   * flush, as lockPartners would.
   */
  lockAtFlush(partnerIds: Iterable<string>): void {
    for (const id of partnerIds) {
      if (this.locked.has(id)) continue;
      this.locked.add(id);
      this.lockedAtFlush.add(id);
    }
  }

  /** Audit entries written by the flush's statement (see `audit` in audit.ts); noted for the movements' links at once. */
  audit(...entries: AuditInput[]): void {
    this.audits.push(...entries);
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

  /** The movements' INSERT, linked to the audit entries written so far in the transaction. */
  private movementsInsert(onlyIf: Prisma.Sql): Prisma.Sql {
    const moves = this.movements;
    const audited = this.tx.audited ?? new Map<string, string>();
    // A partner locked at flush has its currency from the lock (the CTE "locked" of the flush), joined once.
    const atFlush = this.lockedAtFlush.size > 0;
    const currency = atFlush ? Prisma.sql`coalesce(m.currency, l.currency)` : Prisma.sql`m.currency`;
    const join = atFlush ? Prisma.sql`LEFT JOIN locked l ON l.partner_id = m.partner_id` : Prisma.empty;
    return Prisma.sql`
      INSERT INTO balance_movements (id, program_id, partner_id, commission_id, payout_id, currency, entry, from_bucket, to_bucket, amount,
                                     occurred_at, recorded_at, cause, reason, audit_entry_id)
      SELECT m.id, ${this.tx.programId}::uuid, m.partner_id, m.commission_id, m.payout_id, ${currency}, m.entry, m.from_bucket, m.to_bucket, m.amount,
             m.occurred_at, ${this.tx.now}, ${this.cause}, m.reason, m.audit_entry_id
        FROM unnest(${moves.map((m) => m.id)}::uuid[], ${moves.map((m) => m.partnerId)}::uuid[], ${moves.map((m) => m.commissionId)}::uuid[],
                    ${moves.map((m) => m.payoutId)}::uuid[], ${moves.map((m) => this.currencies.get(m.partnerId) ?? null)}::text[],
                    ${moves.map((m) => m.entry)}::text[], ${moves.map((m) => (m.from ? BUCKET_SQL[m.from] : null))}::text[],
                    ${moves.map((m) => (m.to ? BUCKET_SQL[m.to] : null))}::text[], ${moves.map((m) => m.amount.toFixed())}::numeric[],
                    ${moves.map((m) => m.occurredAt)}::timestamptz[], ${moves.map((m) => m.reason)}::text[],
                    ${moves.map((m) => audited.get(m.commissionId) ?? (m.payoutId ? audited.get(m.payoutId) : undefined) ?? null)}::uuid[])
             AS m(id, partner_id, commission_id, payout_id, currency, entry, from_bucket, to_bucket, amount, occurred_at, reason, audit_entry_id)
        ${join} ${onlyIf}`;
  }

  /**
   * Writes the audit entries, the movements, the balance changes and the
   * events in one statement (one round trip): the balances are updated
   * under their lock (taken before, or by this statement in id order for
   * partners locked at flush), each partner's events are numbered from its
   * row's new sequence, and a partner whose lines changed gets a
   * balance.changed event carrying the updated balance. The events are
   * published after commit. Returns the new balances.
   *
   * `first` lets the caller's own writes travel in the same statement: CTEs
   * that run before anything of the flush (`first.ctes`, each ending in a
   * comma) and a condition on them (`first.holds`, SQL); when it does not
   * hold, the flush writes nothing and the transaction starts over
   * (RetryTransaction). recordConversions sends its conversions and lines so.
   *
   * `last`: nothing but COMMIT follows this statement in the transaction.
   * The statement itself is planned for its values (the connection's
   * `plan_cache_mode=force_custom_plan`, db/database.ts), but so, under that
   * setting, is every foreign-key check and trigger statement its inserts
   * fire at its end (PostgreSQL runs them through the same plan cache, with
   * the row's keys as parameters): about ten lookups by key per conversion,
   * each planned afresh. With `last` the statement sets `plan_cache_mode`
   * back to PostgreSQL's default for the rest of the transaction while it
   * runs (after its own plan was made, before those checks fire), so they
   * keep their plans (always the key's unique index); SET LOCAL's scope, so
   * COMMIT or ROLLBACK restores the connection's setting. Nothing else is
   * planned after it in the transaction.
   */
  async flush(first?: { ctes: Prisma.Sql; holds: Prisma.Sql }, options: { last?: boolean } = {}): Promise<Map<string, BalanceRow>> {
    const balances = new Map<string, BalanceRow>();
    // Audit first: the movements link to the entries (tx.audited) as they are noted.
    const audits = this.audits.splice(0);
    const partnerIds = [...new Set([...this.deltas.keys(), ...this.pending.keys()])].sort();
    if (partnerIds.length === 0) {
      if (first) throw new Error("Ledger: a flush with writes of its own needs a balance to change");
      if (audits.length > 0) await this.tx.db.$executeRaw`${auditInsert(this.tx, audits)}`;
      return balances;
    }
    // Every write of the flush waits for the caller's (a one-time filter reads them first) and happens only if they went as planned.
    const holds = first ? Prisma.sql`(${first.holds})` : Prisma.sql`true`;
    const onlyIf = first ? Prisma.sql`WHERE ${holds}` : Prisma.empty;
    const auditCte = audits.length > 0 ? Prisma.sql`audited AS (${auditInsert(this.tx, audits, onlyIf)}),` : Prisma.empty;
    const lockIds = partnerIds.filter((id) => this.lockedAtFlush.has(id));
    const lockCte =
      lockIds.length > 0
        ? Prisma.sql`locked AS (SELECT partner_id, currency FROM balances WHERE program_id = ${this.tx.programId}::uuid AND partner_id = ANY(${lockIds}::uuid[])
                                 AND ${holds} ORDER BY partner_id FOR UPDATE),`
        : Prisma.empty;
    // An uncorrelated subquery: a one-time filter run before the update touches a row, so every lock is taken in id order first.
    const afterLocks = Prisma.sql`${lockIds.length > 0 ? Prisma.sql`AND (SELECT count(*) FROM locked) >= 0` : Prisma.empty} ${first ? Prisma.sql`AND ${holds}` : Prisma.empty}`;
    const movementsCte = this.movements.length > 0 ? Prisma.sql`moved AS (${this.movementsInsert(onlyIf)}),` : Prisma.empty;
    this.movements.length = 0;

    const delta = (key: keyof BalanceDelta) => partnerIds.map((id) => (this.deltas.get(id) ?? emptyDelta())[key].toFixed());
    // Each partner's events in order; one more, balance.changed (payload and entity filled in by the statement), when its lines changed.
    const events: { partnerId: string; ordinal: number; type: string; entityId: string | null; payload: string | null }[] = [];
    const counts = partnerIds.map((id) => {
      const list = this.pending.get(id) ?? [];
      for (const [i, event] of list.entries()) events.push({ partnerId: id, ordinal: i + 1, type: event.type, entityId: event.entityId, payload: JSON.stringify(event.payload) });
      if (isZeroDelta(this.deltas.get(id) ?? emptyDelta())) return list.length;
      events.push({ partnerId: id, ordinal: list.length + 1, type: "balance.changed", entityId: null, payload: null });
      return list.length + 1;
    });
    // A balance is announced as the payable rule reads it (domain/payable.ts, withHoldsEnded): lines
    // whose hold ended but that no one has marked yet move from pending to payable in the event too.
    const announced = partnerIds.filter((id, i) => counts[i]! > (this.pending.get(id)?.length ?? 0));
    const endedCte =
      announced.length > 0
        ? Prisma.sql`ended AS (SELECT c.partner_id, sum(c.amount) AS amount FROM commissions c
                                WHERE c.program_id = ${this.tx.programId}::uuid AND c.partner_id = ANY(${announced}::uuid[]) AND ${unmarkedPayableSql(this.tx.now)}
                                GROUP BY c.partner_id),`
        : Prisma.sql`ended AS (SELECT NULL::uuid AS partner_id, NULL::numeric AS amount WHERE false),`;
    const rows = await this.tx.db.$queryRaw<(BalanceSqlRow & { event_sequence: bigint; events: StoredEventJson[] })[]>`${PREPARED_SQL}
      WITH ${first?.ctes ?? Prisma.empty} ${auditCte} ${lockCte} ${movementsCte} ${endedCte}
      updated AS (
        UPDATE balances AS b SET
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
        WHERE b.partner_id = d.partner_id AND b.program_id = ${this.tx.programId}::uuid ${afterLocks}
        RETURNING b.partner_id, b.currency, b.pending, b.payable, b.in_payouts, b.paid, b.lifetime_earned, b.event_sequence, d.events AS written
      ),
      emitted AS (
        INSERT INTO events (program_id, partner_id, partner_sequence, type, entity_id, payload, created_at)
        SELECT ${this.tx.programId}::uuid, e.partner_id, u.event_sequence - u.written + e.ordinal, e.type, coalesce(e.entity_id, e.partner_id),
               coalesce(e.payload, jsonb_build_object('partnerId', u.partner_id::text, 'currency', u.currency,
                 'pending', trim_scale(u.pending - coalesce(x.amount, 0))::text, 'payable', trim_scale(u.payable + coalesce(x.amount, 0))::text,
                 'inPayouts', trim_scale(u.in_payouts)::text,
                 'paid', trim_scale(u.paid)::text, 'lifetimeEarned', trim_scale(u.lifetime_earned)::text)),
               ${this.tx.now}
          FROM unnest(${events.map((e) => e.partnerId)}::uuid[], ${events.map((e) => e.ordinal)}::int[], ${events.map((e) => e.type)}::text[],
                      ${events.map((e) => e.entityId)}::uuid[], ${events.map((e) => e.payload)}::jsonb[])
               AS e(partner_id, ordinal, type, entity_id, payload)
          JOIN updated u ON u.partner_id = e.partner_id
          LEFT JOIN ended x ON x.partner_id = e.partner_id
        RETURNING id, partner_id, partner_sequence, type, entity_id, payload, created_at, xid
      )
      SELECT u.partner_id::text, u.currency, u.pending::text, u.payable::text, u.in_payouts::text, u.paid::text, u.lifetime_earned::text, u.event_sequence,
             (SELECT coalesce(json_agg(json_build_object('id', e.id::text, 'sequence', e.partner_sequence::text, 'type', e.type, 'entityId', e.entity_id::text,
                                                         'payload', e.payload, 'createdAt', e.created_at, 'xid', e.xid::text) ORDER BY e.partner_sequence), '[]'::json)
                FROM emitted e WHERE e.partner_id = u.partner_id) AS events
        FROM updated u ${options.last ? Prisma.sql`CROSS JOIN (SELECT set_config('plan_cache_mode', 'auto', true)) AS checks_keep_plans` : Prisma.empty}
       ORDER BY u.partner_id`;
    if (first && rows.length === 0) throw new RetryTransaction("the writes sent with the ledger's flush did not go as planned");
    if (rows.length !== partnerIds.length) {
      const found = new Set(rows.map((row) => row.partner_id));
      throw new Error(`Ledger: no balance row for partner ${partnerIds.find((id) => !found.has(id))}`);
    }
    for (const row of rows) {
      balances.set(row.partner_id, balanceFromSql(row));
      this.currencies.set(row.partner_id, row.currency);
      for (const event of row.events) {
        this.tx.events.push(
          storedEvent(
            {
              id: event.id,
              programId: this.tx.programId,
              partnerId: row.partner_id,
              partnerSequence: event.sequence,
              entityId: event.entityId,
              createdAt: new Date(event.createdAt).toISOString(),
              xid: event.xid,
            },
            event.type,
            event.payload,
          ),
        );
      }
    }
    this.deltas.clear();
    this.pending.clear();
    // Held from here to commit.
    this.lockedAtFlush.clear();
    return balances;
  }
}

/** An event as the flush's statement returns it (json: ids, sequences and xids as text). */
interface StoredEventJson {
  id: string;
  sequence: string;
  type: string;
  entityId: string;
  payload: unknown;
  createdAt: string;
  xid: string;
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
