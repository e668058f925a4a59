import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { CreateProgramDoc } from "../helpers/fixtures.ts";
import { issueIntegrationTokenDoc } from "../helpers/integration-token.ts";
import { dataOf, rawId, startTestApp, TEST_JWT_SECRET, type TestApp } from "../helpers/test-app.ts";

const HOUR = 3_600;
/** The shipped default (the test harness lifts it for tests that sign year-long tokens). */
const MAX_LIFETIME = loadConfig({}).auth.maxLifetimeSeconds;

/** A person's token may live at most ACCRUE_JWT_MAX_LIFETIME_SECONDS and may not be issued in the future. */
describe("token lifetime", () => {
  let t: TestApp;
  let programId: string;
  let admin: string;
  beforeAll(async () => {
    t = await startTestApp("pglite", { env: { ACCRUE_JWT_MAX_LIFETIME_SECONDS: String(MAX_LIFETIME) } });
    const platform = await t.token({ role: "platform" }, HOUR);
    const created = dataOf(await t.gql(CreateProgramDoc, { input: { name: "Acme", currency: "USD", commissionRule: { type: "PERCENTAGE", percent: "10" } } }, platform));
    programId = rawId(created.createProgram.program!.id);
    admin = await t.token({ role: "admin", programId }, HOUR);
  });
  afterAll(() => t?.stop());

  const now = () => Math.floor(t.clock.now().getTime() / 1000);
  const sign = (claims: Record<string, unknown>) => {
    const jwt = new SignJWT({ role: "admin", program_id: programId, ...claims })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("admin@acme.test")
      .setIssuer("accrue")
      .setAudience("accrue");
    return jwt.sign(new TextEncoder().encode(TEST_JWT_SECRET));
  };
  const ask = (token: string) => t.raw({ query: "{ viewer { role } }" }, token);

  it.each([
    { name: "a lifetime of exactly the maximum", offsets: { iat: 0, exp: MAX_LIFETIME }, status: 200 },
    { name: "a lifetime over the maximum", offsets: { iat: 0, exp: MAX_LIFETIME + 1 }, status: 401 },
    { name: "a year-long token", offsets: { iat: 0, exp: 365 * 24 * HOUR }, status: 401 },
    { name: "an iat in the future (beyond the clock tolerance)", offsets: { iat: 60, exp: 2 * HOUR }, status: 401 },
    { name: "an iat within the clock tolerance", offsets: { iat: 3, exp: 2 * HOUR }, status: 200 },
    { name: "no iat at all", offsets: { exp: 2 * HOUR }, status: 401 },
  ])("answers $name with $status", async ({ offsets, status }) => {
    const claims = Object.fromEntries(Object.entries(offsets).map(([claim, offset]) => [claim, now() + (offset as number)]));
    const response = await ask(await sign(claims));
    expect(response.status).toBe(status);
    if (status === 401) {
      expect(response.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
      expect(response.errors?.[0]?.message).toMatch(/iat|lives longer/);
    } else {
      expect(response.data).toEqual({ viewer: { role: "ADMIN" } });
    }
  });

  it("leaves integration tokens to their own (revocable) expiry: a year-long one is accepted", async () => {
    const integration = await issueIntegrationTokenDoc(t, admin, ["PARTNERS_READ"]);
    const [, payload] = integration.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as { iat: number; exp: number };
    expect(claims.exp - claims.iat).toBeGreaterThan(MAX_LIFETIME);
    const response = await t.raw({ query: "{ partners { totalCount } }" }, integration);
    expect(response.errors).toBeUndefined();
  });
});
