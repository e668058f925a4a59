import { cpSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "./databases.ts";

/**
 * Copies of the migrated databases global-setup.ts makes once per set of
 * migrations (inside vitest only: they come through its `inject`).
 */

/** Copies the migrated embedded database into `dataDir`. */
export function copyPgliteTemplate(dataDir: string): void {
  cpSync(join(inject("pgliteTemplate"), "pgdata"), join(dataDir, "pgdata"), { recursive: true });
}

/**
 * A database of its own with every migration applied: a copy of the
 * template global-setup.ts migrated once for this run's migrations.
 */
export async function createMigratedPostgresDatabase(): Promise<ScratchDatabase> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error("TEST_DATABASE_URL is not set");
  const template = inject("postgresTemplate");
  if (!template) throw new Error("global-setup.ts made no PostgreSQL template (TEST_DATABASE_URL was not set when it ran)");
  return createScratchDatabase(base, `accrue_test_${process.pid}`, template);
}
