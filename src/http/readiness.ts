import type { Redis } from "ioredis";
import type { Database } from "../db/database.ts";
import type { Logger } from "../logger.ts";

export interface ReadinessOptions {
  db: Database;
  /** Checked when configured (REDIS_URL). */
  redis?: Redis;
  /** Each dependency gets this long to answer. */
  timeoutMs: number;
  logger: Logger;
}

export type DependencyState = "ok" | "timeout" | "error";

export interface Readiness {
  ready: boolean;
  /** Each dependency checked, and how it answered. */
  checks: Record<string, DependencyState>;
}

async function probe(name: string, check: () => Promise<unknown>, timeoutMs: number, logger: Logger): Promise<DependencyState> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<DependencyState>((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const answered = check().then(
    () => "ok" as const,
    (error: unknown) => {
      logger.warn({ err: error, dependency: name }, "readiness check failed");
      return "error" as const;
    },
  );
  try {
    return await Promise.race([answered, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** PING, after the connection comes up if it is still connecting (commands fail at once until then). */
async function pingWhenConnected(redis: Redis, timeoutMs: number): Promise<unknown> {
  if (redis.status !== "ready") {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`redis is ${redis.status}`)), timeoutMs);
      const onReady = () => done();
      function done(error?: Error) {
        clearTimeout(timer);
        redis.off("ready", onReady);
        if (error) reject(error);
        else resolve();
      }
      redis.on("ready", onReady);
    });
  }
  return redis.ping();
}

/**
 * `/readyz`, for load balancers: is this instance able to serve? It asks
 * the database for a row (through the same pool requests use, so a pool that
 * cannot hand out a connection in time is not ready either) and, when
 * configured, Redis for a PONG, each within `timeoutMs`. The answer names each
 * dependency and its state (`ok`, `timeout`, `error`), never an error's
 * text: details go to the log. `/health` (yoga's) answers without touching
 * anything: the process is alive.
 */
export function createReadinessCheck(options: ReadinessOptions) {
  return async function checkReadiness(): Promise<Readiness> {
    const checks: Record<string, DependencyState> = {};
    const pending: Promise<void>[] = [
      probe("database", () => options.db.sql.query("SELECT 1"), options.timeoutMs, options.logger).then((state) => {
        checks.database = state;
      }),
    ];
    const redis = options.redis;
    if (redis) {
      pending.push(
        probe("redis", () => pingWhenConnected(redis, options.timeoutMs), options.timeoutMs, options.logger).then((state) => {
          checks.redis = state;
        }),
      );
    }
    await Promise.all(pending);
    return { ready: Object.values(checks).every((state) => state === "ok"), checks };
  };
}

export type ReadinessCheck = ReturnType<typeof createReadinessCheck>;

/** The HTTP answer: 200 when ready, 503 otherwise, with the checks as JSON. */
export async function readinessResponse(check: ReadinessCheck, ResponseType: typeof Response = Response): Promise<Response> {
  const readiness = await check();
  return new ResponseType(JSON.stringify({ status: readiness.ready ? "ready" : "unavailable", checks: readiness.checks }), {
    status: readiness.ready ? 200 : 503,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}
