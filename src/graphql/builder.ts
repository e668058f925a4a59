import SchemaBuilder from "@pothos/core";
import ComplexityPlugin from "@pothos/plugin-complexity";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import ScopeAuthPlugin from "@pothos/plugin-scope-auth";
import ValidationPlugin, { type StandardSchemaV1 } from "@pothos/plugin-validation";
import { GraphQLError, type GraphQLResolveInfo } from "graphql";
import * as z from "zod";
import type { IntegrationScope, Role } from "../auth/viewer.ts";
import type { Context } from "../context.ts";
import type PrismaTypes from "../generated/pothos-prisma-types.ts";
import { getDatamodel } from "../generated/pothos-prisma-types.ts";
import { fieldCost } from "../limits/field-cost.ts";
import { decodeGlobalId, encodeGlobalId, isRecordCursor } from "./global-ids.ts";
import { loadNodes } from "./load-nodes.ts";
import { mayLoadNodes } from "./guards.ts";
import { compiledPathsPlugin } from "./compiled-paths.ts";
import { plainColumnsPlugin } from "./plain-columns.ts";
import { scopesAtEntryPlugin } from "./scopes-at-entry.ts";
import { syncNodeIdsPlugin } from "./sync-node-ids.ts";

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;
/** Ids per `nodes` request: a page's worth. */
export const MAX_NODES = 100;

/**
 * A schema whose common case is checked without zod: a value `accepts` takes
 * passes as it is, anything else goes to `schema` for the same issues and
 * messages. The page arguments are validated for every partner of a page
 * (each partner's `commissions(first: 10)`), where zod's parse was most of
 * the validation's cost.
 */
function checkedFirst<T>(accepts: (value: unknown) => value is T, schema: z.ZodType<T>): StandardSchemaV1<T, T> {
  return {
    "~standard": {
      version: 1,
      vendor: "accrue",
      validate: (value) => (accepts(value) ? { value } : (schema["~standard"].validate(value) as ReturnType<StandardSchemaV1<T, T>["~standard"]["validate"]>)),
    },
  };
}

const cursorArg = checkedFirst((value): value is string => typeof value === "string" && isRecordCursor(value), z.string().refine(isRecordCursor, "is not a cursor of this list"));
const pageSizeArg = checkedFirst(
  (value): value is number => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_PAGE_SIZE,
  z.number().int().min(1).max(MAX_PAGE_SIZE),
);

/** Decimal-like values: decimal.js instances (ours or Prisma's copy) or their strings. */
export type DecimalLike = string | { toFixed(): string };

export type ScalarTypes = {
  /** Exact decimals travel as strings; inputs are checked by the services (scale, sign). */
  Decimal: { Input: string; Output: DecimalLike };
  DateTime: { Input: Date; Output: Date };
  Date: { Input: string; Output: string };
  CurrencyCode: { Input: string; Output: string };
  JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
};

export interface AuthScopes {
  /** Any verified token. */
  authenticated: boolean;
  platform: boolean;
  /** One of the given program roles. */
  role: readonly Role[];
  /** An integration token carrying this scope (or any one of these). */
  integration: IntegrationScope | readonly IntegrationScope[];
  /**
   * As `integration`, but only in a mutation's payload: a scope that writes a
   * record reads what it wrote there (see read-rules.ts). Mutations run
   * before their payloads resolve, so this is first asked once one has run.
   */
  wrote: IntegrationScope | readonly IntegrationScope[];
  partner: boolean;
}

function unauthorized(ctx: Context): GraphQLError {
  return ctx.viewer
    ? new GraphQLError("You are not allowed to do this.", { extensions: { code: "FORBIDDEN" } })
    : new GraphQLError("Authentication required: send a bearer token.", {
        extensions: { code: "UNAUTHENTICATED", http: { status: 401 } },
      });
}

/** One key per record, however its global id was spelled (letter case, padding). */
function nodeIdKey(id: unknown): string {
  if (id && typeof id === "object" && "typename" in id && "id" in id) return `${String(id.typename)}:${String(id.id).toLowerCase()}`;
  try {
    const decoded = decodeGlobalId(String(id));
    return `${decoded.typename}:${decoded.id}`;
  } catch {
    return String(id);
  }
}

/** A type `node(id:)` can load: one made with `prismaNode` (or `node`). */
function isNodeType(typename: string): boolean {
  if (!builder.configStore.hasConfig(typename)) return false;
  const config = builder.configStore.getTypeConfig(typename);
  const options = config.graphqlKind === "Object" ? (config.pothosOptions as Record<string, unknown>) : {};
  return ["loadMany", "loadOne", "loadManyWithoutCache", "loadWithoutCache"].some((key) => typeof options[key] === "function");
}

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  Scalars: ScalarTypes;
  AuthScopes: AuthScopes;
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
  Connection: { totalCount: number | (() => number | Promise<number>) };
}>({
  // The plain columns' plugin first (its field configs are final, see plain-columns.ts); then the
  // compiled paths' plugin (it only gives compiled queries' fields the interpreter's path objects),
  // then scope-auth, so no other plugin's wrapper runs before authorization; the scopes at entry
  // check the built schema (scopes-at-entry.ts); the node ids' plugin last, so its wrapper is the
  // innermost (it replaces only relay's own id resolver).
  plugins: [plainColumnsPlugin, compiledPathsPlugin, ScopeAuthPlugin, RelayPlugin, PrismaPlugin, ValidationPlugin, ComplexityPlugin, scopesAtEntryPlugin, syncNodeIdsPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      authenticated: !!ctx.viewer,
      platform: ctx.viewer?.role === "platform",
      role: (roles) => !!ctx.viewer && (roles as string[]).includes(ctx.viewer.role),
      integration: (wanted) => {
        const viewer = ctx.viewer;
        if (viewer?.role !== "integration") return false;
        return (typeof wanted === "string" ? [wanted] : wanted).some((scope) => viewer.scopes.has(scope));
      },
      wrote: (wanted) => {
        const viewer = ctx.viewer;
        if (!ctx.inMutation || viewer?.role !== "integration") return false;
        return (typeof wanted === "string" ? [wanted] : wanted).some((scope) => viewer.scopes.has(scope));
      },
      partner: ctx.viewer?.role === "partner",
    }),
    unauthorizedError: (_parent, ctx) => unauthorized(ctx),
  },
  prisma: {
    client: (ctx) => ctx.db as never,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: "omit",
    cursorType: "String",
    // A global id or cursor holding no uuid is refused here, before any query (see global-ids.ts).
    decodeGlobalID: (globalId) => decodeGlobalId(globalId, isNodeType),
    encodeGlobalID: encodeGlobalId,
    afterArgOptions: { validate: cursorArg },
    beforeArgOptions: { validate: cursorArg },
    // By the type each id names, before any lookup (guards.ts): no hint whether it exists.
    nodeQueryOptions: { nullable: true, authScopes: (_root, args, ctx) => mayLoadNodes(ctx, [(args as { id: unknown }).id]) },
    // An id of nothing (or of another program) is a null item, not an error for the whole list.
    nodesQueryOptions: {
      nullable: { list: false, items: true },
      // One query per type named rather than one per id (see load-nodes.ts).
      resolve: (_root, args, ctx, info, resolveNodes): never => batchedNodes(ctx, info, args.ids, () => resolveNodes(args.ids as never)) as never,
      authScopes: (_root, args, ctx) => mayLoadNodes(ctx, (args as { ids: unknown[] }).ids),
      // A repeated id would load and resolve the same record (and everything
      // selected under it) again for nothing: a cheap way to multiply work.
      args: {
        ids: {
          validate: z
            .array(z.unknown())
            .max(MAX_NODES, `nodes takes at most ${MAX_NODES} ids`)
            .refine((ids) => new Set(ids.map(nodeIdKey)).size === ids.length, "nodes takes each id once (an id is repeated)"),
        },
      },
    },
    // A connection's edges and pageInfo and an edge's node are properties of what the connection
    // resolved. The relay plugin gives each a resolver that reads it; marked as exposed (the mark
    // Pothos's own `t.expose` sets), they get none, and compiled queries read them inline instead of
    // calling a resolver per edge (BENCHMARKS.md, "Tenth round").
    edgesFieldOptions: { extensions: { pothosExposedField: "edges" } },
    pageInfoFieldOptions: { extensions: { pothosExposedField: "pageInfo" } },
    nodeFieldOptions: { extensions: { pothosExposedField: "node" } },
    // Page sizes outside 1–100 are refused with an error, never silently capped.
    firstArgOptions: { validate: pageSizeArg },
    lastArgOptions: { validate: pageSizeArg },
  },
  validation: {
    validationError: (result) =>
      new GraphQLError(
        result.issues
          .map((issue) => {
            const path = (issue.path ?? []).map((part) => (typeof part === "object" ? part.key : part)).join(".");
            return path ? `${path}: ${issue.message}` : issue.message;
          })
          .join("; "),
        { extensions: { code: "BAD_USER_INPUT" } },
      ),
  },
  complexity: {
    // Each list costs what it can hold (page sizes, ids, bulk inputs) and
    // each row its weight: see src/limits/field-cost.ts. The limit itself is
    // applied by the request limits plugin, before execution.
    fieldComplexity: fieldCost,
  },
});

function batchedNodes(ctx: Context, info: GraphQLResolveInfo, ids: unknown, fallback: () => Promise<readonly unknown[]>): Promise<readonly unknown[]> {
  return loadNodes(builder.configStore as never, ctx, info, ids as never, fallback);
}
