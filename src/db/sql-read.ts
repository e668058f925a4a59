import type { Prisma } from "../generated/prisma/client.ts";
import type { ServiceDeps } from "../services/deps.ts";

/**
 * Rows of one hand-written read: without Prisma on PostgreSQL
 * (Database.sqlRead: the same pool, tags, timeouts, ledger and errors, none
 * of Prisma's per-query work), through `db.$queryRaw` where there is no such
 * path (the embedded database, tests' own deps). The statement carries its
 * tenancy itself, as every raw statement must (test/db/raw-sql-tenancy.test.ts).
 */
export function readRows<T>(deps: Pick<ServiceDeps, "sqlReads">, db: { $queryRaw<R>(query: Prisma.Sql): Prisma.PrismaPromise<R> }, query: Prisma.Sql): Promise<T[]> {
  const read = deps.sqlReads?.sqlRead;
  if (read) return read.call(deps.sqlReads, { text: query.text, values: query.values }) as Promise<T[]>;
  return db.$queryRaw<T[]>(query);
}
