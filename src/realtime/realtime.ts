import type { Logger } from "../logger.ts";
import type { PrismaClient } from "../db/database.ts";
import { createInProcessEventBus, createRedisEventBus, type EventBus } from "./event-bus.ts";
import type { FeedStats } from "./feed.ts";
import { XminSampler } from "./xmin-sampler.ts";

/** The live feed's parts one server instance shares between its subscriptions. */
export interface Realtime {
  bus: EventBus;
  sampler: XminSampler;
  /** Open feeds, with their queues (for tests and stats). */
  feeds: Set<FeedStats>;
  queueSize: number;
  /** How often a running feed checks that its token was not revoked. */
  recheckMs: number;
  close(): Promise<void>;
}

export function createRealtime(options: { redisUrl?: string; prisma: PrismaClient; logger: Logger; queueSize: number; recheckMs: number }): Realtime {
  const bus = options.redisUrl ? createRedisEventBus(options.redisUrl, options.logger) : createInProcessEventBus();
  const sampler = new XminSampler(async () => {
    const [row] = await options.prisma.$queryRaw<{ xmin: string }[]>`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`;
    return BigInt(row!.xmin);
  });
  return {
    bus,
    sampler,
    feeds: new Set(),
    queueSize: options.queueSize,
    recheckMs: options.recheckMs,
    async close() {
      sampler.stop();
      await bus.close();
    },
  };
}
