import type { Logger } from "../logger.ts";
import type { Database, PrismaClient } from "../db/database.ts";
import { createInProcessEventBus, createRedisEventBus, type EventBus } from "./event-bus.ts";
import type { FeedStats } from "./feed-engine.ts";
import { createPartnerSequences, type PartnerKey } from "./partner-sequences.ts";
import { SequenceWatch } from "./sequence-watch.ts";

/** How often a running feed checks the event table for events it was not sent live (a lost publish). */
export const FEED_RECONCILE_MS = 2_000;

/** The live feed's parts one server instance shares between its subscriptions. */
export interface Realtime {
  bus: EventBus;
  /** Finds partner feeds that missed an event, for all of this instance's partner feeds at once. */
  watch: SequenceWatch;
  /** A partner's last committed event sequence (null: no such partner in that program), read in batches. */
  partnerSequence(key: PartnerKey): Promise<bigint | null>;
  /** Open feeds, with their queues (for tests and stats). */
  feeds: Set<FeedStats>;
  queueSize: number;
  /** How often a running feed checks that its token was not revoked. */
  recheckMs: number;
  /** How often a program feed reconciles with the event table and moves its watermark. */
  reconcileMs: number;
  close(): Promise<void>;
}

export async function createRealtime(options: {
  redisUrl?: string;
  prisma: PrismaClient;
  /** Hand-written reads without Prisma (PostgreSQL); the partners' starting sequences go through it. */
  sqlReads?: Pick<Database, "sqlRead">;
  logger: Logger;
  queueSize: number;
  recheckMs: number;
  reconcileMs?: number;
}): Promise<Realtime> {
  const bus = options.redisUrl ? await createRedisEventBus(options.redisUrl, options.logger) : createInProcessEventBus();
  const reconcileMs = options.reconcileMs ?? FEED_RECONCILE_MS;
  const watch = new SequenceWatch(async (partnerIds) => {
    const rows = await options.prisma.$queryRaw<{ partner_id: string; event_sequence: bigint }[]>`
      SELECT partner_id::text, event_sequence FROM balances WHERE partner_id = ANY(${partnerIds}::uuid[])`;
    return new Map(rows.map((row) => [row.partner_id, BigInt(row.event_sequence)]));
  }, reconcileMs);
  return {
    bus,
    watch,
    partnerSequence: createPartnerSequences(options.prisma, options.sqlReads),
    feeds: new Set(),
    queueSize: options.queueSize,
    recheckMs: options.recheckMs,
    reconcileMs,
    async close() {
      watch.stop();
      await bus.close();
    },
  };
}
