import { maskError as yogaMaskError, type Plugin } from "graphql-yoga";
import { GraphQLError, type ExecutionResult } from "graphql";
import { isDatabaseUnavailable } from "../db/errors.ts";

/** Seconds a client is asked to wait before retrying after SERVICE_UNAVAILABLE (Retry-After). */
export const RETRY_AFTER_SECONDS = 5;

/** A failure that is no defect: what the client is told, over every transport. */
export interface ExpectedFailure {
  code: string;
  message: string;
  /** HTTP status, and headers for it. */
  status: number;
  headers: Record<string, string>;
}

/**
 * Unexpected errors a client may still be told about, in order; the first
 * that matches wins, and anything else stays masked as
 * INTERNAL_SERVER_ERROR "Unexpected error." (a defect). A mapping that must
 * win over the database's (a request's own budget running out, which also
 * cancels its SQL) goes before it.
 */
const EXPECTED_FAILURES: { matches(error: unknown): boolean; failure: ExpectedFailure }[] = [
  {
    matches: isDatabaseUnavailable,
    failure: {
      code: "SERVICE_UNAVAILABLE",
      message:
        "The service is unavailable: its database could not be reached or did not answer in time. Retry later; a write retried with the same idempotency key takes effect once.",
      status: 503,
      headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
    },
  },
];

/** What to tell the client about an unexpected error, when it is one of the expected failures. */
export function expectedFailure(error: unknown): ExpectedFailure | undefined {
  return EXPECTED_FAILURES.find((entry) => entry.matches(error))?.failure;
}

/** The GraphQL error for an expected failure, at the place `error` was raised (when it was a GraphQLError). */
export function failureError(failure: ExpectedFailure, at?: unknown): GraphQLError {
  const located = at instanceof GraphQLError ? at : undefined;
  return new GraphQLError(failure.message, {
    nodes: located?.nodes,
    source: located?.source,
    positions: located?.positions,
    path: located?.path,
    extensions: { code: failure.code, http: { status: failure.status, headers: failure.headers } },
  });
}

/**
 * yoga's error masking (maskedErrors.maskError), for every path a client can
 * see an error through: execution over HTTP, SSE and WebSocket, and the
 * context (authentication) before it. Expected failures keep their own code
 * and status; everything else is masked as yoga masks it.
 */
export function maskError(error: unknown, message: string, isDev?: boolean): Error {
  if (error instanceof GraphQLError && error.extensions?.code && !error.originalError) return error;
  const failure = expectedFailure(error);
  if (failure) return failureError(failure, error);
  return yogaMaskError(error, message, isDev);
}

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

type HooksOf<K extends "onExecute" | "onSubscribe"> = Exclude<Awaited<ReturnType<NonNullable<Plugin[K]>>>, void>;

/** The hooks, made once: envelop keeps a subscription's for as long as it is open. */
const executeHooks: HooksOf<"onExecute"> = {
  onExecuteDone: ({ result, setResult }) => {
    if (Symbol.asyncIterator in result) return;
    setResult(fix(result));
  },
};
const subscribeHooks: HooksOf<"onSubscribe"> = {
  onSubscribeResult: ({ result, setResult }) => {
    if (Symbol.asyncIterator in result) return;
    setResult(fix(result));
  },
};

export function useErrorCodes(): Plugin {
  return {
    onExecute: () => executeHooks,
    onSubscribe: () => subscribeHooks,
  };
}
