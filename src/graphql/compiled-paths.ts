import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type PothosOutputFieldType, type SchemaTypes } from "@pothos/core";
import type { GraphQLFieldResolver, GraphQLResolveInfo } from "graphql";

type Path = GraphQLResolveInfo["path"];

/** A response path that is one object per place in the answer, for one request. */
interface Canonical {
  readonly prev: Canonical | undefined;
  readonly key: string | number;
  readonly typename: string | undefined;
  /** The paths one step below, made as they are first asked for. */
  below?: Map<string | number, Canonical>;
}

/** Per request run compiled: its top-level paths (the rest hang below them). */
const requests = new WeakMap<object, Map<string | number, Canonical>>();

/** Marks a request's context as run by compiled code (use-compiled-queries.ts), before it runs. */
export function runsCompiled(context: object): void {
  requests.set(context, new Map());
}

/** The one path object for `path`'s place in the answer, made once per request. */
function canonical(top: Map<string | number, Canonical>, path: Path): Canonical {
  const prev = path.prev ? canonical(top, path.prev) : undefined;
  const siblings = prev ? (prev.below ??= new Map()) : top;
  let found = siblings.get(path.key);
  if (!found) {
    found = { prev, key: path.key, typename: path.typename };
    siblings.set(path.key, found);
  }
  return found;
}

/**
 * Response paths that are the same object for the same place in the answer,
 * when a query runs compiled (graphql-jit).
 *
 * graphql's interpreter hands a field the very path object its parent
 * resolved at (`info.path.prev` is the parent's `info.path`). plugin-prisma
 * relies on that: a planned query records what it loaded under its field's
 * path object, and a relation below finds it by walking up its own path
 * (@pothos/selection-mapper, `getLoaderMapping`). graphql-jit builds each
 * field's path as a new chain of objects per call, so the relation finds
 * nothing and loads again what its parent's query already read (a partner's
 * balance read twice on the portal). Under compiled execution this plugin
 * gives the fields that record or look up what was loaded the request's one
 * path object for their place, before any other plugin's wrapper sees it;
 * the interpreter's paths are left as they are. Those fields (`plans`): a
 * relation plugin-prisma plans (`pothosPrismaSelect`), and a field whose
 * resolver may plan the query below it (`queryFromInfo`): one resolving to
 * a Prisma object (prismaField), a connection (prismaConnection, ours in
 * loaders/row-connection.ts) or an interface (node, nodes). An edge's
 * `node` plans nothing (its connection did), nor does a scalar or a value
 * object like Money: they keep graphql-jit's path, which costs nothing.
 *
 * First in the builder's list, so its wrapper is the outermost.
 */
export class CompiledPathsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types["Context"], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types["Context"], object> {
    if (!this.plans(fieldConfig)) return resolver;
    return (parent, args, context, info) => {
      const top = requests.get(context as object);
      // graphql-jit makes a new `info` for every call: setting its path touches nothing else.
      if (top) (info as { path: Path }).path = canonical(top, info.path) as Path;
      return resolver(parent, args, context, info);
    };
  }

  private plans(fieldConfig: PothosOutputFieldConfig<Types>): boolean {
    if (fieldConfig.extensions?.pothosPrismaSelect) return true;
    if (fieldConfig.name === "node" && this.buildCache.getTypeConfig(fieldConfig.parentType).name.endsWith("Edge")) return false;
    let type = fieldConfig.type as PothosOutputFieldType<SchemaTypes>;
    while (type.kind === "List") type = type.type;
    if (type.kind === "Interface" || type.kind === "Union") return true;
    if (type.kind !== "Object") return false;
    const returned = this.buildCache.getTypeConfig(type.ref);
    return !!returned.extensions?.pothosPrismaModel || returned.name.endsWith("Connection");
  }
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      compiledPaths: CompiledPathsPlugin<Types>;
    }
  }
}

export const compiledPathsPlugin = "compiledPaths" as const;

SchemaBuilder.registerPlugin(compiledPathsPlugin, CompiledPathsPlugin);
