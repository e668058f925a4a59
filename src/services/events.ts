/** The events services write and what publishes them after commit. */

/** An event row written in a transaction, published once it commits. */
export interface CommittedEvent {
  id: string;
  programId: string;
  partnerId: string | null;
  partnerSequence: string | null;
  type: string;
  entityId: string;
  payload: unknown;
  createdAt: string;
  /** The writing transaction's id (pg_current_xact_id), for program-wide replay cursors. */
  xid: string;
  /** When the server saw the transaction commit (wall clock); absent for replayed events. */
  committedAt?: string;
}

export interface EventPublisher {
  publish(events: readonly CommittedEvent[]): void;
}
