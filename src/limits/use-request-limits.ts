import { randomUUID } from "node:crypto";
import { GraphQLError, getOperationAST, getVariableValues, Kind, type DocumentNode, type ExecutionResult, type GraphQLSchema, type SelectionSetNode } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Viewer } from "../auth/viewer.ts";
import { refuseStatementsOf, runTagged } from "../db/statement-tags.ts";
import type { Logger } from "../logger.ts";
import { MAX_BULK } from "../services/commissions/review-commissions.ts";
import { MAX_BATCH } from "../services/conversions/record-conversions.ts";
import type { CostWeights } from "./field-cost.ts";
import { operationCost } from "./operation-cost.ts";
import type { RateLimits } from "./rate-limits.ts";

export interface RequestLimitOptions {
  maxCost: number;
  /** The database's weights (costWeightsFor). */
  costWeights: CostWeights;
  /** A query running longer is stopped: QUERY_TIMEOUT. */
  queryTimeoutMs: number;
  rateLimits: RateLimits;
  /** Cancels the SQL of a stopped query (PostgreSQL); absent on the embedded database. */
  cancelStatements?: (tag: string) => Promise<number>;
  logger: Logger;
  /** Called for each stopped query: why, and how many of its statements were cancelled (the server counts them). */
  onStopped?: (reason: "timeout" | "client gone", cancelledStatements: number) => void;
}

/** Variables (as JSON) longer than this are not kept as a key of the cost cache. */
const MAX_COST_KEY = 2_048;
/** Variable sets whose cost is kept per document (the oldest goes first). */
const MAX_COSTS_PER_DOCUMENT = 100;

/** The largest batch a mutation takes (recordConversions, the commission reviews). */
const MAX_INPUT_ITEMS = Math.max(MAX_BATCH, MAX_BULK);

type LimitContext = {
  viewer?: Viewer | null;
  request?: Request;
  req?: { socket?: { remoteAddress?: string } };
};

function tooComplex(cost: number, max: number): GraphQLError {
  return new GraphQLError(`Query cost ${cost} is over the limit of ${max}: ask for smaller pages, fewer ids or fewer fields.`, {
    extensions: { code: "QUERY_TOO_COMPLEX", cost, maxCost: max, http: { status: 400 } },
  });
}

function tooManyItems(items: number, max: number): GraphQLError {
  return new GraphQLError(`The mutations of one request may carry at most ${max} list items in their arguments (these carry ${items}): send one batch per request.`, {
    extensions: { code: "QUERY_TOO_COMPLEX", inputItems: items, maxInputItems: max, http: { status: 400 } },
  });
}

function throttled(retryAfterSeconds: number, limit: string): GraphQLError {
  return new GraphQLError(`Too many requests for this token (${limit}); retry in ${retryAfterSeconds} s.`, {
    extensions: { code: "THROTTLED", retryAfterSeconds, http: { status: 429, headers: { "Retry-After": String(retryAfterSeconds) } } },
  });
}

function timedOut(ms: number): GraphQLError {
  return new GraphQLError(`The query ran for more than ${ms} ms and was stopped: ask for less (smaller pages, fewer fields).`, {
    extensions: { code: "QUERY_TIMEOUT", http: { status: 503 } },
  });
}

/** Whose budget a request spends: an integration token, a person in a program, or an address. */
export function principalKey(context: LimitContext): string {
  const viewer = context.viewer;
  if (!viewer) return `anonymous:${context.req?.socket?.remoteAddress ?? "unknown"}`;
  if (viewer.role === "integration") return `integration:${viewer.tokenId}`;
  return `${viewer.role}:${"programId" in viewer ? viewer.programId : "-"}:${viewer.subject}`;
}

/** Whether the request's variables coerce to what its operation declares (the cost walk refuses them otherwise). */
function coerces(args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: unknown }): boolean {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation) return false;
  const coerced = getVariableValues(args.schema, operation.variableDefinitions ?? [], (args.variableValues ?? {}) as Record<string, unknown>);
  return !coerced.errors;
}

/** Root fields an operation runs (through fragments): each mutation field is one mutation. */
function rootFieldCount(document: DocumentNode, selectionSet: SelectionSetNode, seen = new Set<string>()): number {
  let count = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) count += selection.name.value === "__typename" ? 0 : 1;
    else if (selection.kind === Kind.INLINE_FRAGMENT) count += rootFieldCount(document, selection.selectionSet, seen);
    else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = document.definitions.find((d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value);
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION) count += rootFieldCount(document, fragment.selectionSet, seen);
    }
  }
  return count;
}

/**
 * The limits every operation meets, over HTTP and WebSocket alike (envelop
 * hooks, which both transports run):
 * 1. cost: the operation's cost, with its variables, is at most `maxCost`
 *    (QUERY_TOO_COMPLEX), refused before anything runs; so are several
 *    mutations whose argument lists carry more than one batch (500 items);
 * 2. rate: a mutation spends one of its token's mutations a minute per
 *    root field, a query its cost from its token's query cost a minute
 *    (THROTTLED, with Retry-After);
 * 3. time: a query is stopped after `queryTimeoutMs` (QUERY_TIMEOUT): no
 *    further field runs, and on PostgreSQL the statements it still has
 *    running are cancelled. Mutations are not stopped halfway: their
 *    transactions are bounded by their own timeouts, and a stopped mutation
 *    would leave the caller unsure whether it committed.
 * Subscriptions meet the cost limit only (they are long-lived by design).
 */
export function useRequestLimits(options: RequestLimitOptions): Plugin {
  // The cost of a document with its operation name and variables, kept for the
  // document's life: yoga's parser cache hands every request with the same text
  // the same document, so a storm of identical subscriptions (or portal reads)
  // is walked once. A cost depends on the variables only through their shape
  // (numbers, booleans, nulls, list lengths, object keys: never a string's
  // text), so a cost measured without errors is kept under the shape and
  // served to variables of that shape once they coerce as the operation
  // declares (a value the walk would have refused is measured, and refused,
  // as before): a thousand sales a second with different ids are walked once.
  // Variables too long to make a key are measured each time.
  const costs = new WeakMap<DocumentNode, Map<string, ReturnType<typeof operationCost>>>();
  const costOf = (args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: unknown }) => {
    const measure = () => operationCost(args.schema, args.document, args.operationName, args.variableValues as Record<string, unknown>, options.costWeights);
    let shape: string;
    try {
      shape = JSON.stringify(args.variableValues ?? null, (_key, value: unknown) => (typeof value === "string" ? "" : value));
    } catch {
      return measure();
    }
    if (shape.length > MAX_COST_KEY) return measure();
    const key = `${args.operationName ?? ""}\n${shape}`;
    let known = costs.get(args.document);
    if (!known) costs.set(args.document, (known = new Map()));
    const kept = known.get(key);
    if (kept && coerces(args)) return kept;
    const measured = measure();
    if ("errors" in measured) return measured;
    if (known.size >= MAX_COSTS_PER_DOCUMENT) known.delete(known.keys().next().value!);
    known.set(key, measured);
    return measured;
  };
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const measured = costOf(args);
      if ("errors" in measured) return setResultAndStopExecution({ errors: measured.errors });
      if (measured.cost > options.maxCost) setResultAndStopExecution({ errors: [tooComplex(measured.cost, options.maxCost)] });
    },
    async onExecute({ args, executeFn, setExecuteFn, setResultAndStopExecution }) {
      const measured = costOf(args);
      if ("errors" in measured) return setResultAndStopExecution({ errors: measured.errors });
      if (measured.cost > options.maxCost) return setResultAndStopExecution({ errors: [tooComplex(measured.cost, options.maxCost)] });
      // One mutation's batch is bounded by its service (500 at most); several in
      // one request (aliases) would multiply the writes behind one cost check.
      if (measured.mutationFields > 1 && measured.inputItems > MAX_INPUT_ITEMS) {
        return setResultAndStopExecution({ errors: [tooManyItems(measured.inputItems, MAX_INPUT_ITEMS)] });
      }

      const operation = getOperationAST(args.document, args.operationName);
      if (!operation) return; // execution reports it
      const context = args.contextValue as LimitContext;
      const key = principalKey(context);
      const throttle =
        operation.operation === "mutation"
          ? await options.rateLimits.mutations(key, rootFieldCount(args.document, operation.selectionSet))
          : await options.rateLimits.queryCost(key, measured.cost);
      if (!throttle.ok) return setResultAndStopExecution({ errors: [throttled(throttle.retryAfterSeconds, throttle.limit)] });
      if (operation.operation !== "query") return;

      setExecuteFn(async (executeArgs) => {
        const budget = new AbortController();
        // The error is made only when the limit is reached: a GraphQLError captures a stack trace.
        const timer = setTimeout(() => budget.abort(timedOut(options.queryTimeoutMs)), options.queryTimeoutMs);
        // A client that goes away stops its query too.
        const disconnected = context.request?.signal;
        const tag = randomUUID();
        // On PostgreSQL the executor gets no abort signal (graphql-tools checks one
        // around every field: a quarter of the dashboard's execution): the answer
        // stops waiting at the limit, the statements still running are cancelled
        // and the stopped request's further statements are refused by the pool
        // (refuseStatementsOf), so what is left of it runs in memory only. The
        // embedded database cancels nothing, so there the executor stops field by field.
        let stop: ((reason: unknown) => void) | undefined;
        const stopped = new Promise<never>((_, reject) => (stop = reject));
        stopped.catch(() => {}); // read by the race on PostgreSQL only
        const onAbort = function (this: AbortSignal) {
          stop!(this.reason);
        };
        budget.signal.addEventListener("abort", onAbort, { once: true });
        disconnected?.addEventListener("abort", onAbort, { once: true });
        if (disconnected?.aborted) stop!(disconnected.reason); // gone before it started
        const aborted = () => budget.signal.aborted || disconnected?.aborted === true;
        let execution: Promise<unknown> | undefined;
        try {
          if (options.cancelStatements) {
            execution = Promise.resolve(runTagged(tag, () => executeFn(executeArgs)));
            return (await Promise.race([execution, stopped])) as ExecutionResult;
          }
          (executeArgs as { signal?: AbortSignal }).signal = disconnected ? AbortSignal.any([budget.signal, disconnected]) : budget.signal;
          return (await executeFn(executeArgs)) as ExecutionResult;
        } catch (error) {
          if (!aborted()) throw error;
          if (execution) refuseStatementsOf(tag, execution);
          const cancelled = options.cancelStatements
            ? await options.cancelStatements(tag).catch((cancelError: unknown) => {
                options.logger.warn({ err: cancelError }, "could not cancel a stopped query's statements");
                return 0;
              })
            : 0;
          const timedOutNow = budget.signal.aborted;
          options.onStopped?.(timedOutNow ? "timeout" : "client gone", cancelled);
          if (!timedOutNow) throw error; // the client left; nobody reads this
          options.logger.warn({ timeoutMs: options.queryTimeoutMs, cost: measured.cost, operationName: args.operationName }, "query stopped at its time limit");
          return { errors: [budget.signal.reason as GraphQLError] };
        } finally {
          clearTimeout(timer);
          budget.signal.removeEventListener("abort", onAbort);
          disconnected?.removeEventListener("abort", onAbort);
        }
      });
    },
  };
}
