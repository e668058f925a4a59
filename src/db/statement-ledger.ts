import { AsyncLocalStorage } from "node:async_hooks";

/**
 * What one request asked of the database: the statements Prisma sent on its
 * behalf and the rows they brought back. Kept per request (AsyncLocalStorage
 * from the HTTP handler down to the driver adapter), so the scheduler's and
 * the outbox's statements, running at the same time, are not counted in it.
 * Only when statements are counted (the N+1 tests, `countStatements`).
 */
export interface StatementLedger {
  statements: number;
  rows: number;
  /** The statements themselves, kept while a tap listens (the plan test EXPLAINs them). */
  queries?: { sql: string; args: unknown[] }[];
}

/** Called with each counted request's ledger when its answer is written (tests only). */
export const ledgerTaps = new Set<(ledger: StatementLedger) => void>();

const current = new AsyncLocalStorage<StatementLedger>();

/** Runs `work` with its statements counted in `ledger`. */
export function runWithLedger<T>(ledger: StatementLedger, work: () => T): T {
  return current.run(ledger, work);
}

/** Counts a statement sent for the current request (also those sent without Prisma: Database.sqlTransaction). */
export function countStatement(rows: number, sql: string, args: unknown[]): void {
  const ledger = current.getStore();
  if (!ledger) return;
  ledger.statements += 1;
  ledger.rows += rows;
  ledger.queries?.push({ sql, args });
}

function record(rows: number, query: unknown): void {
  const { sql, args } = query as { sql: string; args: unknown[] };
  countStatement(rows, sql, args);
}

type ResultSet = { rows: unknown[] };
type Queryable = {
  queryRaw(query: unknown): Promise<ResultSet>;
  executeRaw(query: unknown): Promise<number>;
};

/** Counts every statement sent through `target` (an adapter or one of its transactions). */
function counted<T extends Queryable & { startTransaction?: (...args: unknown[]) => Promise<Queryable> }>(target: T): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (property === "queryRaw") {
        return async (query: unknown) => {
          const result = await object.queryRaw(query);
          record(result.rows.length, query);
          return result;
        };
      }
      if (property === "executeRaw") {
        return async (query: unknown) => {
          const affected = await object.executeRaw(query);
          record(0, query);
          return affected;
        };
      }
      if (property === "startTransaction") {
        return async (...args: unknown[]) => counted((await object.startTransaction!(...args)) as never);
      }
      return (value as (...args: unknown[]) => unknown).bind(object);
    },
  });
}

/** A driver adapter factory whose adapters count into the current request's ledger. */
export function ledgerCountingAdapter<F extends { connect(): Promise<unknown> }>(factory: F): F {
  return new Proxy(factory, {
    get(object, property, receiver) {
      if (property === "connect") return async () => counted((await object.connect()) as never);
      const value = Reflect.get(object, property, receiver) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}

/** Response headers that carry a request's ledger to the tests. */
export const LEDGER_HEADERS = { statements: "x-accrue-statements", rows: "x-accrue-rows" } as const;

/**
 * Serves one HTTP request with a ledger of its own, and reports it in the
 * response's headers (LEDGER_HEADERS), written when the answer is: by then
 * every statement of a query has been sent.
 */
export function handleCounted(res: import("node:http").ServerResponse, work: () => unknown): unknown {
  const ledger: StatementLedger = { statements: 0, rows: 0, ...(ledgerTaps.size ? { queries: [] } : {}) };
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => unknown;
  (res as { writeHead: unknown }).writeHead = (...args: unknown[]) => {
    res.setHeader(LEDGER_HEADERS.statements, String(ledger.statements));
    res.setHeader(LEDGER_HEADERS.rows, String(ledger.rows));
    for (const tap of ledgerTaps) tap(ledger);
    return writeHead(...args);
  };
  return runWithLedger(ledger, work);
}
