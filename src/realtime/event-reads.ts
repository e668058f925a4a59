import type { ScopedPrisma } from "../db/tenant-scope.ts";
import { storedEvent, type CommittedEvent } from "../services/events.ts";

/** Events read from the table a page at a time (the feeds' replay and catch-up). */
export const PAGE = 200;

export type EventRow = {
  id: bigint;
  program_id: string;
  partner_id: string | null;
  partner_sequence: bigint | null;
  type: string;
  entity_id: string;
  payload: unknown;
  created_at: Date;
  xid: string;
};

export function committed(row: EventRow): CommittedEvent {
  const envelope = {
    id: row.id.toString(),
    programId: row.program_id,
    partnerId: row.partner_id,
    partnerSequence: row.partner_sequence?.toString() ?? null,
    entityId: row.entity_id,
    createdAt: new Date(row.created_at).toISOString(),
    xid: row.xid,
  };
  return storedEvent(envelope, row.type, row.payload);
}

/**
 * One partner's events with sequences lo..hi (inclusive), in order, a page at
 * a time. Callers only ask for ranges below a sequence known to be committed:
 * those are all committed (each waited for the previous one's lock), so the
 * range has no holes.
 */
export async function* range(db: ScopedPrisma, programId: string, partnerId: string, lo: bigint, hi: bigint): AsyncGenerator<CommittedEvent> {
  for (let from = lo; from <= hi; from += BigInt(PAGE)) {
    const to = from + BigInt(PAGE) - 1n < hi ? from + BigInt(PAGE) - 1n : hi;
    const rows = await db.$queryRaw<EventRow[]>`
      SELECT id, program_id::text, partner_id::text, partner_sequence, type, entity_id::text, payload, created_at, xid::text
        FROM events
       WHERE program_id = ${programId}::uuid AND partner_id = ${partnerId}::uuid
         AND partner_sequence BETWEEN ${from.toString()}::bigint AND ${to.toString()}::bigint
       ORDER BY partner_sequence`;
    for (const row of rows) yield committed(row);
  }
}
