import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from "@pothos/core";

/**
 * An exposed column that its type always selects is read as a plain property.
 *
 * In select mode (a prisma type with a `select`) plugin-prisma gives each
 * exposed column (`t.expose*`) its own selection, and a resolver that looks
 * for it under the row's path for every row it resolves, loading it if the
 * parent's query did not. For a column in the type's own `select` that never
 * happens: every query of the type reads it. This plugin drops that
 * selection from such a field, so no plugin wraps it and the field has no
 * resolver at all: the executor reads the property, and compiled queries
 * (graphql-jit) inline it instead of calling a resolver per row
 * (BENCHMARKS.md, "Tenth round").
 *
 * First in the builder's list: its `onOutputFieldConfig` runs after the
 * other plugins' and its result is the field's.
 */
export class PlainColumnsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    const own = fieldConfig.extensions?.pothosPrismaSelect;
    if (fieldConfig.kind !== "PrismaObject" || !own || typeof own !== "object") return fieldConfig;
    const columns = Object.keys(own);
    const column = columns[0];
    // Only `t.expose` of one column under its own name: { [name]: true }.
    if (columns.length !== 1 || column !== fieldConfig.name || (own as Record<string, unknown>)[column] !== true || fieldConfig.extensions?.pothosExposedField !== column)
      return fieldConfig;
    // The type's own `select` (plugin-prisma keeps it here).
    const typeSelect = this.buildCache.getTypeConfig(fieldConfig.parentType).extensions?.pothosPrismaSelect;
    if (!typeSelect || typeof typeSelect !== "object" || (typeSelect as Record<string, unknown>)[column] !== true) return fieldConfig;
    return { ...fieldConfig, extensions: { ...fieldConfig.extensions, pothosPrismaSelect: undefined } };
  }
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      plainColumns: PlainColumnsPlugin<Types>;
    }
  }
}

export const plainColumnsPlugin = "plainColumns" as const;

SchemaBuilder.registerPlugin(plainColumnsPlugin, PlainColumnsPlugin);
