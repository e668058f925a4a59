/**
 * Reading driver errors through Prisma's wrappers. With driver adapters the
 * SQLSTATE and constraint sit at different depths depending on the call
 * (ORM call: P2034/P2002 with meta.driverAdapterError; raw query: P2010;
 * COMMIT: a bare DriverAdapterError), so these walk the chain.
 */
type Node = Record<string, unknown> | undefined;

function* chain(error: unknown): Generator<Record<string, unknown>> {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const item = queue.shift();
    if (!item || typeof item !== "object" || seen.has(item)) continue;
    seen.add(item);
    const node = item as Record<string, unknown>;
    yield node;
    const meta = node.meta as Node;
    // originalError: what a GraphQLError wraps.
    queue.push(node.cause, node.originalError, meta?.driverAdapterError, (meta?.driverAdapterError as Node)?.cause);
    // AggregateError: several failures, one of which may say what the rest do.
    if (Array.isArray(node.errors)) queue.push(...node.errors);
  }
}

const SERIALIZATION_STATES = new Set(["40001", "40P01"]);

/** A transaction lost a race (serialization failure, deadlock, write conflict): run it again. */
export function isRetryableTransactionError(error: unknown): boolean {
  for (const node of chain(error)) {
    if (node.code === "P2034") return true;
    if (node.kind === "TransactionWriteConflict") return true;
    for (const key of ["originalCode", "code"]) {
      const value = node[key];
      if (typeof value === "string" && SERIALIZATION_STATES.has(value)) return true;
    }
    if (typeof node.message === "string" && /Code: `?(40001|40P01)`?/.test(node.message)) return true;
  }
  return false;
}

/** A lock wait bounded by `SET LOCAL lock_timeout` ran out (55P03). */
export function isLockTimeout(error: unknown): boolean {
  for (const node of chain(error)) {
    if (node.originalCode === "55P03" || node.code === "55P03") return true;
    if (typeof node.message === "string" && /Code: `?55P03`?/.test(node.message)) return true;
  }
  return false;
}

/**
 * A value did not fit its column: numeric field overflow (22003), as when an
 * amount times an exchange rate, or a running balance, passes NUMERIC(19,4).
 */
export function isNumericOverflow(error: unknown): boolean {
  for (const node of chain(error)) {
    if (node.originalCode === "22003" || node.code === "22003") return true;
    if (typeof node.message === "string" && /Code: `?22003`?/.test(node.message)) return true;
  }
  return false;
}

/**
 * The constraint (index name, or its fields joined by ",") a unique violation
 * hit, or undefined when the error is no unique violation.
 */
export function uniqueViolation(error: unknown): string | undefined {
  for (const node of chain(error)) {
    if (node.kind === "UniqueConstraintViolation" || node.code === "P2002" || node.code === "23505" || node.originalCode === "23505") {
      for (const inner of chain(error)) {
        const constraint = inner.constraint as { index?: string; fields?: string[] } | undefined;
        if (constraint?.index) return constraint.index;
        if (constraint?.fields) return constraint.fields.join(",");
        const target = (inner.meta as Node)?.target;
        if (Array.isArray(target)) return target.join(",");
        if (typeof target === "string") return target;
      }
      return "";
    }
  }
  return undefined;
}

/** Driver adapter error kinds for a database that is gone or not answering. */
const UNAVAILABLE_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
/**
 * SQLSTATEs of a database that is down, restarting, overloaded or too slow:
 * class 08 (connection exceptions), 53300 too many connections, 57P01–57P03
 * shutting down / cannot connect now, 57014 statement timeout, 55P03 lock
 * timeout (a row busy for longer than lock_timeout), and 40001/40P01 once
 * the services' own retries are spent.
 */
const UNAVAILABLE_STATES = /^(08...|53300|57P0[123]|57014|55P03|40001|40P01)$/;
/** Prisma's codes for the same: can't reach (P1001), timed out (P1002, P1008), closed (P1017), no connection from the pool (P2024). */
const UNAVAILABLE_PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
/** What pg and Prisma say, unwrapped, when a connection is lost or cannot be had in time. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|encountered a connection error and is not queryable|Client was closed and is not queryable|the database did not answer within|Unable to start a transaction in the given time|A query cannot be executed on an expired transaction|Code: `?(08...|53300|57P0[123]|57014|55P03|40001|40P01)`?/;

/**
 * The database was down, dropped the connection, was too slow (a timeout of
 * DatabaseTimeouts ran out) or too busy: a condition that passes, not a
 * defect, so clients hear SERVICE_UNAVAILABLE and may retry with the same
 * idempotency key (the write either happened once or not at all).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const node of chain(error)) {
    if (typeof node.kind === "string" && UNAVAILABLE_KINDS.has(node.kind)) return true;
    if (node.kind === "TransactionWriteConflict") return true;
    for (const key of ["originalCode", "code"]) {
      const value = node[key];
      if (typeof value !== "string") continue;
      if (UNAVAILABLE_STATES.test(value) || UNAVAILABLE_PRISMA_CODES.has(value) || SOCKET_CODES.has(value)) return true;
    }
    if (typeof node.message === "string" && UNAVAILABLE_MESSAGES.test(node.message)) return true;
  }
  return false;
}
