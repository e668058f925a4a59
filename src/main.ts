import { loadConfigOrExit } from "./config.ts";
import { DataDirLockedError } from "./db/data-dir-lock.ts";
import { createLogger } from "./logger.ts";
import { seedDemo } from "./demo/seed-demo.ts";
import { buildApp } from "./server.ts";

/** `npm start`: serves accrue until SIGTERM or SIGINT. `--demo` first fills a demo program. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel);
  let app;
  try {
    app = await buildApp(config, { logger });
  } catch (error) {
    if (error instanceof DataDirLockedError) {
      logger.fatal(error.message);
      process.exit(3);
    }
    throw error;
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: no new requests, finishing in-flight ones");
    try {
      await app.stop();
      logger.info("stopped");
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, "shutdown failed");
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));

  const url = await app.start();
  if (process.argv.includes("--demo")) {
    const demo = await seedDemo(app);
    logger.info({ programId: demo.programId }, "demo program ready");
    // Development convenience only: production never prints a token.
    if (config.env !== "production") {
      if (demo.adminToken) logger.info(`demo admin token (12 h): ${demo.adminToken}`);
      if (demo.partnerToken) logger.info(`demo partner token (12 h): ${demo.partnerToken}`);
      // The token rides in the fragment, which the browser never sends to a server.
      if (demo.partnerToken) logger.info(`demo partner portal: ${url}/portal/#token=${demo.partnerToken}`);
      if (demo.adminToken) logger.info(`demo operator dashboard: ${url}/dashboard/#token=${demo.adminToken}`);
    }
  }
  const database = config.database.kind === "pglite" ? `embedded PostgreSQL in ${config.database.dataDir}` : "PostgreSQL (DATABASE_URL)";
  logger.info({ url: `${url}/graphql`, database }, `accrue is serving GraphQL at ${url}/graphql`);
  logger.info("get a development token with: npm run token -- --role platform   (or --role admin --program <id>, --role partner --program <id> --partner <id>)");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
