import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";

export interface RateLimitOptions {
  mutationsPerMinute: number;
  queryCostPerMinute: number;
  /** Shared by every instance when given, so the limits hold across them. */
  redis?: Redis;
}

/** Spent: how long until the caller may try again. */
export type Throttle = { ok: true } | { ok: false; retryAfterSeconds: number; limit: string };

export interface RateLimits {
  /** Takes `count` mutations from `key`'s minute. */
  mutations(key: string, count: number): Promise<Throttle>;
  /** Takes `cost` from `key`'s query cost for the minute. */
  queryCost(key: string, cost: number): Promise<Throttle>;
}

const WINDOW_SECONDS = 60;

function limiter(name: string, points: number, redis: Redis | undefined): RateLimiterAbstract {
  const memory = new RateLimiterMemory({ keyPrefix: name, points, duration: WINDOW_SECONDS });
  if (!redis) return memory;
  // While Redis is away each instance keeps counting on its own (the
  // insurance limiter), so an outage neither stops the API nor lifts the limits.
  return new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `accrue:ratelimit:${name}`,
    points,
    duration: WINDOW_SECONDS,
    rejectIfRedisNotReady: true,
    insuranceLimiter: memory,
  });
}

/**
 * Per-token budgets for each minute (rate-limiter-flexible; in Redis
 * when configured, else in this process): mutations by count, queries by
 * their cost, so one token can neither flood writes nor keep the server busy
 * with expensive reads.
 */
export function createRateLimits(options: RateLimitOptions): RateLimits {
  const mutations = limiter("mutations", options.mutationsPerMinute, options.redis);
  const queryCost = limiter("query-cost", options.queryCostPerMinute, options.redis);
  const take = async (store: RateLimiterAbstract, key: string, points: number, limit: string): Promise<Throttle> => {
    if (points <= 0) return { ok: true };
    try {
      await store.consume(key, points);
      return { ok: true };
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)), limit };
    }
  };
  return {
    mutations: (key, count) => take(mutations, key, count, `${options.mutationsPerMinute} mutations a minute`),
    queryCost: (key, cost) => take(queryCost, key, cost, `query cost ${options.queryCostPerMinute} a minute`),
  };
}
