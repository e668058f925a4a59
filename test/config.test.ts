import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.ts";

describe("configuration", () => {
  it("runs on a bare machine with defaults: embedded database in .accrue, port 4000", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 4000, database: { kind: "pglite", dataDir: ".accrue" }, graphiql: true });
  });

  it("switches to PostgreSQL with DATABASE_URL", () => {
    expect(loadConfig({ DATABASE_URL: "postgresql://u@db:5432/accrue" }).database).toEqual({ kind: "postgres", url: "postgresql://u@db:5432/accrue", poolSize: 10 });
  });

  it("bounds every database wait, each configurable", () => {
    expect(loadConfig({}).databaseTimeouts).toEqual({ connectMs: 5000, statementMs: 10000, transactionStartMs: 10000, lockMs: 5000 });
    expect(
      loadConfig({
        DATABASE_CONNECT_TIMEOUT_MS: "1500",
        DATABASE_STATEMENT_TIMEOUT_MS: "30000",
        DATABASE_TRANSACTION_START_TIMEOUT_MS: "2500",
        DATABASE_LOCK_TIMEOUT_MS: "800",
      }).databaseTimeouts,
    ).toEqual({ connectMs: 1500, statementMs: 30000, transactionStartMs: 2500, lockMs: 800 });
    expect(() => loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: "0", DATABASE_CONNECT_TIMEOUT_MS: "soon" })).toThrow(
      /DATABASE_STATEMENT_TIMEOUT_MS[\s\S]*DATABASE_CONNECT_TIMEOUT_MS|DATABASE_CONNECT_TIMEOUT_MS[\s\S]*DATABASE_STATEMENT_TIMEOUT_MS/,
    );
  });

  it("lists every problem in one error", () => {
    try {
      loadConfig({ PORT: "99999", DATABASE_URL: "mysql://x", ACCRUE_JWT_SECRET: "short", ACCRUE_ENCRYPTION_KEY: "bm90MzI=", LOG_LEVEL: "loud" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join("\n");
      for (const name of ["PORT", "DATABASE_URL", "ACCRUE_JWT_SECRET", "ACCRUE_ENCRYPTION_KEY", "LOG_LEVEL"]) expect(problems).toContain(name);
    }
  });

  it("requires real secrets in production", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/ACCRUE_JWT_SECRET or ACCRUE_JWKS_URL[\s\S]*encryption key/);
  });
});

describe("limits configuration", () => {
  it("ships with limits on: no CORS origins, a 2 MB body, a day's token lifetime, a query budget of 30 queries at the limit a minute", () => {
    const { limits, auth } = loadConfig({});
    expect(limits.corsOrigins).toEqual([]);
    expect(limits.maxBodyBytes).toBe(2_000_000);
    expect(auth.maxLifetimeSeconds).toBe(86_400);
    expect(limits.queryCostPerMinute).toBe(30 * limits.maxCost);
  });

  it("takes CORS origins as a comma-separated list of origins, or * alone", () => {
    expect(loadConfig({ ACCRUE_CORS_ORIGINS: "https://app.example.com, http://localhost:5173" }).limits.corsOrigins).toEqual(["https://app.example.com", "http://localhost:5173"]);
    expect(loadConfig({ ACCRUE_CORS_ORIGINS: "*" }).limits.corsOrigins).toBe("*");
    for (const bad of ["https://app.example.com/", "app.example.com", "https://app.example.com/path", "*, https://app.example.com"]) {
      expect(() => loadConfig({ ACCRUE_CORS_ORIGINS: bad }), bad).toThrow(/ACCRUE_CORS_ORIGINS/);
    }
  });

  it("refuses a query cost budget smaller than one query at the limit", () => {
    expect(() => loadConfig({ ACCRUE_MAX_QUERY_COST: "5000", ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE: "4999" })).toThrow(/ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE/);
  });
});
