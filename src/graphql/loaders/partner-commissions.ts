import DataLoader from "dataloader";
import type { Context } from "../../context.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import { NO_PROGRAM } from "../../context.ts";
import { readRows } from "../../db/sql-read.ts";
import { type CommissionListFilter, commissionFilterSql } from "../../services/commissions/commission-filter.ts";
import type { PageWindow, Selection } from "./row-connection.ts";

/**
 * `Partner.commissions` for a page of partners in one statement, whatever
 * the page size: each partner's page (a LATERAL subquery per partner with its
 * own LIMIT, on the (program_id, partner_id, id) index) with the columns the
 * query selects. When the selection names more than plain columns (a
 * relation, a field that selects one), the statement reads the ids only and
 * a second one loads those rows with the selection plugin-prisma planned.
 *
 * Prisma's own nested load (an `include` on the partners' query) read every
 * line of every partner on the page, all columns, without program_id (so no
 * index applied), and cut the pages in JavaScript. The first statement here
 * carries what the tenant-scoped client adds to a Commission read (see
 * src/db/tenant-scope.ts): program_id, and partner_id for partner tokens;
 * the second goes through the scoped client itself.
 */

/** What the tenant-scoped client adds to a Commission read, as SQL (on `c`). */
export function linesTenancy(ctx: Context): Prisma.Sql {
  const programId = ctx.actor?.programId ?? NO_PROGRAM;
  const partnerId = ctx.actor?.partnerId;
  return partnerId ? Prisma.sql`c.program_id = ${programId}::uuid AND c.partner_id = ${partnerId}::uuid` : Prisma.sql`c.program_id = ${programId}::uuid`;
}

/**
 * Where a page of lines starts (on `c`): newest first (id desc, uuid v7) from
 * its cursor, or towards newer lines for a backward page; the cursor's own
 * line is left out when the window skips it.
 */
export function linesAfterCursor(window: PageWindow): Prisma.Sql {
  if (!window.cursor) return Prisma.empty;
  const compare = window.take < 0 ? (window.skip ? ">" : ">=") : window.skip ? "<" : "<=";
  return Prisma.sql` AND c.id ${Prisma.raw(compare)} ${window.cursor.id}::uuid`;
}

/**
 * The Commission fields a page reads in its one statement, with their
 * columns (uuids as text, as Prisma returns them). Commission is in
 * plugin-prisma's select mode, so the planned selection names the fields the
 * query needs; one outside this list sends the page through Prisma instead.
 */
const PAGE_COLUMNS: Readonly<Record<string, string>> = {
  id: "l.id::text",
  partnerId: "l.partner_id::text",
  conversionId: "l.conversion_id::text",
  reversalId: "l.reversal_id::text",
  relatedId: "l.related_id::text",
  kind: "l.kind::text",
  status: "l.status::text",
  // As text, not a Decimal per row: moneyOf formats the text (formatAmountText).
  amount: "l.amount::text",
  currency: "l.currency",
  tierSequence: "l.tier_sequence",
  occurredAt: "l.occurred_at",
  payableAt: "l.payable_at",
  heldFromStatus: "l.held_from_status::text",
  statusReason: "l.status_reason",
  reasonCode: "l.reason_code",
  note: "l.note",
  createdBy: "l.created_by",
  paidAt: "l.paid_at",
  createdAt: "l.created_at",
  updatedAt: "l.updated_at",
};

/** The SELECT list for a selection of plain columns only, or undefined. */
function pageColumns(selection: Selection): Prisma.Sql | undefined {
  const select = selection.select as Record<string, unknown> | undefined;
  if (!select || selection.include || Object.keys(selection).some((key) => key !== "select")) return undefined;
  const fields = Object.keys(select);
  if (!fields.every((field) => select[field] === true && Object.hasOwn(PAGE_COLUMNS, field))) return undefined;
  // The id, and the partner each line's page is for: the rows are grouped by it, and it is a
  // column of the row like any other (a column named for the grouping alone would have to be
  // deleted from each row, which turns every row into a slow dictionary object).
  for (const always of ["id", "partnerId"]) if (!fields.includes(always)) fields.push(always);
  // Field names and columns come from PAGE_COLUMNS, never from the request.
  return Prisma.raw(fields.map((field) => `${PAGE_COLUMNS[field]} AS "${field}"`).join(", "));
}

const selectionKeys = new WeakMap<Selection, string>();

/** A selection as a grouping key; one field's partners share one planned object (partner-lines-connection.ts), stringified once. */
function selectionKey(selection: Selection): string {
  let key = selectionKeys.get(selection);
  if (key === undefined) selectionKeys.set(selection, (key = JSON.stringify(selection)));
  return key;
}

interface PageKey {
  partnerId: string;
  window: PageWindow;
  /** plugin-prisma's select or include for the nodes; one object for every partner of one field in one request when it can be shared. */
  selection: Selection;
}

function createPageLoader(ctx: Context, filter: CommissionListFilter | null | undefined) {
  const filterSql = commissionFilterSql(filter, ctx.deps.clock.now());
  return new DataLoader<PageKey, unknown[], string>(
    async (keys) => {
      // Partners of one field share a window and a selection; anything else gets a batch of its own.
      const groups = new Map<string, PageKey[]>();
      for (const key of keys) {
        const group = `${key.window.take}|${key.window.skip ?? 0}|${key.window.cursor?.id ?? ""}|${selectionKey(key.selection)}`;
        const list = groups.get(group) ?? [];
        list.push(key);
        groups.set(group, list);
      }
      const pages = new Map<PageKey, unknown[]>();
      // Groups (aliases with their own selection or window) load side by side, not one after another.
      await Promise.all(
        [...groups.values()].map(async (group) => {
          const { window, selection } = group[0]!;
          const backward = window.take < 0;
          const limit = Math.abs(window.take);
          // Newest first (id desc, uuid v7); a backward page reads towards newer lines and is turned round.
          const cursor = linesAfterCursor(window);
          const order = backward ? Prisma.raw("ASC") : Prisma.raw("DESC");
          const partnerIds = [...new Set(group.map((key) => key.partnerId))];
          const columns = pageColumns(selection);
          const rows = await readRows<{ partnerId: string; id: string } & Record<string, unknown>>(
            ctx.deps,
            ctx.db,
            Prisma.sql`
            SELECT ${columns ?? Prisma.sql`l.id::text AS id, p.id::text AS "partnerId"`}
              FROM unnest(${partnerIds}::uuid[]) AS p(id)
              CROSS JOIN LATERAL (
                SELECT ${columns ? Prisma.sql`c.*` : Prisma.sql`c.id`} FROM commissions c
                 WHERE ${linesTenancy(ctx)} AND c.partner_id = p.id${filterSql}${cursor}
                 ORDER BY c.id ${order} LIMIT ${limit}
              ) l`,
          );
          let byId: Map<string, unknown> | undefined;
          if (!columns && rows.length) {
            const loaded = await ctx.db.commission.findMany({ ...selection, where: { id: { in: rows.map((row) => row.id) } } } as never);
            byId = new Map((loaded as { id: string }[]).map((row) => [row.id, row]));
          }
          const byPartner = new Map<string, unknown[]>();
          for (const row of rows) {
            const partnerId = row.partnerId;
            const line: unknown = byId ? byId.get(row.id) : row;
            if (!line) continue;
            const list = byPartner.get(partnerId) ?? [];
            list.push(line);
            byPartner.set(partnerId, list);
          }
          for (const key of group) {
            const page = byPartner.get(key.partnerId) ?? [];
            pages.set(key, backward ? [...page].reverse() : page);
          }
        }),
      );
      return keys.map((key) => pages.get(key)!);
    },
    { cache: false },
  );
}

function createCountLoader(ctx: Context, filter: CommissionListFilter | null | undefined) {
  const filterSql = commissionFilterSql(filter, ctx.deps.clock.now());
  return new DataLoader<string, number>(async (partnerIds) => {
    // Unfiltered, the count kept on each balance row (by triggers on commissions: migration
    // partner_line_counts) instead of counting every line the partner ever had; the same tenancy.
    const rows =
      filterSql === Prisma.empty
        ? await readRows<{ partner_id: string; n: number }>(
            ctx.deps,
            ctx.db,
            Prisma.sql`
            SELECT c.partner_id::text, c.line_count::int AS n FROM balances c
             WHERE ${linesTenancy(ctx)} AND c.partner_id = ANY(${[...partnerIds]}::uuid[])`,
          )
        : await readRows<{ partner_id: string; n: number }>(
            ctx.deps,
            ctx.db,
            Prisma.sql`
            SELECT c.partner_id::text, count(*)::int AS n FROM commissions c
             WHERE ${linesTenancy(ctx)} AND c.partner_id = ANY(${[...partnerIds]}::uuid[])${filterSql}
             GROUP BY c.partner_id`,
          );
    const counts = new Map(rows.map((row) => [row.partner_id, row.n]));
    return partnerIds.map((id) => counts.get(id) ?? 0);
  });
}

interface Loaders {
  pages: Map<string, ReturnType<typeof createPageLoader>>;
  counts: Map<string, ReturnType<typeof createCountLoader>>;
}

const perRequest = new WeakMap<Context, Loaders>();

function loadersOf(ctx: Context): Loaders {
  let loaders = perRequest.get(ctx);
  if (!loaders) {
    loaders = { pages: new Map(), counts: new Map() };
    perRequest.set(ctx, loaders);
  }
  return loaders;
}

const filterKey = (filter: CommissionListFilter | null | undefined) => JSON.stringify(filter ?? null);

/** The page of `partnerId`'s lines in `window`, newest first, each loaded with `selection` (plugin-prisma's select or include for the nodes). */
export function loadPartnerPage(ctx: Context, partnerId: string, filter: CommissionListFilter | null | undefined, window: PageWindow, selection: Selection): Promise<unknown[]> {
  const key = filterKey(filter);
  const pages = loadersOf(ctx).pages;
  let loader = pages.get(key);
  if (!loader) pages.set(key, (loader = createPageLoader(ctx, filter)));
  return loader.load({ partnerId, window, selection });
}

/** How many of `partnerId`'s lines match the filter (unfiltered: the kept count). */
export function countPartnerLines(ctx: Context, partnerId: string, filter: CommissionListFilter | null | undefined): Promise<number> {
  const key = filterKey(filter);
  const counts = loadersOf(ctx).counts;
  let loader = counts.get(key);
  if (!loader) counts.set(key, (loader = createCountLoader(ctx, filter)));
  return loader.load(partnerId);
}
