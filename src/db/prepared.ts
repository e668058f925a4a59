import { createHash } from "node:crypto";
import { Prisma } from "../generated/prisma/client.ts";

/**
 * Put first in a raw statement whose text is one of a few (its values are
 * all parameters) and that runs on every write: on PostgreSQL it is prepared
 * once per connection under a name made from its text, so PostgreSQL parses
 * it once and may keep its plan, rather than parsing and planning its CTEs
 * for every sale. Only marked statements are named: Prisma's own vary with
 * their arguments, and a connection keeps every statement prepared on it.
 */
export const PREPARED = "/* prepared */ ";

/** PREPARED, to open a `$queryRaw` template. */
export const PREPARED_SQL = Prisma.raw(PREPARED);

/** The driver adapter's statement name for `query` (db/database.ts): none unless it is marked. */
export function preparedName(query: { sql: string }): string | undefined {
  if (!query.sql.startsWith(PREPARED)) return undefined;
  return `accrue_${createHash("sha1").update(query.sql).digest("base64url")}`;
}
