import { GraphQLError, Kind, visit, type ASTNode, type DocumentNode, type ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";

/**
 * PostgreSQL text and jsonb cannot hold the NUL character (U+0000): a string
 * carrying one fails in the database (22021) wherever it lands, a filter as
 * much as a write. No input of ours has a use for it, so every request is
 * checked once, before execution, over HTTP and WebSocket alike: variables
 * (values and object keys, at any depth) and string literals in the
 * document. The error names where the character is.
 */
export function useNulCharacterGuard(): Plugin {
  // A document's literals do not change: yoga's parser cache hands every
  // request with the same text the same document, so a storm of identical
  // subscriptions (or portal reads) walks it once. Only documents found clean
  // are remembered; one holding a NUL is walked (and refused) every time.
  const clean = new WeakSet<DocumentNode>();
  const refuse = (document: DocumentNode, variables: unknown): ExecutionResult | undefined => {
    let error = inVariables(variables);
    if (!error && !clean.has(document)) {
      error = inDocument(document);
      if (!error) clean.add(document);
    }
    return error ? { errors: [error] } : undefined;
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => {
      const result = refuse(args.document, args.variableValues);
      if (result) setResultAndStopExecution(result);
    },
    onSubscribe: ({ args, setResultAndStopExecution }) => {
      const result = refuse(args.document, args.variableValues);
      if (result) setResultAndStopExecution(result);
    },
  };
}

function refusal(where: string, nodes?: ASTNode): GraphQLError {
  return new GraphQLError(`${where} contains a NUL character (\\u0000), which text here cannot hold`, {
    nodes,
    extensions: { code: "BAD_USER_INPUT" },
  });
}

/** Iterative, with paths built only for a find: variables may nest thousands deep (JSONObject). */
function inVariables(variables: unknown): GraphQLError | undefined {
  type Step = { value: unknown; key: string; parent?: Step };
  const pathOf = (step: Step | undefined): string[] => (step?.parent ? [...pathOf(step.parent), step.key] : []);
  const stack: Step[] = [{ value: variables, key: "" }];
  while (stack.length > 0) {
    const step = stack.pop()!;
    if (typeof step.value === "string") {
      if (step.value.includes("\0")) return refusal(`$${pathOf(step).join(".")}`);
    } else if (step.value !== null && typeof step.value === "object") {
      for (const [key, value] of Object.entries(step.value)) {
        if (key.includes("\0")) return refusal(`$${[...pathOf(step), "<key>"].join(".")}`);
        stack.push({ value, key, parent: step });
      }
    }
  }
  return undefined;
}

function inDocument(document: DocumentNode): GraphQLError | undefined {
  let found: GraphQLError | undefined;
  visit(document, {
    StringValue(node, _key, parent, _path, ancestors) {
      if (found || !node.value.includes("\0")) return;
      const names = [...ancestors, parent]
        .filter((ancestor): ancestor is ASTNode => !!ancestor && !Array.isArray(ancestor) && (ancestor as ASTNode).kind !== undefined)
        .flatMap((ancestor) => (ancestor.kind === Kind.ARGUMENT || ancestor.kind === Kind.OBJECT_FIELD ? [ancestor.name.value] : []));
      found = refusal(names.join(".") || "a string", node);
    },
  });
  return found;
}
