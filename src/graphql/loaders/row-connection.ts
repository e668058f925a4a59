import { getConnectionPageSize, PothosValidationError, validateConnectionArguments } from "@pothos/core";
import { formatPrismaCursor, parsePrismaCursor, queryFromInfo } from "@pothos/plugin-prisma";
import { type FieldNode, getNamedType, type GraphQLObjectType, type GraphQLResolveInfo, Kind, type SelectionSetNode } from "graphql";
import type { Context } from "../../context.ts";

/**
 * What our own connections (`Query.partners`, `Partner.commissions`) share
 * in place of plugin-prisma's `prismaConnection`: its reading of the
 * arguments, its page of rows wrapped as edges and pageInfo, and the shape
 * of the selection beneath. What a client sees is plugin-prisma's: the same
 * arguments and their errors (the messages of its
 * `prismaCursorConnectionQuery`), the same cursors (`formatPrismaCursor` on
 * `id`), the same pageInfo (its `wrapConnectionResult`), and a count only
 * when `totalCount` is selected. What it no longer does: build a cursor for
 * every edge whether the query asks for it or not (an edge holds its row and
 * computes its cursor when read, pageInfo's too), and copy each row into its
 * edge.
 */

/** The connection arguments, as graphql-js hands them to the resolver. */
export interface ConnectionArgs {
  first?: number | null;
  last?: number | null;
  before?: string | null;
  after?: string | null;
}

/** One page's window: plugin-prisma's take (negative pages backwards), skip and cursor. */
export interface PageWindow {
  take: number;
  skip?: number;
  cursor?: { id: string };
}

/** plugin-prisma's select or include for the nodes. */
export type Selection = Record<string, unknown>;

/** A row of the page; `id` is the cursor's column. */
export type Row = Record<string, unknown> & { id: string };

/** What `prismaCursorConnectionQuery` makes of the arguments (no size options are configured: 20 and 100). */
export function pageWindow(args: ConnectionArgs): PageWindow {
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

/** An edge: the row, and its cursor when the query reads it. */
class RowEdge {
  constructor(readonly node: Row) {}
  get cursor(): string {
    return formatPrismaCursor(this.node, "id");
  }
}

class RowPageInfo {
  constructor(
    private readonly edges: readonly RowEdge[],
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

export class RowConnection {
  edges: readonly RowEdge[] = [];
  pageInfo!: RowPageInfo;
  /** `totalCount` is read only when selected. */
  constructor(
    private readonly args: ConnectionArgs,
    readonly totalCount: () => Promise<number>,
  ) {}

  /** `wrapConnectionResult`: one row more than the page says whether there is another. */
  page(rows: readonly Row[], take: number): this {
    const { args } = this;
    const full = rows.length === Math.abs(take);
    const backward = args.before != null || args.last != null;
    const hasNextPage = args.before != null ? true : args.last != null ? false : full;
    const hasPreviousPage = args.after != null ? true : backward ? full : false;
    const shown = full ? rows.slice(take < 0 ? 1 : 0, take < 0 ? rows.length : -1) : rows;
    const edges = new Array<RowEdge>(shown.length);
    for (let i = 0; i < shown.length; i++) edges[i] = new RowEdge(shown[i]!);
    this.edges = edges;
    this.pageInfo = new RowPageInfo(edges, hasPreviousPage, hasNextPage);
    return this;
  }
}

/** What a connection field's selection asks of its page. */
export interface SelectionShape {
  /** Only `totalCount` and `__typename` selected: no page is read (plugin-prisma's `totalCountOnly`). */
  countOnly: boolean;
  /**
   * A page is read and every node field reads the row itself: none carries
   * plugin-prisma's `pothosPrismaSelect` (a relation, an exposed column
   * outside its type's `select`, see plain-columns.ts, a field with a
   * `select`), which looks its selection up
   * under its own row's path and so needs a plan of its own.
   */
  plain: boolean;
}

const shapes = new WeakMap<readonly FieldNode[], SelectionShape>();

/**
 * The field's selection shape, kept by its field nodes: the executor hands
 * every item of a list the same array (collectSubfields is memoised), and a
 * document's fields and fragments are the same in every request sending it.
 * Every field under `edges { node }` is looked at, in fragments too and
 * whatever their directives: more than the query may resolve, never fewer.
 */
export function selectionShape(info: Pick<GraphQLResolveInfo, "fieldNodes" | "returnType" | "fragments">): SelectionShape {
  let shape = shapes.get(info.fieldNodes);
  if (!shape) {
    const connection = getNamedType(info.returnType) as GraphQLObjectType;
    const fields = connection.getFields();
    const countOnly = info.fieldNodes.every((node) =>
      node.selectionSet?.selections.every((s) => s.kind === Kind.FIELD && (fields[s.name.value]?.extensions?.pothosPrismaTotalCount || s.name.value === "__typename")),
    );
    shape = { countOnly, plain: !countOnly && plainNodes(info, connection) };
    shapes.set(info.fieldNodes, shape);
  }
  return shape;
}

function plainNodes(info: Pick<GraphQLResolveInfo, "fieldNodes" | "fragments">, connection: GraphQLObjectType): boolean {
  const edgeType = getNamedType(connection.getFields().edges!.type) as GraphQLObjectType;
  const nodeType = getNamedType(edgeType.getFields().node!.type) as GraphQLObjectType;
  const nodeFields = nodeType.getFields();
  // Every field of a selection set, through fragments (a validated document has no cycles in them).
  const every = (set: SelectionSetNode | undefined, test: (field: FieldNode) => boolean): boolean =>
    !set ||
    set.selections.every((s) => (s.kind === Kind.FIELD ? test(s) : every(s.kind === Kind.INLINE_FRAGMENT ? s.selectionSet : info.fragments[s.name.value]?.selectionSet, test)));
  const plainNode = (field: FieldNode) => field.name.value === "__typename" || (!!nodeFields[field.name.value] && !nodeFields[field.name.value]!.extensions?.pothosPrismaSelect);
  const plainEdge = (field: FieldNode) => field.name.value !== "node" || every(field.selectionSet, plainNode);
  const plainConnection = (field: FieldNode) => field.name.value !== "edges" || every(field.selectionSet, plainEdge);
  return info.fieldNodes.every((node) => every(node.selectionSet, plainConnection));
}

/** plugin-prisma's plan of the nodes' selection (with the cursor's column), as `prismaConnection` asked for it. */
export function planNodeSelection(ctx: Context, info: GraphQLResolveInfo, typeName: "Partner" | "Commission"): Selection | Promise<Selection> {
  return queryFromInfo({
    context: ctx,
    info,
    select: { id: true },
    paths: [["nodes"], ["edges", "node"]],
    typeName,
    withUsageCheck: false,
    awaitSelections: true,
  } as never) as Selection | Promise<Selection>;
}
