import { loadConfigOrExit } from "./config.ts";
import { createCore } from "./core.ts";

/**
 * `npm run worker`: the scheduled work (hold releases, scheduled payout runs,
 * accounting sync) without the HTTP server, for deployments that run it
 * apart. PostgreSQL only: the embedded database belongs to the server
 * process, which runs this work itself. Any number of workers may run; each
 * task runs on one at a time (advisory locks).
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  if (config.database.kind !== "postgres") {
    console.error("npm run worker needs DATABASE_URL: with the embedded database, the server (npm start) runs the scheduled work itself.");
    process.exit(2);
  }
  const core = await createCore(config);
  core.scheduler.start();
  core.logger.info({ intervalMs: config.scheduler.intervalMs }, "accrue worker running");
  const shutdown = async (signal: string) => {
    core.logger.info({ signal }, "worker stopping");
    await core.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
