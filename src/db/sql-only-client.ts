import type { SqlTransaction } from "./database.ts";
import { Prisma, type ScopedTransaction } from "./tenant-scope.ts";

/**
 * A transaction client with `$queryRaw` and `$executeRaw` only, sent on
 * `sql`'s connection (results as pg reads them: json parsed, numeric and
 * bigint as text, times as Date); any other member is a defect of a
 * service that claimed `sqlOnly`, and says so.
 */
export function sqlOnlyClient(sql: SqlTransaction): ScopedTransaction {
  const statement = (first: TemplateStringsArray | Prisma.Sql, values: unknown[]) => {
    const query = first instanceof Prisma.Sql ? first : Prisma.sql(first, ...values);
    return { text: query.text, values: query.values };
  };
  const client = {
    $queryRaw: async (first: TemplateStringsArray | Prisma.Sql, ...values: unknown[]) => (await sql.run(statement(first, values))).rows,
    $executeRaw: async (first: TemplateStringsArray | Prisma.Sql, ...values: unknown[]) => (await sql.run(statement(first, values))).rowCount,
  };
  return new Proxy(client, {
    get(target, property) {
      if (property in target) return target[property as keyof typeof client];
      if (property === "then" || typeof property === "symbol") return undefined;
      throw new Error(`this transaction sends SQL alone (transact's sqlOnly): tx.db.${property} is not available`);
    },
  }) as unknown as ScopedTransaction;
}
