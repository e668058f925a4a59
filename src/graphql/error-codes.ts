import type { Plugin } from "graphql-yoga";
import { GraphQLError, type ExecutionResult } from "graphql";

/**
 * Every error a client sees carries `extensions.code`. graphql-js leaves
 * request errors (a variable of the wrong type) and Pothos its input checks
 * (a malformed global id) without one; those are the caller's to fix, so
 * they become BAD_USER_INPUT. Unexpected errors are masked by yoga
 * (INTERNAL_SERVER_ERROR) and keep that code.
 */
function withCode(error: GraphQLError): GraphQLError {
  if (error.extensions?.code) return error;
  const original = error.originalError;
  const fromInput = !original || original instanceof GraphQLError || original.name === "PothosValidationError";
  if (!fromInput) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code: "BAD_USER_INPUT" },
  });
}

function fix(result: ExecutionResult): ExecutionResult {
  return result.errors?.some((error) => !error.extensions?.code) ? { ...result, errors: result.errors.map(withCode) } : result;
}

export function useErrorCodes(): Plugin {
  return {

    onExecute: () => ({
      onExecuteDone: ({ result, setResult }) => {
        if (Symbol.asyncIterator in result) return;
        setResult(fix(result));
      },
    }),
    onSubscribe: () => ({
      onSubscribeResult: ({ result, setResult }) => {
        if (Symbol.asyncIterator in result) return;
        setResult(fix(result));
      },
    }),
  };
}
