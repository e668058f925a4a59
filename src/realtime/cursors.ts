import type { ScopedPrisma } from "../db/tenant-scope.ts";

export interface ProgramCursor {
  /** The program whose feed handed it out. */
  g: string;
  /** Watermark: every event of a transaction below it was delivered. */
  w: string;
  /** Per partner with an event delivered at or above the watermark, the last sequence delivered. */
  p: Record<string, string>;
}

export interface PartnerCursor {
  partnerId: string;
  /** The last sequence delivered. */
  sequence: bigint;
}

/** Sequences and transaction ids are PostgreSQL bigints: a cursor naming a larger number names nothing. */
const MAX_BIGINT = 2n ** 63n - 1n;
const bigintOf = (digits: string): bigint | undefined => (/^\d{1,19}$/.test(digits) && BigInt(digits) <= MAX_BIGINT ? BigInt(digits) : undefined);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Versioned, and naming its partner: cursors of the earlier format
 * (`partner:<n>`) named a sequence of no partner in particular, so one of
 * another partner's feed, or one past the partner's last event, silently
 * swallowed live events; they are refused.
 */
const PARTNER_CURSOR = "partner:2:";

export function encodePartnerCursor(partnerId: string, sequence: bigint): string {
  return Buffer.from(`${PARTNER_CURSOR}${partnerId}:${sequence}`).toString("base64url");
}

export function decodePartnerCursor(cursor: string): PartnerCursor | undefined {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  if (!text.startsWith(PARTNER_CURSOR)) return undefined;
  const [partnerId, digits, ...rest] = text.slice(PARTNER_CURSOR.length).split(":");
  if (rest.length > 0 || !partnerId || !UUID.test(partnerId) || digits === undefined) return undefined;
  const sequence = bigintOf(digits);
  return sequence === undefined ? undefined : { partnerId, sequence };
}

/**
 * Versioned: cursors of the first program feed (`program:{…}`) could name a
 * watermark past events never delivered, and those of the second
 * (`program:2:`) named no program; both are refused.
 */
const PROGRAM_CURSOR = "program:3:";

export function encodeProgramCursor(cursor: ProgramCursor): string {
  return Buffer.from(`${PROGRAM_CURSOR}${JSON.stringify(cursor)}`).toString("base64url");
}

export function decodeProgramCursor(cursor: string): ProgramCursor | undefined {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  if (!text.startsWith(PROGRAM_CURSOR)) return undefined;
  try {
    const parsed = JSON.parse(text.slice(PROGRAM_CURSOR.length)) as ProgramCursor;
    if (typeof parsed !== "object" || parsed === null) return undefined;
    if (typeof parsed.g !== "string" || !UUID.test(parsed.g)) return undefined;
    if (typeof parsed.w !== "string" || bigintOf(parsed.w) === undefined || typeof parsed.p !== "object" || parsed.p === null || Array.isArray(parsed.p)) return undefined;
    for (const [id, seq] of Object.entries(parsed.p)) if (!UUID.test(id) || typeof seq !== "string" || bigintOf(seq) === undefined) return undefined;
    return parsed;
  } catch {
    return undefined;
  }
}

/** Why a well-formed cursor cannot resume this feed (null when it can). */
export type CursorProblem = { code: "INVALID_CURSOR"; message: string } | null;

/**
 * A partner feed's cursor must be of that partner's feed and name a sequence
 * the partner has reached: a cursor ahead of the partner would count events
 * not yet written as delivered, and swallow them when they come.
 */
export async function partnerCursorProblem(partnerSequence: (partnerId: string) => Promise<bigint | null>, partnerId: string, cursor: PartnerCursor): Promise<CursorProblem> {
  if (cursor.partnerId !== partnerId) return { code: "INVALID_CURSOR", message: "after is a cursor of another partner's feed" };
  const last = (await partnerSequence(partnerId)) ?? 0n;
  if (cursor.sequence > last) return { code: "INVALID_CURSOR", message: `after names event ${cursor.sequence}, past the partner's last event (${last})` };
  return null;
}

/**
 * A program feed's cursor must be of this program's feed, its watermark no
 * later than the next transaction id, and each partner it names one of the
 * program's, at a sequence that partner has reached.
 */
export async function programCursorProblem(db: ScopedPrisma, programId: string, cursor: ProgramCursor): Promise<CursorProblem> {
  if (cursor.g !== programId) return { code: "INVALID_CURSOR", message: "after is a cursor of another program's feed" };
  const ids = Object.keys(cursor.p);
  const [row] = await db.$queryRaw<{ next: string; wrong: bigint }[]>`
    SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS next,
           (SELECT count(*) FROM unnest(${ids}::uuid[], ${ids.map((id) => cursor.p[id]!)}::bigint[]) AS k(pid, seq)
              LEFT JOIN balances b ON b.partner_id = k.pid AND b.program_id = ${programId}::uuid
             WHERE b.partner_id IS NULL OR k.seq > b.event_sequence) AS wrong`;
  if (BigInt(cursor.w) > BigInt(row!.next)) return { code: "INVALID_CURSOR", message: "after names a point past the program's last event" };
  if (Number(row!.wrong) > 0) return { code: "INVALID_CURSOR", message: "after names a partner the program does not have, or an event past a partner's last" };
  return null;
}
