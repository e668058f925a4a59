import { Prisma } from "../generated/prisma/client.ts";
import { uuidv7 } from "../db/uuid.ts";
import { jsonText } from "./to-json.ts";
import type { Tx } from "./transact.ts";

export interface AuditInput {
  action: string;
  entityType: string;
  entityId: string;
  before?: unknown;
  after?: unknown;
  reason?: string | null;
}

/** Writes audit entries in the transaction: who did what to which record, from what to what. */
export async function audit(tx: Tx, ...entries: AuditInput[]): Promise<void> {
  if (entries.length === 0) return;
  await tx.db.$executeRaw`${auditInsert(tx, entries)}`;
}

/**
 * The INSERT of `entries`, each with a new id, noted in `tx.audited` (the
 * movement ledger links movements to them). A statement of its own in
 * `audit`; the ledger sends it within its flush (Ledger.audit).
 */
export function auditInsert(tx: Tx, entries: AuditInput[], onlyIf: Prisma.Sql = Prisma.empty): Prisma.Sql {
  const column = <K extends keyof AuditInput>(key: K) => entries.map((entry) => entry[key] ?? null);
  const json = (key: "before" | "after") => entries.map((entry) => (entry[key] == null ? null : jsonText(entry[key])));
  const ids = entries.map(() => uuidv7());
  tx.audited ??= new Map();
  for (const [i, entry] of entries.entries()) tx.audited.set(entry.entityId, ids[i]!);
  return Prisma.sql`
    INSERT INTO audit_entries (id, program_id, actor_role, actor_id, action, entity_type, entity_id, before, after, reason, created_at)
    SELECT a.id, ${tx.programId}::uuid, ${tx.actor.role}, ${tx.actor.id}, a.action, a.entity_type, a.entity_id, a.before, a.after, a.reason, ${tx.now}
      FROM unnest(${ids}::uuid[], ${column("action")}::text[], ${column("entityType")}::text[],
                  ${column("entityId")}::uuid[], ${json("before")}::jsonb[], ${json("after")}::jsonb[], ${column("reason")}::text[])
           AS a(id, action, entity_type, entity_id, before, after, reason) ${onlyIf}`;
}
