import { isThenable } from "@pothos/core";
import type { FieldNode, GraphQLResolveInfo } from "graphql";
import type { Context } from "../../context.ts";
import type { CommissionListFilter } from "../../services/commissions/commission-filter.ts";
import { takeLines } from "./lines-ahead.ts";
import { countPartnerLines, loadPartnerPage } from "./partner-commissions.ts";
import {
  type ConnectionArgs,
  type PageWindow,
  pageWindow,
  planNodeSelection,
  type Row,
  RowConnection,
  type Selection,
  type SelectionShape,
  selectionShape,
} from "./row-connection.ts";

/**
 * `Partner.commissions` as a connection of our own (row-connection.ts), in
 * place of plugin-prisma's `prismaConnection`, which for every partner of a
 * page planned the nodes' selection again (`queryFromInfo`). Here the
 * selection is planned once per field per request when it can be shared
 * (below), and the page comes from loaders/partner-commissions.ts as before.
 */

/** What one field (one set of field nodes) of one request resolves with, for every partner it is resolved for. */
interface FieldPlan {
  shape: SelectionShape;
  /** The nodes' selection, planned once when the shape is plain (see below). */
  shared?: Selection | Promise<Selection>;
}

const plansOf = new WeakMap<Context, WeakMap<readonly FieldNode[], FieldPlan>>();

/**
 * The field's plan in this request, keyed by its field nodes (the same
 * array for every partner of a list). One planned selection serves every
 * partner only when the nodes' fields are plain: plugin-prisma records, for
 * each planned query, which node fields it loaded under the connection
 * field's path (with its list index), and a field that reads its selection
 * from there (a relation, an exposed column outside its type's `select`
 * (plain-columns.ts), any field with a `select`)
 * needs a plan recorded under its own partner's path. Such a selection is
 * planned for each partner, as before.
 */
function fieldPlan(ctx: Context, info: GraphQLResolveInfo): FieldPlan {
  let plans = plansOf.get(ctx);
  if (!plans) plansOf.set(ctx, (plans = new WeakMap()));
  let plan = plans.get(info.fieldNodes);
  if (!plan) plans.set(info.fieldNodes, (plan = { shape: selectionShape(info) }));
  return plan;
}

/** `Partner.commissions` for one partner. */
export function resolvePartnerLines(
  ctx: Context,
  info: GraphQLResolveInfo,
  partnerId: string,
  args: ConnectionArgs & { filter?: unknown },
  filterOf: () => CommissionListFilter,
): RowConnection | Promise<RowConnection> {
  const plan = fieldPlan(ctx, info);
  // Read with the partners' page (lines-ahead.ts): for this window, a plain selection and no filter.
  if (plan.shape.plain && !plan.shape.countOnly && args.filter == null) {
    const ahead = linesReadAhead(ctx, partnerId, args, filterOf);
    if (ahead) return ahead;
  }
  let selection: Selection | Promise<Selection> | undefined;
  if (!plan.shape.countOnly) {
    if (plan.shape.plain) selection = plan.shared ??= planNodeSelection(ctx, info, "Commission");
    else selection = planNodeSelection(ctx, info, "Commission");
  }
  try {
    const window = pageWindow(args);
    // The filter is mapped again for the count, as plugin-prisma's `totalCount` did.
    const connection = new RowConnection(args, () => countPartnerLines(ctx, partnerId, filterOf()));
    if (!selection) return Promise.resolve(connection.page([], window.take));
    const load = (resolved: Selection) => loadPartnerPage(ctx, partnerId, filterOf(), window, resolved).then((rows) => connection.page(rows as Row[], window.take));
    return isThenable(selection) ? selection.then(load) : load(selection);
  } catch (error) {
    // plugin-prisma refused bad arguments (and the filter's) from a promise: the same here, so errors come in the same order.
    return Promise.reject(error);
  }
}

/** The partner's page as the partners' statement read it, or undefined (none read for this window, or arguments it refuses: they fail below). */
function linesReadAhead(ctx: Context, partnerId: string, args: ConnectionArgs, filterOf: () => CommissionListFilter): RowConnection | undefined {
  let window: PageWindow;
  try {
    window = pageWindow(args);
  } catch {
    return undefined;
  }
  const rows = takeLines(ctx, partnerId, window);
  return rows && new RowConnection(args, () => countPartnerLines(ctx, partnerId, filterOf())).page(rows, window.take);
}
