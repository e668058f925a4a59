import { isThenable } from "@pothos/core";
import { formatPrismaCursor, queryFromInfo } from "@pothos/plugin-prisma";
import { type FieldNode, getNamedType, type GraphQLObjectType, type GraphQLResolveInfo, Kind, type SelectionSetNode } from "graphql";
import type { Context } from "../../context.ts";
import { NO_PROGRAM } from "../../context.ts";
import { readRows } from "../../db/sql-read.ts";
import { Prisma } from "../../generated/prisma/client.ts";
import { type LineConnectionArgs, pageWindow } from "./partner-lines-connection.ts";
import type { PageWindow } from "./partner-commissions.ts";

/**
 * `Query.partners` as a connection of our own, in place of plugin-prisma's
 * `prismaConnection`. When the partners' selection is plain (every node
 * field reads the row's own columns, or has a loader of its own like
 * `commissions`) and the list is neither filtered nor sorted, the page is one
 * hand-written statement sent without Prisma (db/sql-read.ts): the
 * statement Prisma's client sends for the same `findMany`, with the tenancy
 * the scoped client adds to a Partner read (program_id; a partner token's
 * own row only: src/db/tenant-scope.ts), and no selection planned
 * (`queryFromInfo`). Anything else (a relation or a field with a `select`
 * among the nodes, a filter, a sort, a cursor that holds no uuid) is
 * answered as plugin-prisma answered it: its planned selection and the
 * scoped client's `findMany`.
 *
 * What a client sees is plugin-prisma's either way: the same arguments and
 * errors (`pageWindow`), the same order, cursors (`formatPrismaCursor` on
 * `id`), pageInfo (`wrapConnectionResult`) and `totalCount` (counted only
 * when selected, by the scoped client).
 */

type Row = Record<string, unknown> & { id: string };
type Selection = Record<string, unknown>;

class PartnerEdge {
  constructor(readonly node: Row) {}
  get cursor(): string {
    return formatPrismaCursor(this.node, "id");
  }
}

class PartnerPageInfo {
  constructor(
    private readonly edges: readonly PartnerEdge[],
    readonly hasPreviousPage: boolean,
    readonly hasNextPage: boolean,
  ) {}
  get startCursor(): string | null {
    return this.edges[0]?.cursor ?? null;
  }
  get endCursor(): string | null {
    return this.edges[this.edges.length - 1]?.cursor ?? null;
  }
}

export class PartnerConnection {
  edges: readonly PartnerEdge[] = [];
  pageInfo!: PartnerPageInfo;
  constructor(
    private readonly args: LineConnectionArgs,
    readonly totalCount: () => Promise<number>,
  ) {}

  /** `wrapConnectionResult`: one row more than the page says whether there is another. */
  page(rows: readonly Row[], take: number): this {
    const { args } = this;
    const full = rows.length === Math.abs(take);
    const backward = args.before != null || args.last != null;
    const hasNextPage = args.before != null ? true : args.last != null ? false : full;
    const hasPreviousPage = args.after != null ? true : backward ? full : false;
    const nodes = full ? rows.slice(take < 0 ? 1 : 0, take < 0 ? rows.length : -1) : rows;
    const edges = new Array<PartnerEdge>(nodes.length);
    for (let i = 0; i < nodes.length; i++) edges[i] = new PartnerEdge(nodes[i]!);
    this.edges = edges;
    this.pageInfo = new PartnerPageInfo(edges, hasPreviousPage, hasNextPage);
    return this;
  }
}

interface FieldPlan {
  /** Only `totalCount` and `__typename` selected: no page is read (plugin-prisma's `totalCountOnly`). */
  countOnly: boolean;
  /** Every node field reads the row alone (no field with a `select`): the page needs no planned selection. */
  plain: boolean;
}

const plans = new WeakMap<readonly FieldNode[], FieldPlan>();

/** The field's plan, by its field nodes (the same array for a document's field, and the selection depends on nothing else). */
function fieldPlan(info: GraphQLResolveInfo): FieldPlan {
  let plan = plans.get(info.fieldNodes);
  if (!plan) {
    const connection = getNamedType(info.returnType) as GraphQLObjectType;
    const fields = connection.getFields();
    const countOnly = info.fieldNodes.every((node) =>
      node.selectionSet?.selections.every((s) => s.kind === Kind.FIELD && (fields[s.name.value]?.extensions?.pothosPrismaTotalCount || s.name.value === "__typename")),
    );
    plan = { countOnly, plain: !countOnly && plainNodes(info, connection) };
    // Fragments are the document's, like the field nodes: a plan kept by field nodes holds for every request sending that document.
    plans.set(info.fieldNodes, plan);
  }
  return plan;
}

/**
 * Whether the nodes' fields all read the row itself: none carries
 * plugin-prisma's `pothosPrismaSelect` (a relation, a field with a
 * `select`), which would need a planned selection. Every field under
 * `edges { node }` is looked at, in fragments too and whatever their
 * directives: more than the query may resolve, never fewer.
 */
function plainNodes(info: GraphQLResolveInfo, connection: GraphQLObjectType): boolean {
  const edgeType = getNamedType(connection.getFields().edges!.type) as GraphQLObjectType;
  const nodeType = getNamedType(edgeType.getFields().node!.type) as GraphQLObjectType;
  const nodeFields = nodeType.getFields();
  const every = (set: SelectionSetNode | undefined, test: (field: FieldNode) => boolean): boolean =>
    !set ||
    set.selections.every((s) => (s.kind === Kind.FIELD ? test(s) : every(s.kind === Kind.INLINE_FRAGMENT ? s.selectionSet : info.fragments[s.name.value]?.selectionSet, test)));
  const plainNode = (field: FieldNode) => field.name.value === "__typename" || (!!nodeFields[field.name.value] && !nodeFields[field.name.value]!.extensions?.pothosPrismaSelect);
  const plainEdge = (field: FieldNode) => field.name.value !== "node" || every(field.selectionSet, plainNode);
  const plainConnection = (field: FieldNode) => field.name.value !== "edges" || every(field.selectionSet, plainEdge);
  return info.fieldNodes.every((node) => every(node.selectionSet, plainConnection));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The page as Prisma's client reads it for the scoped `findMany({ take,
 * skip, cursor, orderBy: [{ id: "desc" }] })`: every column of the row (as
 * its include mode loads them), its cursor as a subselect on `id` alone, a
 * backward page read in the opposite order (and turned round here).
 */
function readPage(ctx: Context, window: PageWindow): Promise<Row[]> {
  const programId = ctx.actor?.programId ?? NO_PROGRAM;
  const partnerId = ctx.actor?.partnerId;
  const backward = window.take < 0;
  const own = partnerId ? Prisma.sql` AND p.id = ${partnerId}::uuid` : Prisma.empty;
  const cursor = window.cursor ? Prisma.sql` AND p.id ${Prisma.raw(backward ? ">=" : "<=")} (SELECT c.id FROM partners c WHERE c.id = ${window.cursor.id}::uuid)` : Prisma.empty;
  const rows = readRows<Row>(
    ctx.deps,
    ctx.db,
    Prisma.sql`SELECT p.id::text AS id, p.program_id::text AS "programId", p.external_id AS "externalId", p.email, p.name, p.status::text AS status,
        p.country, p.commission_rule_override AS "commissionRuleOverride", p.accounting_vendor_id AS "accountingVendorId",
        p.accounting_vendor_name AS "accountingVendorName", p.created_at AS "createdAt", p.updated_at AS "updatedAt"
      FROM partners p
     WHERE p.program_id = ${programId}::uuid${own}${cursor}
     ORDER BY p.id ${Prisma.raw(backward ? "ASC" : "DESC")} LIMIT ${Math.abs(window.take)} OFFSET ${window.skip ?? 0}`,
  );
  return backward ? rows.then((list) => list.reverse()) : rows;
}

/** plugin-prisma's plan of the nodes' selection (with the cursor's column), as `prismaConnection` asked for it. */
function planSelection(ctx: Context, info: GraphQLResolveInfo): Selection | Promise<Selection> {
  return queryFromInfo({
    context: ctx,
    info,
    select: { id: true },
    paths: [["nodes"], ["edges", "node"]],
    typeName: "Partner",
    withUsageCheck: false,
    awaitSelections: true,
  } as never) as Selection | Promise<Selection>;
}

export interface PartnersOptions {
  /** Neither filtered nor sorted: the order is `id` descending over the tenant's rows. */
  unfiltered: boolean;
  /** The scoped client's read of a page, given plugin-prisma's query (selection, take, skip, cursor). */
  findMany(query: Selection): Promise<Row[]>;
  count(): Promise<number>;
}

/** `Query.partners`. */
export function resolvePartners(ctx: Context, info: GraphQLResolveInfo, args: LineConnectionArgs, options: PartnersOptions): Promise<PartnerConnection> {
  const plan = fieldPlan(info);
  const fast = plan.plain && options.unfiltered;
  // As prismaConnection: the selection is planned before the arguments are read.
  const selection = plan.countOnly || fast ? undefined : planSelection(ctx, info);
  try {
    const window = pageWindow(args);
    const connection = new PartnerConnection(args, options.count);
    if (plan.countOnly) return Promise.resolve(connection.page([], window.take));
    if (fast && (!window.cursor || (typeof window.cursor.id === "string" && UUID.test(window.cursor.id)))) {
      return readPage(ctx, window).then((rows) => connection.page(rows, window.take));
    }
    const load = (resolved: Selection) => options.findMany({ ...resolved, ...window }).then((rows) => connection.page(rows, window.take));
    const planned = selection ?? planSelection(ctx, info);
    return isThenable(planned) ? planned.then(load) : load(planned);
  } catch (error) {
    // plugin-prisma refused bad arguments from a promise: the same here, so errors come in the same order.
    return Promise.reject(error);
  }
}
