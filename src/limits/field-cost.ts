import { getNamedType, isLeafType, isListType, isNonNullType, isObjectType, type GraphQLField, type GraphQLOutputType } from "graphql";

/**
 * What each kind of work in a query costs, in units of a few microseconds
 * of server time. The weights come from `npm run bench:cost` (BENCHMARKS.md,
 * "Query cost"), which times each shape of query alone and at the limit, so
 * that a query at the limit answers well under a second.
 */
export interface CostWeights {
  /** A scalar or enum field. */
  leaf: number;
  /** An object that is not a row (Money, PageInfo, a payload, a rule). */
  value: number;
  /** A row read from the database and resolved (a node, a relation, a list item). */
  row: number;
  /** A connection's edge (the row under it counts as a row). */
  edge: number;
  /** A root query field: at least one statement of its own. */
  rootField: number;
  /** A root connection: its page and its count, two statements. */
  rootConnection: number;
  /** A connection under another object: plugin-prisma loads all of them for a page of parents at once. */
  nestedConnection: number;
  /** A root mutation field: a transaction. */
  mutation: number;
  /** How many items a list whose length no argument states is taken to hold. */
  unstatedListItems: number;
}

/** Calibrated by `npm run bench:cost` (BENCHMARKS.md, "Query cost"). */
export const COST_WEIGHTS: CostWeights = {
  leaf: 2,
  value: 2,
  row: 30,
  edge: 2,
  rootField: 200,
  rootConnection: 1_000,
  nestedConnection: 600,
  mutation: 10_000,
  unstatedListItems: 10,
};

/**
 * The embedded database (PGlite) runs its SQL on the server's own thread,
 * and a page or a count over a table of thousands of rows takes it about
 * ten times as long as PostgreSQL here; rows, once read, cost the same.
 */
export const EMBEDDED_COST_WEIGHTS: CostWeights = {
  ...COST_WEIGHTS,
  rootConnection: 10_000,
  nestedConnection: 1_500,
};

/** The weights for the database the server runs on. */
export function costWeightsFor(database: "pglite" | "postgres"): CostWeights {
  return database === "pglite" ? EMBEDDED_COST_WEIGHTS : COST_WEIGHTS;
}

/**
 * Lists whose length no argument states, with the length assumed: about
 * what the data holds (a sale has a line per partner and a few corrections;
 * a payout gathers a partner's payable lines, often dozens). Payload lists of
 * bulk mutations are as long as their input, which the mutation's
 * multiplier already counts (see below); the payload lists here are not
 * bounded by an input.
 */
const LIST_ITEMS: Record<string, number> = {
  "Conversion.commissions": 2,
  "Conversion.reversals": 2,
  "Commission.corrections": 3,
  "Reversal.commissions": 3,
  "Partner.payoutMethods": 3,
  "Payout.lines": 50,
  "RunPayoutsPayload.payouts": 100,
  "RunPayoutsPayload.skipped": 100,
  "SyncPayoutsToAccountingPayload.payouts": 100,
  "ReconcileReport.mismatches": 100,
  // earningsSeries' own multiplier is its number of points already.
  "EarningsSeries.points": 1,
};

const DEFAULT_PAGE_SIZE = 20;
/**
 * Page sizes and id lists beyond this are refused when the field runs
 * (BAD_USER_INPUT, with the field's own message); counting them as one more
 * than the largest allowed keeps that clearer error.
 */
const LARGEST_COUNTED = 101;

/** Pothos keeps the parent type's name on each field it builds. */
function parentOf(field: GraphQLField<any, any, any>): string {
  return ((field.extensions as { pothosConfig?: { parentType?: string } }).pothosConfig?.parentType ?? "") as string;
}

function listLike(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

/** A type made with prismaObject/prismaNode (or an interface such as Node, whose members are). */
function isRowType(type: GraphQLOutputType): boolean {
  const named = getNamedType(type);
  if (!isObjectType(named)) return true;
  return Boolean((named.extensions as { pothosPrismaLoader?: unknown }).pothosPrismaLoader);
}

/**
 * The items of the lists in a mutation's (mapped) arguments, at any depth
 * but not inside another list's items (a batch's 500 conversions count, not
 * the partners each names), and the longest list.
 */
function listItems(value: unknown, found = { total: 0, longest: 0 }): { total: number; longest: number } {
  if (Array.isArray(value)) {
    found.total += value.length;
    found.longest = Math.max(found.longest, value.length);
  } else if (value && typeof value === "object" && !(value instanceof Date)) {
    for (const item of Object.values(value)) listItems(item, found);
  }
  return found;
}

/** What the cost walk reports besides the cost (see operation-cost.ts). */
export interface CostContext {
  costWeights?: CostWeights;
  /** List items in the arguments of each mutation field walked. */
  mutationInputItems?: number[];
}

export type FieldCost = { field: number; multiplier: number };

/**
 * plugin-complexity's `fieldComplexity`: a field costs `field` once plus
 * `multiplier` times its selection. Every list is multiplied by how many
 * items it can hold: a connection by its page size, `nodes` by its ids, a
 * bulk mutation by its longest input list (its payload lists are that
 * input), other lists by an assumption. Each object costs its kind's weight
 * once per item. A mutation's writes are not in its cost but bounded apart:
 * its service takes at most a batch, and a request carries at most one
 * batch's worth of items (operation-cost.ts). Weights come from the context
 * when it carries `costWeights` (the calibration benchmark varies them),
 * else COST_WEIGHTS.
 */
export function fieldCost(args: Record<string, unknown>, ctx: unknown, field: GraphQLField<any, any, any>): FieldCost {
  const context = (ctx ?? {}) as CostContext;
  const w = context.costWeights ?? COST_WEIGHTS;
  const parent = parentOf(field);
  const list = listLike(field.type);
  const leaf = isLeafType(getNamedType(field.type));

  if (parent === "Mutation") {
    const { total, longest } = listItems(args);
    context.mutationInputItems?.push(total);
    return { field: w.mutation, multiplier: Math.max(1, longest) };
  }
  if (parent === "Query" && field.name === "nodes") {
    const count = Math.min(Array.isArray(args.ids) ? args.ids.length : 0, LARGEST_COUNTED);
    return { field: w.rootField + count * w.row, multiplier: count };
  }
  if (field.args.some((arg) => arg.name === "first")) {
    const pageSize = Math.min(((args.first ?? args.last) as number | undefined) ?? DEFAULT_PAGE_SIZE, LARGEST_COUNTED);
    return { field: parent === "Query" || parent === "Subscription" ? w.rootConnection : w.nestedConnection, multiplier: pageSize };
  }
  if (parent === "Query" || parent === "Subscription") {
    return { field: w.rootField + (leaf ? w.leaf : isRowType(field.type) ? w.row : w.value), multiplier: 1 };
  }
  if (parent.endsWith("Connection") && (field.name === "edges" || field.name === "pageInfo" || field.name === "totalCount")) {
    // Under the connection's multiplier already: edges are the page; the
    // count and page info are one each, whatever the page size (the
    // connection's own weight pays for the count).
    if (field.name === "edges") return { field: w.edge, multiplier: 1 };
    return { field: 0, multiplier: 0 };
  }
  if (leaf) return { field: w.leaf, multiplier: 1 };
  const each = isRowType(field.type) ? w.row : w.value;
  if (!list) return { field: each, multiplier: 1 };
  const items = LIST_ITEMS[`${parent}.${field.name}`] ?? (parent.endsWith("Payload") ? 1 : w.unstatedListItems);
  return { field: each * items, multiplier: items };
}
