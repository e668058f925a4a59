import SchemaBuilder, { BasePlugin, isThenable, type PothosOutputFieldConfig, type SchemaTypes } from "@pothos/core";
import { encodeGlobalID } from "@pothos/plugin-relay";
import type { GraphQLFieldResolver } from "graphql";

/**
 * The `id` of a node type, resolved without a promise when the record's id is
 * at hand (it always is: a column of the row).
 *
 * The relay plugin resolves every node's `id` with an async function (it
 * awaits the id, then encodes it), so each record with an `id` selected
 * becomes a pending value that the executor and every wrapper above the field
 * (scope-auth's steps) wait on in turn: a dashboard of 200 lines paid about
 * 11 µs per id, most of it those promises and their garbage (BENCHMARKS.md).
 *
 * This plugin goes last in the builder's list, so its wrapper is the
 * innermost: scope-auth and every other plugin still wrap the field as
 * before, and only the relay plugin's own resolver is replaced, by one that
 * computes the same string the same way (`options.relay.encodeGlobalID` if
 * the builder has one, else the relay plugin's `encodeGlobalID` of the type's
 * name and `String(id)`). An id that is itself a promise takes the relay
 * plugin's resolver unchanged.
 */
export class SyncNodeIdsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types["Context"], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types["Context"], object> {
    const idFieldName = this.builder.options.relay?.idFieldName ?? "id";
    if (fieldConfig.name !== idFieldName || fieldConfig.graphqlKind !== "Object") return resolver;
    const typeConfig = this.buildCache.getTypeConfig(fieldConfig.parentType);
    if (typeConfig.kind !== "Object") return resolver;
    // Set on the type by the relay plugin's `nodeRef` (prismaNode and node types alike).
    const idResolve = (typeConfig.pothosOptions as { id?: { resolve?: GraphQLFieldResolver<unknown, Types["Context"], object> } }).id?.resolve;
    const implementsNode = typeConfig.interfaces.some((ref) => this.buildCache.getTypeConfig(ref).name === "Node");
    if (typeof idResolve !== "function" || !implementsNode) return resolver;
    const typename = typeConfig.name;
    const encode = this.builder.options.relay?.encodeGlobalID;
    return (parent, args, context, info) => {
      const id: unknown = idResolve(parent, args, context, info);
      if (isThenable(id)) return resolver(parent, args, context, info);
      return encode ? encode(typename, String(id), context) : encodeGlobalID(typename, String(id));
    };
  }
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      syncNodeIds: SyncNodeIdsPlugin<Types>;
    }
  }
}

export const syncNodeIdsPlugin = "syncNodeIds" as const;

SchemaBuilder.registerPlugin(syncNodeIdsPlugin, SyncNodeIdsPlugin);
