import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { createSecretBox } from "../../src/crypto/secret-box.ts";
import { ManualClock } from "../../src/clock.ts";
import { openDatabase, type Database } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import type { ServiceDeps } from "../../src/services/deps.ts";
import type { CommittedEvent } from "../../src/services/events.ts";
import { createTenantCache } from "../../src/services/tenant-cache.ts";
import { createMigratedPostgresDatabase } from "./database-templates.ts";
import type { DatabaseTarget } from "./databases.ts";

/**
 * The services on a real database without the HTTP layer, for property tests
 * that run thousands of operations. Events published after commit are kept.
 */
export interface ServiceHarness {
  db: Database;
  deps: ServiceDeps;
  clock: ManualClock;
  published: CommittedEvent[];
  close(): Promise<void>;
}

export async function startServiceHarness(target: DatabaseTarget = "pglite"): Promise<ServiceHarness> {
  const postgres = target === "postgres" ? await createMigratedPostgresDatabase() : undefined;
  const db = postgres ? await openDatabase({ kind: "postgres", url: postgres.url }) : await openDatabase({ kind: "pglite" });
  await migrate(db.sql);
  const clock = new ManualClock("2026-03-10T12:00:00.000Z");
  const published: CommittedEvent[] = [];
  const deps: ServiceDeps = {
    prisma: db.prisma,
    locks: db,
    sqlTransactions: db,
    secrets: createSecretBox(randomBytes(32)),
    clock,
    logger: pino({ level: "silent" }),
    events: { publish: (events) => published.push(...events) },
    tenant: createTenantCache(db.prisma),
  };
  return {
    db,
    deps,
    clock,
    published,
    async close() {
      await db.close();
      await postgres?.drop();
    },
  };
}
