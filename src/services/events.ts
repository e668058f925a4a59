import type { CommissionKind, CommissionStatus, PayoutMethodType, PayoutStatus } from "../generated/prisma/enums.ts";

/**
 * The events services write and what publishes them after commit. An event's
 * `type` names its payload's shape: the map below is the one place both are
 * declared, so the writer (Ledger.emit), the bus and the GraphQL feed all
 * check against it. Payloads are JSON (money and times as strings), as they
 * are stored in the event table and sent over Redis.
 */

/** A commission line as it is after the change. */
export interface CommissionPayload {
  id: string;
  partnerId: string;
  kind: CommissionKind;
  status: CommissionStatus;
  /** Past its hold when the change was made (domain/payable.ts: holdEnded; isPayable says when that makes it payable). */
  matured: boolean;
  amount: string;
  currency: string;
  conversionId: string | null;
  relatedId: string | null;
  payableAt: string;
}

/** The partner's balance after the change. */
export interface BalancePayload {
  partnerId: string;
  currency: string;
  pending: string;
  payable: string;
  inPayouts: string;
  paid: string;
  lifetimeEarned: string;
}

/** A payout as it is after the change. */
export interface PayoutPayload {
  id: string;
  partnerId: string;
  status: PayoutStatus;
  amount: string;
  currency: string;
  payableBefore: string;
  method: PayoutMethodType | null;
  reference: string | null;
  approvedAt: string | null;
  paidAt: string | null;
  cancelledAt: string | null;
}

/** Each event type and its payload. */
export interface EventPayloads {
  "commission.accrued": CommissionPayload;
  "commission.changed": CommissionPayload;
  "balance.changed": BalancePayload;
  "payout.changed": PayoutPayload;
}

export type EventType = keyof EventPayloads;

const EVENT_TYPES: Readonly<Record<EventType, true>> = { "commission.accrued": true, "commission.changed": true, "balance.changed": true, "payout.changed": true };

export const isEventType = (type: string): type is EventType => Object.hasOwn(EVENT_TYPES, type);

/** Where an event sits: who it is about, its place in the partner's sequence, when it was written. */
interface EventEnvelope {
  id: string;
  programId: string;
  partnerId: string | null;
  partnerSequence: string | null;
  entityId: string;
  createdAt: string;
  /** The writing transaction's id (pg_current_xact_id), for program-wide replay cursors. */
  xid: string;
  /** When the server saw the transaction commit (wall clock); absent for replayed events. */
  committedAt?: string;
}

/** An event of one type. */
export type EventOf<K extends EventType> = EventEnvelope & { type: K; payload: EventPayloads[K] };

/** An event row written in a transaction, published once it commits: a union discriminated by `type`. */
export type CommittedEvent = { [K in EventType]: EventOf<K> }[EventType];

/** The event of `type`, if `event` is one (narrows its payload). */
export function eventOf<K extends EventType>(event: CommittedEvent | null | undefined, type: K): EventOf<K> | null {
  return event?.type === type ? (event as EventOf<K>) : null;
}

/**
 * An event read back from the table. The table is written only by
 * Ledger.flush, from payloads checked against EventPayloads; a row of a type
 * this code does not know (written by a newer version) is refused rather than
 * sent with a shape the schema does not describe.
 */
export function storedEvent(envelope: EventEnvelope, type: string, payload: unknown): CommittedEvent {
  if (!isEventType(type)) throw new Error(`event ${envelope.id} has an unknown type ${JSON.stringify(type)}`);
  return { ...envelope, type, payload } as CommittedEvent;
}

export interface EventPublisher {
  publish(events: readonly CommittedEvent[]): void;
}
