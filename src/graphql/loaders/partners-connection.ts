import { isThenable } from "@pothos/core";
import type { GraphQLResolveInfo } from "graphql";
import type { Context } from "../../context.ts";
import { NO_PROGRAM } from "../../context.ts";
import { readRows } from "../../db/sql-read.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import { keepLines, linesAhead, linesColumn } from "./lines-ahead.ts";
import { type ConnectionArgs, type PageWindow, pageWindow, planNodeSelection, type Row, RowConnection, type Selection, selectionShape } from "./row-connection.ts";

/**
 * `Query.partners` as a connection of our own (row-connection.ts), in place
 * of plugin-prisma's `prismaConnection`. When the partners' selection is
 * plain (every node field reads the row's own columns, or has a loader of
 * its own like `commissions`) and the list is neither filtered nor sorted,
 * the page is one hand-written statement sent without Prisma
 * (db/sql-read.ts): the statement Prisma's client sends for the same
 * `findMany`, with the tenancy the scoped client adds to a Partner read
 * (program_id; a partner token's own row only: src/db/tenant-scope.ts), and
 * no selection planned (`queryFromInfo`). Anything else (a relation or a field with a `select`
 * among the nodes, a filter, a sort, a cursor that holds no uuid) is
 * answered as plugin-prisma answered it: its planned selection and the
 * scoped client's `findMany`.
 *
 * What a client sees is plugin-prisma's either way: the same arguments and
 * errors (`pageWindow`), the same order, cursors (`formatPrismaCursor` on
 * `id`), pageInfo (`wrapConnectionResult`) and `totalCount` (counted only
 * when selected, by the scoped client).
 */

/**
 * Every column of a partner's row as Prisma's client returns it (uuids and
 * the status as text), by field name: a node field reads the row itself, so
 * the page must hold them all. test/api/sql-reads.test.ts holds this to the
 * Prisma datamodel's fields of Partner.
 */
export const PARTNER_COLUMNS: Readonly<Record<string, string>> = {
  id: "p.id::text",
  programId: "p.program_id::text",
  externalId: "p.external_id",
  email: "p.email",
  name: "p.name",
  status: "p.status::text",
  country: "p.country",
  commissionRuleOverride: "p.commission_rule_override",
  accountingVendorId: "p.accounting_vendor_id",
  accountingVendorName: "p.accounting_vendor_name",
  createdAt: "p.created_at",
  updatedAt: "p.updated_at",
};

// Field names and columns come from PARTNER_COLUMNS, never from a request.
const SELECT_LIST = Prisma.raw(
  Object.entries(PARTNER_COLUMNS)
    .map(([field, column]) => `${column} AS "${field}"`)
    .join(", "),
);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The page as Prisma's client reads it for the scoped `findMany({ take,
 * skip, cursor, orderBy: [{ id: "desc" }] })`: every column of the row (as
 * its include mode loads them), its cursor as a subselect on `id` alone, a
 * backward page read in the opposite order (and turned round here).
 */
function readPage(ctx: Context, window: PageWindow, linesWindow: PageWindow | undefined): Promise<Row[]> {
  const programId = ctx.actor?.programId ?? NO_PROGRAM;
  const partnerId = ctx.actor?.partnerId;
  const backward = window.take < 0;
  const own = partnerId ? Prisma.sql` AND p.id = ${partnerId}::uuid` : Prisma.empty;
  const cursor = window.cursor ? Prisma.sql` AND p.id ${Prisma.raw(backward ? ">=" : "<=")} (SELECT c.id FROM partners c WHERE c.id = ${window.cursor.id}::uuid)` : Prisma.empty;
  // Each partner's page of lines in the same statement, when the nodes ask for it plainly (lines-ahead.ts).
  const lines = linesWindow ? Prisma.sql`, ${linesColumn(ctx, linesWindow)} AS lines` : Prisma.empty;
  return readRows<Row>(
    ctx.deps,
    ctx.db,
    Prisma.sql`SELECT ${SELECT_LIST}${lines}
      FROM partners p
     WHERE p.program_id = ${programId}::uuid${own}${cursor}
     ORDER BY p.id ${Prisma.raw(backward ? "ASC" : "DESC")} LIMIT ${Math.abs(window.take)} OFFSET ${window.skip ?? 0}`,
  ).then((list) => {
    if (linesWindow) keepLines(ctx, linesWindow, list);
    return backward ? list.reverse() : list;
  });
}

export interface PartnersOptions {
  /** Neither filtered nor sorted: the order is `id` descending over the tenant's rows. */
  unfiltered: boolean;
  /** The scoped client's read of a page, given plugin-prisma's query (selection, take, skip, cursor). */
  findMany(query: Selection): Promise<Row[]>;
  count(): Promise<number>;
}

/** `Query.partners`. */
export function resolvePartners(ctx: Context, info: GraphQLResolveInfo, args: ConnectionArgs, options: PartnersOptions): Promise<RowConnection> {
  const shape = selectionShape(info);
  const fast = shape.plain && options.unfiltered;
  // As prismaConnection: the selection is planned before the arguments are read.
  const selection = shape.countOnly || fast ? undefined : planNodeSelection(ctx, info, "Partner");
  try {
    const window = pageWindow(args);
    const connection = new RowConnection(args, options.count);
    if (shape.countOnly) return Promise.resolve(connection.page([], window.take));
    if (fast && (!window.cursor || (typeof window.cursor.id === "string" && UUID.test(window.cursor.id)))) {
      return readPage(ctx, window, linesAhead(ctx, info)).then((rows) => connection.page(rows, window.take));
    }
    const load = (resolved: Selection) => options.findMany({ ...resolved, ...window }).then((rows) => connection.page(rows, window.take));
    const planned = selection ?? planNodeSelection(ctx, info, "Partner");
    return isThenable(planned) ? planned.then(load) : load(planned);
  } catch (error) {
    // plugin-prisma refused bad arguments from a promise: the same here, so errors come in the same order.
    return Promise.reject(error);
  }
}
