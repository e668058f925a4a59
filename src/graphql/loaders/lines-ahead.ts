import { type FieldNode, getArgumentValues, getNamedType, type GraphQLField, type GraphQLObjectType, type GraphQLResolveInfo, Kind, type SelectionSetNode } from "graphql";
import { mayRead } from "../../auth/read-rules.ts";
import type { Context } from "../../context.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import { linesAfterCursor, linesTenancy } from "./partner-commissions.ts";
import { type ConnectionArgs, type PageWindow, pageWindow, type Row, selectionShape } from "./row-connection.ts";

/**
 * A partners page and each partner's page of lines in one statement: when a
 * `Query.partners` page is read by hand (partners-connection.ts) and its
 * nodes select `commissions` once, plainly (no filter, nodes that read only
 * the line's own columns), the partners' statement carries each partner's
 * page as a column of text: the same LATERAL read by (program_id, partner_id,
 * id) and the same per-partner LIMIT as loaders/partner-commissions.ts, with
 * the columns a plain selection reads. `Partner.commissions` then takes its
 * partner's page from here instead of sending a statement of its own; it
 * does so only for the same window (its own arguments read again) and a
 * plain selection, and loads as before otherwise. One round trip to the
 * database instead of two for an operator's dashboard.
 */

/** The `commissions` field under the partners' `edges { node }`, when it can be read ahead. */
interface Ahead {
  field: GraphQLField<unknown, unknown>;
  node: FieldNode;
}

const plans = new WeakMap<readonly FieldNode[], Ahead | null>();

/** The one field named `name` in a selection set of fields alone (no fragments, no directives), or undefined. */
function onlyField(set: SelectionSetNode | undefined, name: string): FieldNode | undefined {
  if (!set) return undefined;
  let found: FieldNode | undefined;
  for (const selection of set.selections) {
    if (selection.kind !== Kind.FIELD) return undefined;
    if (selection.name.value !== name) continue;
    if (found || selection.directives?.length) return undefined;
    found = selection;
  }
  return found;
}

/** Kept per document (its field nodes): the nested field, when it is one plain `commissions` without a filter. */
function aheadOf(info: GraphQLResolveInfo): Ahead | null {
  let plan = plans.get(info.fieldNodes);
  if (plan !== undefined) return plan;
  plan = null;
  const [partners] = info.fieldNodes;
  const node = info.fieldNodes.length === 1 ? onlyField(onlyField(onlyField(partners!.selectionSet, "edges")?.selectionSet, "node")?.selectionSet, "commissions") : undefined;
  if (node && !node.arguments?.some((argument) => argument.name.value === "filter")) {
    const connection = getNamedType(info.returnType) as GraphQLObjectType;
    const partnerType = getNamedType((getNamedType(connection.getFields().edges!.type) as GraphQLObjectType).getFields().node!.type) as GraphQLObjectType;
    const field = partnerType.getFields().commissions!;
    const shape = selectionShape({ fieldNodes: [node], returnType: field.type, fragments: info.fragments });
    if (shape.plain && !shape.countOnly) plan = { field, node };
  }
  plans.set(info.fieldNodes, plan);
  return plan;
}

/**
 * The window of lines the partners' statement reads ahead for this request, or
 * nothing when the viewer may not read lines (the field refuses it) or the
 * arguments would be refused.
 */
export function linesAhead(ctx: Context, info: GraphQLResolveInfo): PageWindow | undefined {
  const ahead = aheadOf(info);
  if (!ahead || !mayRead(ctx.viewer, "commission")) return undefined;
  try {
    return pageWindow(getArgumentValues(ahead.field, ahead.node, info.variableValues) as ConnectionArgs);
  } catch {
    // The field refuses its arguments when it resolves (with its own error); nothing is read ahead.
    return undefined;
  }
}

/**
 * The column of a partner's page of lines (`p` is the partner's row), with
 * the tenancy and the LIMIT of loaders/partner-commissions.ts and the
 * columns a plain selection reads (the type's `select`), newest first (a
 * backward page too: read towards newer lines, then turned round). Each
 * line is four words: its id, status, amount and currency, none of which
 * holds a space (a uuid, an enum, a number, an ISO 4217 code); the page is
 * its lines' words in a row, or NULL when it has none. Text, not JSON:
 * PostgreSQL builds JSON at about twice the CPU of the two statements this
 * replaces, and JavaScript parses an array column more slowly than both;
 * splitting text costs next to nothing (BENCHMARKS.md, "Thirteenth round").
 */
export function linesColumn(ctx: Context, window: PageWindow): Prisma.Sql {
  return Prisma.sql`(SELECT string_agg(l.id::text || ' ' || l.status::text || ' ' || l.amount::text || ' ' || l.currency, ' ' ORDER BY l.id DESC)
      FROM (SELECT c.id, c.status, c.amount, c.currency FROM commissions c
             WHERE ${linesTenancy(ctx)} AND c.partner_id = p.id${linesAfterCursor(window)}
             ORDER BY c.id ${Prisma.raw(window.take < 0 ? "ASC" : "DESC")} LIMIT ${Math.abs(window.take)}) l)`;
}

/** A partner's page from its column: the rows loaders/partner-commissions.ts reads for a plain selection. */
function linesOf(partnerId: string, text: string | null | undefined): Row[] {
  if (!text) return [];
  const words = text.split(" ");
  if (words.length % 4 !== 0) throw new Error("a page of lines read ahead is not four words a line");
  const rows = new Array<Row>(words.length / 4);
  for (let i = 0; i < rows.length; i++) {
    rows[i] = { id: words[4 * i]!, status: words[4 * i + 1]!, amount: words[4 * i + 2]!, currency: words[4 * i + 3]!, partnerId };
  }
  return rows;
}

/** Each partner's page read ahead in this request, by partner id, with its window. */
const readAhead = new WeakMap<Context, Map<string, { window: PageWindow; rows: Row[] }>>();

/** Keeps the pages the partners' statement read (its `lines` column, taken off each row). */
export function keepLines(ctx: Context, window: PageWindow, partners: readonly (Row & { lines?: string | null })[]): void {
  let pages = readAhead.get(ctx);
  if (!pages) readAhead.set(ctx, (pages = new Map()));
  for (const partner of partners) {
    pages.set(partner.id, { window, rows: linesOf(partner.id, partner.lines) });
    // Set, not deleted: a deleted property turns every row into a slower dictionary object.
    partner.lines = undefined;
  }
}

const sameWindow = (a: PageWindow, b: PageWindow) => a.take === b.take && (a.skip ?? 0) === (b.skip ?? 0) && a.cursor?.id === b.cursor?.id;

/** The partner's page read ahead for this window, once; undefined when none was. */
export function takeLines(ctx: Context, partnerId: string, window: PageWindow): Row[] | undefined {
  const pages = readAhead.get(ctx);
  const page = pages?.get(partnerId);
  if (!page || !sameWindow(page.window, window)) return undefined;
  pages!.delete(partnerId);
  return page.rows;
}
