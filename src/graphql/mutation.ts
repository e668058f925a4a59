import type { FieldMap, InputFieldMap, InputShapeFromFields, ObjectRef } from "@pothos/core";
import { Forbidden, type Result, type UserError } from "../domain/errors.ts";
import { forbidden } from "./guards.ts";
import type { Context } from "../context.ts";
import { builder, type AuthScopes } from "./builder.ts";
import { UserErrorRef } from "./types/common.ts";

type Types = typeof builder.$inferSchemaTypes;
type ScopeMap = { [K in keyof AuthScopes]?: AuthScopes[K] } & { $any?: ScopeMap; $all?: ScopeMap };

export interface Payload<T> {
  /** Null when the mutation failed (userErrors say why). */
  result: T | null;
  userErrors: UserError[];
}

/** Payload fields built from the result; they read `payload.result` (null on failure) as the service's value. */
// biome-ignore lint: the payload's value type is inferred from `resolve`, which TypeScript cannot do when `fields` is typed by it.
type PayloadFields = (t: PothosSchemaTypes.ObjectFieldBuilder<Types, Payload<any>>) => FieldMap;

/**
 * One shape for every mutation, as integrators know it from Shopify's API:
 * `name(input: NameInput!): NamePayload!`, where the payload holds the
 * result (null on failure) and `userErrors` (empty on success). The resolver
 * is thin: it hands the input to one service and maps its Result.
 *
 * `result` names one field for the value; `fields` builds several from it.
 */
export function defineMutation<Fields extends InputFieldMap, T>(
  name: string,
  options: {
    description: string;
    authScopes: ScopeMap;
    input: (t: PothosSchemaTypes.InputFieldBuilder<Types, "InputObject">) => Fields;
    resolve: (input: InputShapeFromFields<Fields>, ctx: Context) => Promise<Result<T>>;
  } & (
    | {
        result: {
          field: string;
          type: ObjectRef<Types, T> | ObjectRef<Types, T, unknown>;
          description?: string;
          /** Who may read the result, when its type is checked where it is reached (scopes-at-entry.ts). */
          authScopes?: ScopeMap;
        };
        fields?: never;
      }
    | { fields: PayloadFields; result?: never }
  ),
) {
  const typeName = name[0]!.toUpperCase() + name.slice(1);
  const Input = builder.inputType(`${typeName}Input`, { fields: options.input });
  const PayloadRef = builder.objectRef<Payload<T>>(`${typeName}Payload`).implement({
    fields: (t) => ({
      ...(options.result
        ? {
            [options.result.field]: t.field({
              type: options.result.type as ObjectRef<Types, T>,
              nullable: true,
              description: options.result.description,
              ...(options.result.authScopes ? { authScopes: options.result.authScopes as never } : {}),
              resolve: (payload: Payload<T>) => payload.result as never,
            }),
          }
        : options.fields!(t as never)),
      userErrors: t.field({ type: [UserErrorRef], resolve: (payload) => payload.userErrors }),
    }),
  });
  builder.mutationField(name, (t) =>
    t.field({
      type: PayloadRef,
      description: options.description,
      authScopes: options.authScopes as never,
      args: { input: t.arg({ type: Input, required: true }) },
      resolve: async (_root, args, ctx) => {
        ctx.inMutation = true;
        const result = await options.resolve((args as { input: InputShapeFromFields<Fields> }).input, ctx).catch((error: unknown) => {
          if (error instanceof Forbidden) throw forbidden(error.message);
          throw error;
        });
        return result.ok ? { result: result.value, userErrors: [] } : { result: null, userErrors: result.errors };
      },
    }),
  );
  return { Input, Payload: PayloadRef };
}
