import { PothosValidationError } from "@pothos/core";
import { createComplexityRule } from "@pothos/plugin-complexity";
import { GraphQLError, validate, type DocumentNode, type GraphQLSchema } from "graphql";
import type { CostContext, CostWeights } from "./field-cost.ts";

export type OperationCost =
  | {
      cost: number;
      /** List items in the arguments of the mutation fields, added up (0 for queries). */
      inputItems: number;
      /** How many mutation fields the operation runs. */
      mutationFields: number;
    }
  | { errors: readonly GraphQLError[] };

/**
 * The cost of the operation a request will run (the one named, or the only
 * one), with its variables, by the schema's field costs (see field-cost.ts).
 * plugin-complexity's rule does the walk (fragments, variables, operation
 * name); run here, before execution, where the variables are known. A
 * document whose cost cannot be worked out (a malformed argument) comes back
 * as errors: such a request is refused rather than run unmeasured.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
  weights?: CostWeights,
): OperationCost {
  let cost = 0;
  const context: CostContext = { costWeights: weights, mutationInputItems: [] };
  const rule = createComplexityRule({
    variableValues: variables ?? {},
    operationName: operationName ?? undefined,
    context,
    validate: () => {},
    onResult: (state) => {
      cost = Math.max(cost, state.complexity);
    },
  });
  try {
    const errors = validate(schema, document, [rule]);
    if (errors.length > 0) return { errors: errors.map(asBadInput) };
  } catch (error) {
    if (error instanceof GraphQLError || error instanceof PothosValidationError) return { errors: [asBadInput(error)] };
    throw error;
  }
  const items = context.mutationInputItems!;
  return { cost, inputItems: items.reduce((sum, n) => sum + n, 0), mutationFields: items.length };
}

function asBadInput(error: GraphQLError | Error): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error instanceof GraphQLError ? error.nodes : undefined,
    extensions: { code: "BAD_USER_INPUT" },
  });
}
