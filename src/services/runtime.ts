import type { Clock } from "../clock.ts";
import type { Database, PrismaClient } from "../db/database.ts";
import { isNumericOverflow, isRetryableTransactionError } from "../db/errors.ts";
import { uuidv7 } from "../db/uuid.ts";
import { scopeToTenant, type ScopedPrisma, type ScopedTransaction } from "../db/tenant-scope.ts";
import { Forbidden, userError, UserErrorsThrown, type Result } from "../domain/errors.ts";
import type { Logger } from "../logger.ts";
import type { TokenClaims } from "../auth/sign-token.ts";
import type { Role } from "../auth/viewer.ts";
import type { SecretBox } from "../crypto/secret-box.ts";
import type { QuickBooksClient } from "../integrations/quickbooks/client.ts";
import type { PaymentRails } from "../integrations/payments/payment-rails.ts";

/** Who a service acts for: a token's role and subject, or the system (jobs). */
export interface Actor {
  role: Role | "system";
  id: string;
  programId: string;
  /** Set when a partner acts for itself. */
  partnerId?: string;
}

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

/** Signs our own HS256 tokens (integration tokens). */
export interface TokenSigner {
  sign(claims: TokenClaims, times: { issuedAt: Date; expiresAt: Date }): Promise<string>;
}

export interface ServiceDeps {
  prisma: PrismaClient;
  /** Locks the database frees with the holder's connection (a payout run's idempotency key). */
  locks: Pick<Database, "tryLock">;
  /** Seals bank and tax numbers at rest (ACCRUE_ENCRYPTION_KEY). */
  secrets: SecretBox;
  /** Absent when accrue has no HS256 secret. */
  tokens?: TokenSigner;
  clock: Clock;
  logger: Logger;
  events: EventPublisher;
  /** The accounting system's client (QuickBooks Online). */
  quickbooks?: QuickBooksClient;
  /** Connectors to the payment rails (PayPal Payouts, Wise, Stripe Connect). */
  paymentRails?: PaymentRails;
  /** 1099-NEC thresholds by tax year (USD), when configured; the defaults otherwise. */
  tax1099Thresholds?: Readonly<Record<number, string>>;
  /** A client scoped to one program, or one partner of it (cached). */
  tenant(programId: string, partnerId?: string): ScopedPrisma;
}

/** What a service's transaction works with. */
export interface Tx {
  db: ScopedTransaction;
  /** "Now" for everything in this transaction, read once from the clock. */
  now: Date;
  actor: Actor;
  programId: string;
  /** Events written so far; published after commit. */
  events: CommittedEvent[];
  /** The last audit entry written so far for each record (entity id → entry id), for the movement ledger's links. */
  audited?: Map<string, string>;
}

export function createTenantCache(prisma: PrismaClient, max = 1000) {
  const cache = new Map<string, ScopedPrisma>();
  return (programId: string, partnerId?: string): ScopedPrisma => {
    const key = partnerId ? `${programId}/${partnerId}` : programId;
    let client = cache.get(key);
    if (!client) {
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      client = scopeToTenant(prisma, { programId, partnerId });
      cache.set(key, client);
    }
    return client;
  };
}

export interface TransactOptions {
  isolationLevel?: "ReadCommitted" | "RepeatableRead" | "Serializable";
  /** Attempts when the transaction loses a race (serialization failure, deadlock). */
  attempts?: number;
  timeoutMs?: number;
}

/**
 * Thrown inside a transaction that found a concurrent writer's row (for
 * example an idempotency key inserted meanwhile): the transaction is rolled
 * back and run again, and then sees that row.
 */
export class RetryTransaction extends Error {
  override name = "RetryTransaction";
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `work` in one transaction on the actor's program. A UserErrorsThrown
 * rolls it back and becomes a failed Result, as does a numeric overflow
 * (INVALID_AMOUNT); a lost race is retried with
 * jittered backoff; any other error propagates: a database that is down or
 * too slow reaches clients as SERVICE_UNAVAILABLE (graphql/error-codes.ts),
 * anything else is masked as a defect.
 * Events written inside are published only after the commit.
 */
export async function transact<T>(
  deps: ServiceDeps,
  actor: Actor,
  work: (tx: Tx) => Promise<T>,
  options: TransactOptions = {},
): Promise<Result<T>> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt += 1) {
    let events: CommittedEvent[] = [];
    try {
      const value = await deps.tenant(actor.programId).$transaction(
        async (db) => {
          const tx: Tx = { db, now: deps.clock.now(), actor, programId: actor.programId, events: [] };
          if (actor.role === "partner") await assertPartnerMayAct(tx);
          const result = await work(tx);
          events = tx.events;
          return result;
        },
        // No isolation level means PostgreSQL's default, READ COMMITTED, without
        // the extra SET TRANSACTION statement Prisma sends when one is named.
        // How long a transaction may wait to start is the client's
        // (DATABASE_TRANSACTION_START_TIMEOUT_MS, see db/database.ts).
        { ...(options.isolationLevel ? { isolationLevel: options.isolationLevel } : {}), timeout: options.timeoutMs ?? 15_000 },
      );
      if (events.length > 0) {
        const committedAt = new Date().toISOString();
        deps.events.publish(events.map((event) => ({ ...event, committedAt })));
      }
      return { ok: true, value };
    } catch (error) {
      if (error instanceof UserErrorsThrown) return { ok: false, errors: error.errors };
      // Each amount is checked alone; products and sums can still pass what
      // NUMERIC(19,4) holds. The database refuses, the transaction is rolled
      // back, and the caller hears why instead of an internal error.
      if (isNumericOverflow(error)) return { ok: false, errors: [userError("INVALID_AMOUNT", "the amount is more than the ledger can hold")] };
      if (attempt < attempts && (error instanceof RetryTransaction || isRetryableTransactionError(error))) {
        await sleep(Math.random() * 10 * 2 ** attempt);
        continue;
      }
      throw error;
    }
  }
}

/**
 * Only an ACTIVE partner changes anything for itself (README, "Archived and
 * suspended partners"): a suspended one is under review, an archived one has
 * left, and neither may move money out or change where it goes. Both still
 * read their own records; operators still act for them. Every write a
 * partner makes runs in `transact`, so the rule holds for each of them.
 */
async function assertPartnerMayAct(tx: Tx): Promise<void> {
  assertActive(await tx.db.partner.findUnique({ where: { id: tx.actor.partnerId! }, select: { status: true } }));
}

function assertActive(partner: { status: string } | null): void {
  if (partner?.status !== "ACTIVE") {
    throw new Forbidden(`This partner is ${partner?.status.toLowerCase() ?? "unknown"}: its records are read-only.`);
  }
}

/**
 * The same rule for a service that reads input or asks another system
 * (a payment provider) before its transaction: a partner that may not act
 * is refused first, so its input is never checked and no provider hears of
 * it. The transaction checks again (the status may change in between).
 */
export async function assertPartnerMayActNow(deps: ServiceDeps, actor: Actor): Promise<void> {
  if (actor.role !== "partner") return;
  assertActive(await deps.tenant(actor.programId).partner.findUnique({ where: { id: actor.partnerId! }, select: { status: true } }));
}

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
  const column = <K extends keyof AuditInput>(key: K) => entries.map((entry) => entry[key] ?? null);
  const json = (key: "before" | "after") => entries.map((entry) => (entry[key] == null ? null : JSON.stringify(toJson(entry[key]))));
  const ids = entries.map(() => uuidv7());
  tx.audited ??= new Map();
  for (const [i, entry] of entries.entries()) tx.audited.set(entry.entityId, ids[i]!);
  await tx.db.$executeRaw`
    INSERT INTO audit_entries (id, program_id, actor_role, actor_id, action, entity_type, entity_id, before, after, reason, created_at)
    SELECT a.id, ${tx.programId}::uuid, ${tx.actor.role}, ${tx.actor.id}, a.action, a.entity_type, a.entity_id, a.before, a.after, a.reason, ${tx.now}
      FROM unnest(${ids}::uuid[], ${column("action")}::text[], ${column("entityType")}::text[],
                  ${column("entityId")}::uuid[], ${json("before")}::jsonb[], ${json("after")}::jsonb[], ${column("reason")}::text[])
           AS a(id, action, entity_type, entity_id, before, after, reason)`;
}

/**
 * JSON for audit and event payloads: Decimals become their toJSON strings
 * (money here has at most 4 places, never exponent notation), Dates ISO
 * strings, BigInts decimal strings; undefined stays out.
 */
export function toJson(value: unknown): any {
  if (value === undefined || value === null) return undefined;
  return JSON.parse(JSON.stringify(value, (_key, inner: unknown) => (typeof inner === "bigint" ? inner.toString() : inner)));
}
