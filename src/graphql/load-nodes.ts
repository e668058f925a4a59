import { brandWithType } from "@pothos/core";
import { queryFromInfo } from "@pothos/plugin-prisma";
import type { GraphQLResolveInfo } from "graphql";
import type { Context } from "../context.ts";

type GlobalId = { typename: string; id: string } | null | undefined;
type TypeConfig = { extensions?: Record<string, unknown> };
type ConfigStore = { getTypeConfig(name: string, kind: "Object"): TypeConfig };
type FindMany = (args: Record<string, unknown>) => Promise<{ id: string }[]>;

/**
 * `nodes(ids:)` with one query per type named, as a connection reads a page.
 * plugin-prisma's prismaNode loads one id at a time (a `findUnique` each,
 * which Prisma cannot batch through the tenant scope), and everything
 * selected under each node with it: a hundred ids were two hundred
 * statements. Here each type's ids are read with one `findMany` built from
 * the same selection (`queryFromInfo`, so relations and connections under
 * the nodes are loaded for all of them at once) and the type's own
 * `findUnique` condition for each id; anything else falls back to the
 * relay plugin's loading. Ids of nothing (or of another program) are null.
 */
export async function loadNodes(
  configStore: ConfigStore,
  ctx: Context,
  info: GraphQLResolveInfo,
  ids: readonly GlobalId[],
  fallback: () => Promise<readonly unknown[]>,
): Promise<readonly unknown[]> {
  const byType = new Map<string, string[]>();
  for (const globalId of ids) {
    if (!globalId) continue;
    byType.set(globalId.typename, [...(byType.get(globalId.typename) ?? []), globalId.id]);
  }
  const loaders = [...byType].map(([typename, typeIds]) => {
    const config = configStore.getTypeConfig(typename, "Object");
    const model = config.extensions?.pothosPrismaModel;
    // plugin-prisma keeps the type's `findUnique` (the condition its node
    // loads by, with any filter the type adds) on its per-request loader.
    const loaderFor = config.extensions?.pothosPrismaLoader as ((ctx: Context) => { findUnique?: unknown }) | undefined;
    const findUnique = loaderFor?.(ctx).findUnique as ((parent: { id: string }, ctx: Context) => Record<string, unknown>) | undefined;
    const delegate = typeof model === "string" ? (ctx.db as unknown as Record<string, { findMany?: FindMany }>)[model.charAt(0).toLowerCase() + model.slice(1)] : undefined;
    if (typeof findUnique !== "function" || !delegate?.findMany) return undefined;
    return async () => {
      const query = await queryFromInfo({ context: ctx, info, typeName: typename as never, awaitSelections: true });
      const rows = await delegate.findMany!({ ...query, where: { OR: typeIds.map((id) => findUnique({ id }, ctx)) } });
      return rows.map((row) => {
        brandWithType(row, typename as never);
        return [`${typename}:${row.id}`, row] as const;
      });
    };
  });
  if (loaders.some((loader) => loader === undefined)) return fallback();
  const loaded = new Map((await Promise.all(loaders.map((loader) => loader!()))).flat());
  return ids.map((globalId) => (globalId ? (loaded.get(`${globalId.typename}:${globalId.id}`) ?? null) : null));
}
