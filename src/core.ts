import { loadOrCreateDevSecrets } from "./auth/dev-secrets.ts";
import { signToken } from "./auth/sign-token.ts";
import { systemClock, type Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import { createSecretBox } from "./crypto/secret-box.ts";
import { openDatabase, type Database } from "./db/database.ts";
import { migrate, readMigrations } from "./db/migrate.ts";
import { createPaymentRails } from "./integrations/payments/payment-rails.ts";
import { createQuickBooksClient, type QuickBooksClient } from "./integrations/quickbooks/client.ts";
import { createScheduler, type Scheduler } from "./jobs/scheduler.ts";
import { createLogger, type Logger } from "./logger.ts";
import { createRealtime, type Realtime } from "./realtime/realtime.ts";
import type { ServiceDeps, TokenSigner } from "./services/deps.ts";
import { createTenantCache } from "./services/tenant-cache.ts";

export interface CoreOptions {
  clock?: Clock;
  logger?: Logger;
  /** Count SQL statements (tests of N+1 behaviour). */
  countStatements?: boolean;
}

export interface Core {
  logger: Logger;
  clock: Clock;
  db: Database;
  deps: ServiceDeps;
  realtime: Realtime;
  qbo: QuickBooksClient;
  scheduler: Scheduler;
  /** HS256 secret in use, for issuing our own tokens (dev and integration tokens). */
  jwtSecret: string | undefined;
  close(): Promise<void>;
}

/**
 * Everything but the HTTP server: the database (migrated), the services'
 * dependencies, the live-event bus, the accounting client and the
 * scheduler. The server and the worker (`npm run worker`) both start here.
 */
export async function createCore(config: Config, options: CoreOptions = {}): Promise<Core> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const devSecrets = config.env === "production" ? undefined : loadOrCreateDevSecrets(config.dataDir);
  const jwtSecret = config.auth.secret ?? (config.auth.jwksUrl ? undefined : devSecrets?.jwtSecret);

  const migrations = await readMigrations();
  const db = await openDatabase(
    config.database.kind === "pglite"
      ? {
          kind: "pglite",
          dataDir: config.database.dataDir,
          // A new data folder is migrated in the process that creates it (db/embedded-initdb.ts).
          migrations,
          countStatements: options.countStatements,
          timeouts: config.databaseTimeouts,
        }
      : {
          kind: "postgres",
          url: config.database.url,
          poolSize: config.database.poolSize,
          countStatements: options.countStatements,
          timeouts: config.databaseTimeouts,
        },
  );
  try {
    const applied = await migrate(db.sql, migrations);
    if (applied.length > 0) logger.info({ applied }, "applied migrations");
  } catch (error) {
    await db.close();
    throw error;
  }

  const realtime = await createRealtime({
    redisUrl: config.redisUrl,
    prisma: db.prisma,
    sqlReads: db,
    logger,
    queueSize: config.feedQueueSize,
    recheckMs: config.feedRecheckMs,
    reconcileMs: config.feedReconcileMs,
  });
  const tokens: TokenSigner | undefined = jwtSecret
    ? { sign: (claims, times) => signToken(claims, { secret: jwtSecret, issuer: config.auth.issuer, audience: config.auth.audience, ...times }) }
    : undefined;
  const qbo = createQuickBooksClient(config.quickbooks);
  const secrets = createSecretBox(config.encryptionKey ?? Buffer.from(devSecrets!.encryptionKey, "base64"));
  const deps: ServiceDeps = {
    prisma: db.prisma,
    locks: db,
    sqlTransactions: db,
    sqlReads: db,
    secrets,
    tokens,
    clock,
    logger,
    events: realtime.bus,
    quickbooks: qbo,
    paymentRails: createPaymentRails(config.payments, secrets),
    tax1099Thresholds: config.tax1099Thresholds,
    tenant: createTenantCache(db.prisma),
  };
  const scheduler = createScheduler({ deps, db, qbo, intervalMs: config.scheduler.intervalMs, accountingPollMs: config.scheduler.accountingPollMs });
  return {
    logger,
    clock,
    db,
    deps,
    realtime,
    qbo,
    scheduler,
    jwtSecret,
    async close() {
      await scheduler.stop();
      await realtime.close();
      await db.close();
    },
  };
}
