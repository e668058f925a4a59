import * as z from "zod";
import type { DatabaseTimeouts } from "./db/database.ts";

/**
 * The environment, parsed once at start. Nothing else reads process.env.
 * Every problem is listed in one message (see `loadConfig`).
 */
const booleanFlag = z.enum(["1", "0", "true", "false"]).transform((value) => value === "1" || value === "true");

const ConfigSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    HOST: z.string().min(1).default("0.0.0.0"),
    PORT: z.coerce.number().int().min(0).max(65535).default(4000),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
      .optional(),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    /** Opening a connection to PostgreSQL, or waiting for a free one in the pool. */
    DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(50).max(600_000).default(5_000),
    /** One SQL statement (PostgreSQL's statement_timeout); the client gives up on a silent connection a little later. */
    DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(50).max(3_600_000).default(10_000),
    /** Waiting for a transaction to start (a connection for it, or the embedded database's turn). */
    DATABASE_TRANSACTION_START_TIMEOUT_MS: z.coerce.number().int().min(50).max(600_000).default(10_000),
    /** Waiting for a row lock another transaction holds (PostgreSQL's lock_timeout). */
    DATABASE_LOCK_TIMEOUT_MS: z.coerce.number().int().min(50).max(600_000).default(5_000),
    ACCRUE_DATA_DIR: z.string().min(1).default(".accrue"),
    ACCRUE_JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    ACCRUE_JWKS_URL: z.url().optional(),
    ACCRUE_JWT_ISSUER: z.string().min(1).default("accrue"),
    ACCRUE_JWT_AUDIENCE: z.string().min(1).default("accrue"),
    ACCRUE_JWT_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
    /** base64 of 32 random bytes; encrypts bank and tax numbers at rest. */
    ACCRUE_ENCRYPTION_KEY: z
      .string()
      .refine((value) => Buffer.from(value, "base64").length === 32, "must be base64 of 32 bytes")
      .optional(),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
      .optional(),
    ACCRUE_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
    /** Live events queued per subscriber before it is told it fell behind. */
    ACCRUE_FEED_QUEUE_SIZE: z.coerce.number().int().min(1).max(100_000).default(500),
    /** How often a running feed checks that its (integration) token was not revoked. */
    ACCRUE_FEED_RECHECK_MS: z.coerce.number().int().min(50).max(3_600_000).default(30_000),
    /** How often feeds check the event table for events they were not sent live (a publish lost with Redis). */
    ACCRUE_FEED_RECONCILE_MS: z.coerce.number().int().min(50).max(86_400_000).default(2_000),
    ACCRUE_MAX_QUERY_DEPTH: z.coerce.number().int().min(2).max(50).default(12),
    /** See src/limits/field-cost.ts and BENCHMARKS.md ("Query cost"): a query at the limit answers well under a second. */
    ACCRUE_MAX_QUERY_COST: z.coerce.number().int().min(100).default(75_000),
    /** A query still running after this long is stopped and its SQL cancelled (QUERY_TIMEOUT). */
    ACCRUE_QUERY_TIMEOUT_MS: z.coerce.number().int().min(50).max(600_000).default(2_000),
    /** Largest request body read (HTTP) or message accepted (WebSocket). */
    ACCRUE_MAX_BODY_BYTES: z.coerce.number().int().min(1_024).max(100_000_000).default(2_000_000),
    /** Longest `exp - iat` accepted from a person's token (integration tokens have their own expiry, revocable). */
    ACCRUE_JWT_MAX_LIFETIME_SECONDS: z.coerce.number().int().min(60).max(31_536_000).default(86_400),
    /** Browser origins allowed to call the API from another site, comma-separated; `*` for any. None by default. */
    ACCRUE_CORS_ORIGINS: z
      .string()
      .transform((text, ctx) => {
        const origins = text
          .split(",")
          .map((origin) => origin.trim())
          .filter(Boolean);
        if (origins.length === 1 && origins[0] === "*") return "*" as const;
        for (const origin of origins) {
          let parsed: URL | undefined;
          try {
            parsed = new URL(origin);
          } catch {
            // reported below
          }
          if (!parsed || parsed.origin !== origin) {
            ctx.addIssue({ code: "custom", message: `"${origin}" is not an origin like https://app.example.com (scheme, host and port only), or * alone` });
          }
        }
        return origins;
      })
      .optional(),
    /** Mutations (root fields) one token may run per minute. */
    ACCRUE_RATE_LIMIT_MUTATIONS_PER_MINUTE: z.coerce.number().int().min(1).default(600),
    /** Query cost one token may spend per minute; default 30 times ACCRUE_MAX_QUERY_COST. */
    ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE: z.coerce.number().int().min(1).optional(),
    /** How long /readyz waits for each dependency before calling it down. */
    ACCRUE_READY_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(2_000),
    ACCRUE_GRAPHIQL: booleanFlag.optional(),
    /** Partner reads answered from memory while the partner's event sequence is unchanged (src/graphql/response-cache.ts). */
    ACCRUE_RESPONSE_CACHE: booleanFlag.default(true),
    /** Queries run as compiled JavaScript (graphql-jit) on PostgreSQL (src/graphql/use-compiled-queries.ts). */
    ACCRUE_COMPILED_QUERIES: booleanFlag.default(true),
    /** The response cache's bound, in bytes (keys and answers; the least recently used go first). */
    ACCRUE_RESPONSE_CACHE_MAX_BYTES: z.coerce.number().int().min(100_000).max(10_000_000_000).default(64_000_000),
    QBO_CLIENT_ID: z.string().min(1).optional(),
    QBO_CLIENT_SECRET: z.string().min(1).optional(),
    QBO_ENVIRONMENT: z.enum(["sandbox", "production"]).default("sandbox"),
    QBO_API_BASE_URL: z.url().optional(),
    QBO_AUTHORIZE_URL: z.url().default("https://appcenter.intuit.com/connect/oauth2"),
    QBO_TOKEN_URL: z.url().default("https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"),
    QBO_REVOKE_URL: z.url().default("https://developer.api.intuit.com/v2/oauth2/tokens/revoke"),
    QBO_REDIRECT_URI: z.url().optional(),
    QBO_WEBHOOK_VERIFIER_TOKEN: z.string().min(1).optional(),
    QBO_MINOR_VERSION: z.coerce.number().int().min(1).default(75),
    QBO_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
    /** Payment rails: override the providers' API hosts (tests point them at stand-ins). */
    PAYPAL_API_URL: z.url().optional(),
    WISE_API_URL: z.url().optional(),
    STRIPE_API_URL: z.url().optional(),
    /** PEM of the key Wise signs webhooks with, instead of Wise's published one for the connection's environment. */
    WISE_WEBHOOK_PUBLIC_KEY: z.string().includes("BEGIN PUBLIC KEY", { message: "must be a PEM public key" }).optional(),
    ACCRUE_PAYMENTS_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
    /** Scheduled work (hold releases, scheduled payout runs, accounting sync) in this process. */
    ACCRUE_SCHEDULER: booleanFlag.default(true),
    ACCRUE_SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(100).default(15_000),
    ACCRUE_ACCOUNTING_POLL_MS: z.coerce.number().int().min(1000).default(300_000),
    /**
     * JSON like {"2027":"2100"}: 1099-NEC thresholds by tax year, in USD, laid
     * over the built-in table ($600 through 2025, $2,000 from 2026), so only
     * the years given change (see merge1099Thresholds).
     */
    ACCRUE_1099_THRESHOLDS: z
      .string()
      .transform((text, ctx) => {
        try {
          const parsed = z.record(z.string().regex(/^\d{4}$/), z.string().regex(/^\d+(\.\d{1,2})?$/)).parse(JSON.parse(text));
          return Object.fromEntries(Object.entries(parsed).map(([year, amount]) => [Number(year), amount]));
        } catch {
          ctx.addIssue({ code: "custom", message: 'must be JSON like {"2027":"2100"} (years to change; the others keep $600 through 2025, $2,000 from 2026)' });
          return z.NEVER;
        }
      })
      .optional(),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === "production" && !env.ACCRUE_JWT_SECRET && !env.ACCRUE_JWKS_URL) {
      ctx.addIssue({
        code: "custom",
        path: ["ACCRUE_JWT_SECRET"],
        message: "production needs ACCRUE_JWT_SECRET or ACCRUE_JWKS_URL",
      });
    }
    if (env.ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE !== undefined && env.ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE < env.ACCRUE_MAX_QUERY_COST) {
      ctx.addIssue({
        code: "custom",
        path: ["ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE"],
        message: "must be at least ACCRUE_MAX_QUERY_COST (a query at the limit must fit a minute's budget)",
      });
    }
    if (env.NODE_ENV === "production" && !env.ACCRUE_ENCRYPTION_KEY) {
      ctx.addIssue({ code: "custom", path: ["ACCRUE_ENCRYPTION_KEY"], message: "production needs an encryption key" });
    }
  });

export type Env = z.infer<typeof ConfigSchema>;

export interface Config {
  env: Env["NODE_ENV"];
  host: string;
  port: number;
  logLevel: Env["LOG_LEVEL"];
  database: { kind: "pglite"; dataDir: string } | { kind: "postgres"; url: string; poolSize: number };
  /** How long the database may keep a request waiting (see DatabaseTimeouts in db/database.ts). */
  databaseTimeouts: DatabaseTimeouts;
  /** Holds the embedded database, and the development secrets when none are configured. */
  dataDir: string;
  auth: {
    secret?: string;
    jwksUrl?: string;
    issuer: string;
    audience: string;
    clockToleranceSeconds: number;
    /** Longest lifetime (`exp - iat`) of a token that is not an integration token. */
    maxLifetimeSeconds: number;
  };
  encryptionKey?: Buffer;
  redisUrl?: string;
  shutdownGraceMs: number;
  feedQueueSize: number;
  feedRecheckMs: number;
  feedReconcileMs: number;
  limits: {
    maxDepth: number;
    maxCost: number;
    queryTimeoutMs: number;
    maxBodyBytes: number;
    /** Origins allowed cross-site; empty: none. */
    corsOrigins: string[] | "*";
    mutationsPerMinute: number;
    queryCostPerMinute: number;
    readyTimeoutMs: number;
  };
  graphiql: boolean;
  /** Partner reads served from memory (src/graphql/response-cache.ts); off: every read is executed. */
  responseCache: { enabled: boolean; maxBytes: number };
  /** Queries compiled (graphql-jit); mutations, subscriptions and the embedded database's queries are interpreted. */
  compiledQueries: boolean;
  /** Overrides of the built-in 1099-NEC thresholds, by tax year. */
  tax1099Thresholds?: Record<number, string>;
  quickbooks: {
    clientId?: string;
    clientSecret?: string;
    apiBaseUrl: string;
    authorizeUrl: string;
    tokenUrl: string;
    revokeUrl: string;
    redirectUri: string;
    webhookVerifierToken?: string;
    minorVersion: number;
    timeoutMs: number;
  };
  scheduler: { enabled: boolean; intervalMs: number; accountingPollMs: number };
  payments: {
    paypalApiUrl?: string;
    wiseApiUrl?: string;
    stripeApiUrl?: string;
    wiseWebhookPublicKey?: string;
    timeoutMs: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`accrue cannot start; fix its configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses the environment; throws a ConfigError listing every problem at once. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // Empty strings count as unset, as shells and .env files tend to produce them.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = ConfigSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".") || "environment"}: ${issue.message}`));
  }
  const env = parsed.data;
  return {
    env: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    logLevel: env.LOG_LEVEL,
    database: env.DATABASE_URL ? { kind: "postgres", url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE } : { kind: "pglite", dataDir: env.ACCRUE_DATA_DIR },
    databaseTimeouts: {
      connectMs: env.DATABASE_CONNECT_TIMEOUT_MS,
      statementMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
      transactionStartMs: env.DATABASE_TRANSACTION_START_TIMEOUT_MS,
      lockMs: env.DATABASE_LOCK_TIMEOUT_MS,
    },
    dataDir: env.ACCRUE_DATA_DIR,
    auth: {
      secret: env.ACCRUE_JWT_SECRET,
      jwksUrl: env.ACCRUE_JWKS_URL,
      issuer: env.ACCRUE_JWT_ISSUER,
      audience: env.ACCRUE_JWT_AUDIENCE,
      clockToleranceSeconds: env.ACCRUE_JWT_CLOCK_TOLERANCE_SECONDS,
      maxLifetimeSeconds: env.ACCRUE_JWT_MAX_LIFETIME_SECONDS,
    },
    encryptionKey: env.ACCRUE_ENCRYPTION_KEY ? Buffer.from(env.ACCRUE_ENCRYPTION_KEY, "base64") : undefined,
    redisUrl: env.REDIS_URL,
    shutdownGraceMs: env.ACCRUE_SHUTDOWN_GRACE_MS,
    feedQueueSize: env.ACCRUE_FEED_QUEUE_SIZE,
    feedRecheckMs: env.ACCRUE_FEED_RECHECK_MS,
    feedReconcileMs: env.ACCRUE_FEED_RECONCILE_MS,
    limits: {
      maxDepth: env.ACCRUE_MAX_QUERY_DEPTH,
      maxCost: env.ACCRUE_MAX_QUERY_COST,
      queryTimeoutMs: env.ACCRUE_QUERY_TIMEOUT_MS,
      maxBodyBytes: env.ACCRUE_MAX_BODY_BYTES,
      corsOrigins: env.ACCRUE_CORS_ORIGINS ?? [],
      mutationsPerMinute: env.ACCRUE_RATE_LIMIT_MUTATIONS_PER_MINUTE,
      queryCostPerMinute: env.ACCRUE_RATE_LIMIT_QUERY_COST_PER_MINUTE ?? 30 * env.ACCRUE_MAX_QUERY_COST,
      readyTimeoutMs: env.ACCRUE_READY_TIMEOUT_MS,
    },
    graphiql: env.ACCRUE_GRAPHIQL ?? env.NODE_ENV !== "production",
    responseCache: { enabled: env.ACCRUE_RESPONSE_CACHE, maxBytes: env.ACCRUE_RESPONSE_CACHE_MAX_BYTES },
    compiledQueries: env.ACCRUE_COMPILED_QUERIES,
    tax1099Thresholds: env.ACCRUE_1099_THRESHOLDS,
    quickbooks: {
      clientId: env.QBO_CLIENT_ID,
      clientSecret: env.QBO_CLIENT_SECRET,
      apiBaseUrl: env.QBO_API_BASE_URL ?? (env.QBO_ENVIRONMENT === "production" ? "https://quickbooks.api.intuit.com" : "https://sandbox-quickbooks.api.intuit.com"),
      authorizeUrl: env.QBO_AUTHORIZE_URL,
      tokenUrl: env.QBO_TOKEN_URL,
      revokeUrl: env.QBO_REVOKE_URL,
      redirectUri: env.QBO_REDIRECT_URI ?? `http://localhost:${env.PORT}/integrations/quickbooks/callback`,
      webhookVerifierToken: env.QBO_WEBHOOK_VERIFIER_TOKEN,
      minorVersion: env.QBO_MINOR_VERSION,
      timeoutMs: env.QBO_TIMEOUT_MS,
    },
    scheduler: { enabled: env.ACCRUE_SCHEDULER, intervalMs: env.ACCRUE_SCHEDULER_INTERVAL_MS, accountingPollMs: env.ACCRUE_ACCOUNTING_POLL_MS },
    payments: {
      paypalApiUrl: env.PAYPAL_API_URL?.replace(/\/$/, ""),
      wiseApiUrl: env.WISE_API_URL?.replace(/\/$/, ""),
      stripeApiUrl: env.STRIPE_API_URL?.replace(/\/$/, ""),
      wiseWebhookPublicKey: env.WISE_WEBHOOK_PUBLIC_KEY,
      timeoutMs: env.ACCRUE_PAYMENTS_TIMEOUT_MS,
    },
  };
}

/** For the commands: the configuration, or every problem on stderr and exit code 2. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(2);
  }
}
