import type { Database, PrismaClient } from "../db/database.ts";
import { batchPerTurn } from "../db/batch-per-turn.ts";
import { readRows } from "../db/sql-read.ts";
import { Prisma } from "../generated/prisma/client.ts";

export interface PartnerKey {
  programId: string;
  partnerId: string;
}

/**
 * A partner's last committed event sequence (`balances.event_sequence`,
 * written under the partner's lock with its events), or null for no partner
 * of that program. What a feed starts from and what a cursor is checked
 * against; read for every subscriber that starts in the same turn at once,
 * each key naming its program. Without Prisma where the database offers it
 * (`sqlReads`: a reconnect storm sends hundreds of these, and Prisma's own
 * work per statement was most of their cost).
 */
export function createPartnerSequences(prisma: PrismaClient, sqlReads?: Pick<Database, "sqlRead">): (key: PartnerKey) => Promise<bigint | null> {
  return batchPerTurn<PartnerKey, bigint | null>(async (keys) => {
    const programIds = keys.map((key) => key.programId.toLowerCase());
    const partnerIds = keys.map((key) => key.partnerId.toLowerCase());
    const rows = await readRows<{ program_id: string; partner_id: string; event_sequence: bigint | string }>(
      { sqlReads },
      prisma,
      Prisma.sql`
      SELECT b.program_id::text, b.partner_id::text, b.event_sequence
        FROM unnest(${programIds}::uuid[], ${partnerIds}::uuid[]) AS k(program_id, partner_id)
        JOIN balances b ON b.program_id = k.program_id AND b.partner_id = k.partner_id`,
    );
    const found = new Map(rows.map((row) => [`${row.program_id}/${row.partner_id}`, BigInt(row.event_sequence)]));
    return keys.map((_key, i) => found.get(`${programIds[i]}/${partnerIds[i]}`) ?? null);
  });
}
