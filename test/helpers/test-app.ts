import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signToken, type TokenClaims } from "../../src/auth/sign-token.ts";
import { ManualClock } from "../../src/clock.ts";
import { loadConfig } from "../../src/config.ts";
import type { Logger } from "../../src/logger.ts";
import { buildApp, type App } from "../../src/server.ts";
import { copyPgliteTemplate, createMigratedPostgresDatabase } from "./database-templates.ts";
import type { DatabaseTarget } from "./databases.ts";

export const TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256!";

export interface GraphQLResponse<T> {
  status: number;
  /** The HTTP response's headers (Retry-After, …). */
  headers?: Headers;
  data?: T | null;
  errors?: { message: string; path?: string[]; extensions?: { code?: string } & Record<string, unknown> }[];
}

export interface TestApp {
  app: App;
  url: string;
  clock: ManualClock;
  target: DatabaseTarget;
  /** Sends a typed document over HTTP; `token` becomes the bearer token. */
  gql<T, V>(document: TypedDocumentNode<T, V>, variables?: V, token?: string | null): Promise<GraphQLResponse<T>>;
  /** Sends a raw request body (for malformed documents). */
  raw(body: unknown, token?: string | null, headers?: Record<string, string>): Promise<GraphQLResponse<unknown>>;
  token(claims: Partial<TokenClaims> & Pick<TokenClaims, "role">, expiresInSeconds?: number): Promise<string>;
  stop(): Promise<void>;
}

/**
 * What the fixtures and documents need of a running server: TestApp has it,
 * and so does a server in another process (api-client.ts).
 */
export type ApiClient = Pick<TestApp, "url" | "gql" | "raw" | "token" | "clock">;

/** Starts the real server (HTTP on a random port) on the given database. */
export async function startTestApp(
  target: DatabaseTarget,
  options: {
    env?: Record<string, string>;
    countStatements?: boolean;
    clock?: ManualClock;
    databaseUrl?: string;
    /** Scheduled tasks are made to fail here on purpose; otherwise stop() fails when any did. */
    expectTaskFailures?: boolean;
    /** The app's one logger, from the start: yoga, the WebSocket server and the services all write to it. */
    logger?: Logger;
  } = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), "accrue-test-"));
  if (target === "pglite") copyPgliteTemplate(dataDir);
  const postgres = target === "postgres" && !options.databaseUrl ? await createMigratedPostgresDatabase() : undefined;
  const clock = options.clock ?? new ManualClock("2026-03-10T12:00:00.000Z");
  const config = loadConfig({
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: process.env.ACCRUE_TEST_LOG_LEVEL ?? "silent",
    ACCRUE_DATA_DIR: dataDir,
    ACCRUE_JWT_SECRET: TEST_JWT_SECRET,
    ACCRUE_SHUTDOWN_GRACE_MS: "2000",
    // Tests move a manual clock by months and sign year-long tokens, and
    // drive many requests from one token; the limits' own tests set these.
    ACCRUE_JWT_MAX_LIFETIME_SECONDS: String(365 * 86_400),
    ACCRUE_RATE_LIMIT_MUTATIONS_PER_MINUTE: "1000000",
    ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE: "1000000000",
    // The 2 s request budget is a production guard against heavy queries;
    // on a busy machine an ordinary test request can take longer, and a
    // test must not depend on the machine's speed. query-timeout.test.ts
    // sets its own budget.
    ACCRUE_QUERY_TIMEOUT_MS: "60000",
    ...(postgres ? { DATABASE_URL: postgres.url } : {}),
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  });
  const app = await buildApp(config, { clock, countStatements: options.countStatements, logger: options.logger });
  const url = await app.start();

  async function post(body: unknown, token?: string | null, headers: Record<string, string> = {}) {
    const response = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json, application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    const json = (await response.json()) as Omit<GraphQLResponse<unknown>, "status">;
    // The headers are there to read (Retry-After, …), not to compare: two answers
    // alike in status and body differ in Date across a second's edge, and
    // toEqual compares what a Headers iterates. Not enumerable, so it skips them.
    return Object.defineProperty({ status: response.status, ...json }, "headers", { value: response.headers, enumerable: false }) as GraphQLResponse<unknown>;
  }

  return {
    app,
    url,
    clock,
    target,
    gql: (document, variables, token) => post({ query: print(document), variables }, token) as never,
    raw: post,
    token: (claims, expiresInSeconds = 365 * 86_400) =>
      signToken(
        { subject: claims.subject ?? `${claims.role}-user`, ...claims },
        {
          secret: TEST_JWT_SECRET,
          issuer: config.auth.issuer,
          audience: config.auth.audience,
          issuedAt: clock.now(),
          expiresAt: new Date(clock.now().getTime() + expiresInSeconds * 1000),
        },
      ),
    async stop() {
      await app.stop();
      await postgres?.drop();
      rmSync(dataDir, { recursive: true, force: true });
      // The scheduler only logs a failing task, and tests log nothing: every
      // test app checks here that none failed, whoever ran it.
      const failed = app.scheduler.failures();
      if (failed.length > 0 && !options.expectTaskFailures) {
        throw new Error(`scheduled tasks failed during this test file: ${JSON.stringify(failed)} (run with ACCRUE_TEST_LOG_LEVEL=error for details)`);
      }
    },
  };
}

/** The database id inside a Relay global id ("Partner:<uuid>" in base64). */
export function rawId(globalId: string): string {
  const decoded = Buffer.from(globalId, "base64").toString("utf8");
  return decoded.slice(decoded.indexOf(":") + 1);
}

export function globalId(type: string, id: string): string {
  return Buffer.from(`${type}:${id}`).toString("base64");
}

/** Fails with the response when the GraphQL call has errors; returns its data. */
export function dataOf<T>(response: GraphQLResponse<T>): T {
  if (response.errors?.length || !response.data) {
    throw new Error(`GraphQL call failed (${response.status}): ${JSON.stringify(response.errors ?? response)}`);
  }
  return response.data;
}
