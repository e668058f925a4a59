import { getConnectionPageSize, isThenable, PothosValidationError, validateConnectionArguments } from "@pothos/core";
import { formatPrismaCursor, parsePrismaCursor, queryFromInfo } from "@pothos/plugin-prisma";
import { type FieldNode, getNamedType, type GraphQLObjectType, type GraphQLResolveInfo, Kind, type SelectionSetNode } from "graphql";
import type { Context } from "../../context.ts";
import type { CommissionListFilter } from "../../services/commissions/commission-filter.ts";
import { countPartnerLines, loadPartnerPage, type PageWindow } from "./partner-commissions.ts";

/**
 * `Partner.commissions` as a connection of our own, in place of
 * plugin-prisma's `prismaConnection`, which for every partner of a page
 * planned the nodes' selection again (`queryFromInfo`), built a cursor for
 * every edge whether the query asked for it or not, and copied each row into
 * its edge. Here the selection is planned once per field per request when it
 * can be shared (below), an edge holds its row and computes its cursor only
 * when the query reads it (pageInfo's cursors too), and the page comes from
 * loaders/partner-commissions.ts as before.
 *
 * What a client sees is plugin-prisma's: the same arguments and their errors
 * (the messages of its `prismaCursorConnectionQuery`), the same cursors
 * (`formatPrismaCursor` on `id`), the same pageInfo (its
 * `wrapConnectionResult`), and a count only when `totalCount` is selected.
 */

/** The connection arguments, as graphql-js hands them to the resolver. */
export interface LineConnectionArgs {
  first?: number | null;
  last?: number | null;
  before?: string | null;
  after?: string | null;
}

type Selection = Record<string, unknown>;

/** What `prismaCursorConnectionQuery` makes of the arguments (no size options are configured: 20 and 100). */
export function pageWindow(args: LineConnectionArgs): PageWindow {
  const { before, after, first, last } = args;
  validateConnectionArguments(args);
  if (before && after) throw new PothosValidationError('Arguments "before" and "after" are not supported at the same time');
  if (before != null && first != null) throw new PothosValidationError('Arguments "before" and "first" are not supported at the same time');
  if (after != null && last != null) throw new PothosValidationError('Arguments "after" and "last" are not supported at the same time');
  const cursor = before ?? after;
  const { limit } = getConnectionPageSize({ args, defaultSize: undefined, maxSize: undefined });
  const take = before != null || last != null ? -limit : limit;
  return cursor == null ? { take, skip: 0 } : { cursor: { id: parsePrismaCursor(cursor) as string }, take, skip: 1 };
}

type Line = Record<string, unknown> & { id: string };

/** An edge: the row, and its cursor when the query reads it. */
class LineEdge {
  constructor(readonly node: Line) {}
  get cursor(): string {
    return formatPrismaCursor(this.node, "id");
  }
}

class LinePageInfo {
  constructor(
    private readonly edges: readonly LineEdge[],
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

export class LineConnection {
  edges: readonly LineEdge[] = [];
  pageInfo!: LinePageInfo;
  constructor(
    private readonly ctx: Context,
    private readonly partnerId: string,
    private readonly args: LineConnectionArgs,
    private readonly countFilter: () => CommissionListFilter,
  ) {}

  /** `wrapConnectionResult`: one row more than the page says whether there is another. */
  page(rows: readonly Line[], take: number): this {
    const { args } = this;
    const full = rows.length === Math.abs(take);
    const backward = args.before != null || args.last != null;
    const hasNextPage = args.before != null ? true : args.last != null ? false : full;
    const hasPreviousPage = args.after != null ? true : backward ? full : false;
    const lines = full ? rows.slice(take < 0 ? 1 : 0, take < 0 ? rows.length : -1) : rows;
    const edges = new Array<LineEdge>(lines.length);
    for (let i = 0; i < lines.length; i++) edges[i] = new LineEdge(lines[i]!);
    this.edges = edges;
    this.pageInfo = new LinePageInfo(edges, hasPreviousPage, hasNextPage);
    return this;
  }

  /** Read only when `totalCount` is selected; the filter is mapped again, as plugin-prisma's `totalCount` did. */
  totalCount(): Promise<number> {
    return countPartnerLines(this.ctx, this.partnerId, this.countFilter());
  }
}

/** What one field (one set of field nodes) of one request resolves with, for every partner it is resolved for. */
interface FieldPlan {
  /** Only `totalCount` and `__typename` selected: no page is read (plugin-prisma's `totalCountOnly`). */
  countOnly: boolean;
  /** The nodes' selection, planned once, when no field beneath looks its selection up (see `shareable`). */
  shared?: Selection | Promise<Selection>;
  shareable: boolean;
}

const plansOf = new WeakMap<Context, WeakMap<readonly FieldNode[], FieldPlan>>();

/**
 * The field's plan, keyed by its field nodes: the executor hands every
 * partner of a list the same array (collectSubfields is memoised), and the
 * selection depends on nothing else in a request (the variables are fixed).
 */
function fieldPlan(ctx: Context, info: GraphQLResolveInfo): FieldPlan {
  let plans = plansOf.get(ctx);
  if (!plans) plansOf.set(ctx, (plans = new WeakMap()));
  let plan = plans.get(info.fieldNodes);
  if (!plan) {
    const connection = getNamedType(info.returnType) as GraphQLObjectType;
    const fields = connection.getFields();
    const countOnly = info.fieldNodes.every((node) =>
      node.selectionSet?.selections.every((s) => s.kind === Kind.FIELD && (fields[s.name.value]?.extensions?.pothosPrismaTotalCount || s.name.value === "__typename")),
    );
    plan = { countOnly, shareable: !countOnly && shareable(info, connection) };
    plans.set(info.fieldNodes, plan);
  }
  return plan;
}

/**
 * Whether one planned selection can serve every partner. plugin-prisma
 * records, for each planned query, which node fields it loaded, under the
 * connection field's path (with its list index); a node field that reads
 * its selection from there (a relation, an exposed column, any field with a
 * `select`) needs a plan recorded under its own partner's path. Such a
 * selection is planned for each partner, as before. The fields looked at
 * are every field under `edges { node }`, in fragments too and whatever
 * their directives: more than the query may resolve, never fewer.
 */
function shareable(info: GraphQLResolveInfo, connection: GraphQLObjectType): boolean {
  const edgeType = getNamedType(connection.getFields().edges!.type) as GraphQLObjectType;
  const nodeType = getNamedType(edgeType.getFields().node!.type) as GraphQLObjectType;
  const nodeFields = nodeType.getFields();
  // Every field of a selection set, through fragments (a validated document has no cycles in them).
  const every = (set: SelectionSetNode | undefined, test: (field: FieldNode) => boolean): boolean =>
    !set ||
    set.selections.every((s) => (s.kind === Kind.FIELD ? test(s) : every(s.kind === Kind.INLINE_FRAGMENT ? s.selectionSet : info.fragments[s.name.value]?.selectionSet, test)));
  const plainNode = (field: FieldNode) => field.name.value === "__typename" || !nodeFields[field.name.value]?.extensions?.pothosPrismaSelect;
  const plainEdge = (field: FieldNode) => field.name.value !== "node" || every(field.selectionSet, plainNode);
  const plainConnection = (field: FieldNode) => field.name.value !== "edges" || every(field.selectionSet, plainEdge);
  return info.fieldNodes.every((node) => every(node.selectionSet, plainConnection));
}

/** plugin-prisma's plan of the nodes' selection (with the cursor's column), as `prismaConnection` asked for it. */
function planSelection(ctx: Context, info: GraphQLResolveInfo): Selection | Promise<Selection> {
  return queryFromInfo({
    context: ctx,
    info,
    select: { id: true },
    paths: [["nodes"], ["edges", "node"]],
    typeName: "Commission",
    withUsageCheck: false,
    awaitSelections: true,
  } as never) as Selection | Promise<Selection>;
}

/** `Partner.commissions` for one partner. */
export function resolvePartnerLines(
  ctx: Context,
  info: GraphQLResolveInfo,
  partnerId: string,
  args: LineConnectionArgs,
  filterOf: () => CommissionListFilter,
): LineConnection | Promise<LineConnection> {
  const plan = fieldPlan(ctx, info);
  let selection: Selection | Promise<Selection> | undefined;
  if (!plan.countOnly) {
    if (plan.shareable) selection = plan.shared ??= planSelection(ctx, info);
    else selection = planSelection(ctx, info);
  }
  try {
    const window = pageWindow(args);
    const connection = new LineConnection(ctx, partnerId, args, filterOf);
    if (!selection) return Promise.resolve(connection.page([], window.take));
    const load = (resolved: Selection) => loadPartnerPage(ctx, partnerId, filterOf(), window, resolved).then((rows) => connection.page(rows as Line[], window.take));
    return isThenable(selection) ? selection.then(load) : load(selection);
  } catch (error) {
    // plugin-prisma refused bad arguments (and the filter's) from a promise: the same here, so errors come in the same order.
    return Promise.reject(error);
  }
}
