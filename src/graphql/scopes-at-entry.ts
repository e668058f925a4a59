import SchemaBuilder, { BasePlugin, PothosSchemaError, type SchemaTypes } from "@pothos/core";
import { type GraphQLField, type GraphQLNamedType, type GraphQLObjectType, type GraphQLSchema, getNamedType, isAbstractType, isObjectType } from "graphql";

/**
 * A type whose readers are checked where it is reached, not on each of its fields.
 *
 * scope-auth checks a type's `authScopes` around every field of every record
 * of it: a dashboard of 200 commission lines ran the check 600 times, and the
 * wrapper it needs keeps compiled queries from reading a plain column as a
 * property (BENCHMARKS.md, "Tenth round"). A type declared here has no
 * `authScopes` of its own. Instead every field that reaches it must carry
 * the same scopes as its own `authScopes`, so the check runs once per list or
 * relation, before anything is loaded. "Reaches" means: returns the type
 * (alone or in a list), returns a connection of it, or returns an interface
 * or union it belongs to (`node`, `nodes`).
 *
 * This holds by construction: the schema does not build while a field
 * reaching such a type lacks the scopes, unless the type names that field
 * and why it is read there anyway (a payout's lines, read by whoever reads
 * the payout; `node`, checked by the type its id names). A name in that list
 * that no longer reaches the type fails the build too.
 */
export interface ScopesAtEntry {
  /** The scope-auth map every field reaching the type carries (the very object). */
  readonly scopes: object;
  /** `Type.field` reaching the type with other checks, and the reason. */
  readonly checkedElsewhere: Readonly<Record<string, string>>;
}

/** The type's declaration, for its `extensions`. */
export function scopesAtEntry(declaration: ScopesAtEntry): { scopesAtEntry: ScopesAtEntry } {
  return { scopesAtEntry: declaration };
}

/** A connection or its edge (relay's): reaching one reaches what its edges hold. */
function isPlumbing(type: GraphQLNamedType): boolean {
  if (!isObjectType(type)) return false;
  const fields = type.getFields();
  return (type.name.endsWith("Connection") && "edges" in fields) || (type.name.endsWith("Edge") && "node" in fields);
}

/** The object types a field's value may hold, through lists, connections and abstract types. */
function reachedTypes(schema: GraphQLSchema, type: GraphQLNamedType, seen = new Set<string>()): Set<string> {
  if (seen.has(type.name)) return seen;
  seen.add(type.name);
  if (isAbstractType(type)) for (const possible of schema.getPossibleTypes(type)) seen.add(possible.name);
  if (isPlumbing(type)) for (const field of Object.values((type as GraphQLObjectType).getFields())) reachedTypes(schema, getNamedType(field.type), seen);
  return seen;
}

/** Every `Type.field` of the schema that reaches `typename`, with the field. */
export function fieldsReaching(schema: GraphQLSchema, typename: string): Map<string, GraphQLField<unknown, unknown>> {
  const found = new Map<string, GraphQLField<unknown, unknown>>();
  for (const type of Object.values(schema.getTypeMap())) {
    // Interfaces' fields are checked where an object type implements them; plumbing is reached through its fields' parents.
    if (!isObjectType(type) || type.name.startsWith("__") || isPlumbing(type)) continue;
    for (const field of Object.values(type.getFields())) {
      if (reachedTypes(schema, getNamedType(field.type)).has(typename)) found.set(`${type.name}.${field.name}`, field);
    }
  }
  return found;
}

export class ScopesAtEntryPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override afterBuild(schema: GraphQLSchema): GraphQLSchema {
    for (const type of Object.values(schema.getTypeMap())) {
      const declaration = (type.extensions as { scopesAtEntry?: ScopesAtEntry }).scopesAtEntry;
      if (!declaration) continue;
      if ((type.extensions as { pothosOptions?: { authScopes?: unknown } }).pothosOptions?.authScopes) {
        throw new PothosSchemaError(`${type.name}: a type whose scopes are checked where it is reached has no authScopes of its own`);
      }
      const reaching = fieldsReaching(schema, type.name);
      for (const [name, field] of reaching) {
        if (name in declaration.checkedElsewhere) continue;
        if ((field.extensions as { pothosOptions?: { authScopes?: unknown } }).pothosOptions?.authScopes === declaration.scopes) continue;
        throw new PothosSchemaError(
          `${name} reaches ${type.name} without its readers' scopes: give it \`authScopes\` ${type.name}'s scopes (or list it, with the reason, in its checkedElsewhere)`,
        );
      }
      for (const name of Object.keys(declaration.checkedElsewhere)) {
        if (!reaching.has(name)) throw new PothosSchemaError(`${type.name}'s checkedElsewhere names ${name}, which does not reach it`);
      }
    }
    return schema;
  }
}

declare global {
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      scopesAtEntry: ScopesAtEntryPlugin<Types>;
    }
  }
}

export const scopesAtEntryPlugin = "scopesAtEntry" as const;

SchemaBuilder.registerPlugin(scopesAtEntryPlugin, ScopesAtEntryPlugin);
