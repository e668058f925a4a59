import { print } from "graphql";
import { signToken } from "../../src/auth/sign-token.ts";
import { ManualClock } from "../../src/clock.ts";
import type { ApiClient, GraphQLResponse } from "./test-app.ts";

/**
 * What TestApp gives the fixtures and documents (gql, raw, token, clock),
 * for a server running in another process: tests that kill or signal real
 * processes, and the soak. Tokens are signed with the secret the process
 * was started with.
 */
export function apiClient(url: string, secret: string, options: { issuer?: string; audience?: string } = {}): ApiClient {
  // The process reads the system clock; this one only dates the tokens.
  const clock = new ManualClock(new Date().toISOString());
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
    return { status: response.status, headers: response.headers, ...json };
  }
  return {
    url,
    clock,
    gql: (document, variables, token) => post({ query: print(document), variables }, token) as never,
    raw: post,
    token: (claims, expiresInSeconds = 86_400) =>
      signToken(
        { subject: claims.subject ?? `${claims.role}-user`, ...claims },
        {
          secret,
          issuer: options.issuer ?? "accrue",
          audience: options.audience ?? "accrue",
          issuedAt: new Date(),
          expiresAt: new Date(Date.now() + expiresInSeconds * 1000),
        },
      ),
  };
}
