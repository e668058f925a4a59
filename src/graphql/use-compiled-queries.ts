import { getOperationAST, type DocumentNode, type ExecutionArgs, type ExecutionResult } from "graphql";
import type { CompiledQuery } from "graphql-jit";
import type { Plugin } from "graphql-yoga";
import { runsCompiled } from "./compiled-paths.ts";

/** Documents whose compiled queries are kept (the least recently used goes first). */
export const MAX_COMPILED_DOCUMENTS = 200;

export interface CompiledQueries {
  plugin: Plugin;
  /** Compiled operations kept now, over every document. */
  size(): number;
  /** Queries run compiled since start. */
  runs(): number;
}

type Compiled = Pick<CompiledQuery, "query">;

/**
 * Queries run as compiled JavaScript (graphql-jit) instead of graphql's
 * interpreter: each operation of a document is compiled once, and the
 * resolvers, scalars and type resolvers are the schema's own, so the answer
 * is the same. Only queries: mutations and subscriptions stay on the
 * interpreter. A query that carries an abort signal (the embedded database,
 * where the limits stop execution field by field) runs on the interpreter,
 * which reads it; so does one the compiler refuses (it answers with the
 * interpreter's errors).
 *
 * Compiled queries are kept per document and operation name, for at most
 * `maxDocuments` documents, the least recently used evicted first: yoga's
 * parser cache hands every request with the same text the same document.
 *
 * Goes before the limits' plugin, which wraps the execute function it is given.
 * graphql-jit (and its JSON schema compiler) is loaded only here, so a server
 * that runs no query compiled (the embedded database, or turned off) does not
 * hold it: about 8 MiB of an idle process.
 */
export async function useCompiledQueries(maxDocuments = MAX_COMPILED_DOCUMENTS): Promise<CompiledQueries> {
  const { compileQuery, isCompiledQuery } = await import("graphql-jit");
  const cache = new Map<DocumentNode, Map<string, Compiled | null>>();
  let runs = 0;
  const compiledFor = (args: ExecutionArgs): Compiled | null => {
    let operations = cache.get(args.document);
    if (operations) {
      // Most recently used last.
      cache.delete(args.document);
      cache.set(args.document, operations);
    } else {
      if (cache.size >= maxDocuments) cache.delete(cache.keys().next().value!);
      cache.set(args.document, (operations = new Map()));
    }
    const name = args.operationName ?? "";
    let compiled = operations.get(name);
    if (compiled === undefined) {
      const result = compileQuery(args.schema, args.document, args.operationName ?? undefined);
      compiled = isCompiledQuery(result) ? result : null;
      operations.set(name, compiled);
    }
    return compiled;
  };
  const plugin: Plugin = {
    onExecute({ args, executeFn, setExecuteFn }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== "query") return;
      const interpret = executeFn;
      setExecuteFn((executeArgs) => {
        if ((executeArgs as { signal?: AbortSignal }).signal) return interpret(executeArgs);
        const compiled = compiledFor(executeArgs);
        if (!compiled) return interpret(executeArgs);
        runs += 1;
        runsCompiled(executeArgs.contextValue as object);
        return compiled.query(executeArgs.rootValue, executeArgs.contextValue, executeArgs.variableValues) as ExecutionResult | Promise<ExecutionResult>;
      });
    },
  };
  return {
    plugin,
    size: () => {
      let size = 0;
      for (const operations of cache.values()) size += operations.size;
      return size;
    },
    runs: () => runs,
  };
}
