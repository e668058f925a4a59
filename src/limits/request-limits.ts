import type { Config } from "../config.ts";
import type { Database } from "../db/database.ts";
import { cancelTaggedStatements } from "../db/statement-tags.ts";
import { createReadinessCheck, type ReadinessCheck } from "../http/readiness.ts";
import type { Logger } from "../logger.ts";
import { costWeightsFor } from "./field-cost.ts";
import { createRateLimits } from "./rate-limits.ts";
import { useRequestLimits } from "./use-request-limits.ts";

export interface RequestLimits {
  /** The envelop plugin: cost, rate and time limits for every operation. */
  plugin: ReturnType<typeof useRequestLimits>;
  readiness: ReadinessCheck;
  /** Since start: queries stopped at the time limit, queries stopped because their client went away, statements cancelled for them. */
  stats: { timedOutQueries: number; abandonedQueries: number; cancelledStatements: number };
  close(): Promise<void>;
}

/**
 * The server's limits, built from the configuration: the shared Redis
 * connection for the rate limits (when REDIS_URL is set), the plugin, and
 * the readiness check (which pings that same Redis).
 */
export async function createRequestLimits(config: Config, db: Database, logger: Logger): Promise<RequestLimits> {
  // Loaded only with REDIS_URL: a single instance never holds Redis's client (BENCHMARKS.md, "Idle server").
  const Redis = config.redisUrl ? (await import("ioredis")).Redis : undefined;
  // Commands fail at once while Redis is away (the rate limits fall back to
  // per-instance counting, /readyz says so) instead of queueing; errors are
  // logged, never thrown at the process.
  const redis = config.redisUrl && Redis ? new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: "accrue-limits" }) : undefined;
  redis?.on("error", (error) => logger.debug({ err: error }, "redis (limits) connection error"));
  const stats = { timedOutQueries: 0, abandonedQueries: 0, cancelledStatements: 0 };
  const database = config.database;
  const plugin = useRequestLimits({
    maxCost: config.limits.maxCost,
    costWeights: costWeightsFor(config.database.kind),
    queryTimeoutMs: config.limits.queryTimeoutMs,
    rateLimits: createRateLimits({ mutationsPerMinute: config.limits.mutationsPerMinute, queryCostPerMinute: config.limits.queryCostPerMinute, redis }),
    cancelStatements: database.kind === "postgres" ? (tag) => cancelTaggedStatements(database.url, tag) : undefined,
    logger,
    onStopped: (reason, cancelled) => {
      if (reason === "timeout") stats.timedOutQueries += 1;
      else stats.abandonedQueries += 1;
      stats.cancelledStatements += cancelled;
    },
  });
  return {
    plugin,
    readiness: createReadinessCheck({ db, redis, timeoutMs: config.limits.readyTimeoutMs, logger }),
    stats,
    async close() {
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
