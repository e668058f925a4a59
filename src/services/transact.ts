import { isNumericOverflow, isRetryableTransactionError } from "../db/errors.ts";
import { sqlOnlyClient } from "../db/sql-only-client.ts";
import type { ScopedTransaction } from "../db/tenant-scope.ts";
import { Forbidden, userError, UserErrorsThrown, type Result } from "../domain/errors.ts";
import type { Actor, ServiceDeps } from "./deps.ts";
import type { CommittedEvent } from "./events.ts";

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

export interface TransactOptions {
  isolationLevel?: "ReadCommitted" | "RepeatableRead" | "Serializable";
  /** Attempts when the transaction loses a race (serialization failure, deadlock). */
  attempts?: number;
  timeoutMs?: number;
  /**
   * The work sends SQL alone (`tx.db.$queryRaw` and `$executeRaw`, never a
   * model method): on PostgreSQL it then runs on a pool connection without
   * Prisma's interactive transaction (Database.sqlTransaction), whose
   * bookkeeping cost more than the SQL on the single-sale path. The
   * embedded database, and a partner acting (whose status is read through
   * the model first), take Prisma's. The default isolation level only.
   */
  sqlOnly?: boolean;
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
export async function transact<T>(deps: ServiceDeps, actor: Actor, work: (tx: Tx) => Promise<T>, options: TransactOptions = {}): Promise<Result<T>> {
  const attempts = options.attempts ?? 5;
  const timeout = options.timeoutMs ?? 15_000;
  const sqlTransaction = options.sqlOnly && !options.isolationLevel && actor.role !== "partner" ? deps.sqlTransactions?.sqlTransaction : undefined;
  for (let attempt = 1; ; attempt += 1) {
    let events: CommittedEvent[] = [];
    const inTransaction = async (db: ScopedTransaction) => {
      const tx: Tx = { db, now: deps.clock.now(), actor, programId: actor.programId, events: [] };
      if (actor.role === "partner") await assertPartnerMayAct(tx);
      const result = await work(tx);
      events = tx.events;
      return result;
    };
    try {
      const value = sqlTransaction
        ? await sqlTransaction((sql) => inTransaction(sqlOnlyClient(sql)), { timeoutMs: timeout })
        : await deps.tenant(actor.programId).$transaction(
            inTransaction,
            // No isolation level means PostgreSQL's default, READ COMMITTED, without
            // the extra SET TRANSACTION statement Prisma sends when one is named.
            // How long a transaction may wait to start is the client's
            // (DATABASE_TRANSACTION_START_TIMEOUT_MS, see db/database.ts).
            { ...(options.isolationLevel ? { isolationLevel: options.isolationLevel } : {}), timeout },
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
