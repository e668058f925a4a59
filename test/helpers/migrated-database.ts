import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type Database } from "../../src/db/database.ts";
import { copyPgliteTemplate, createMigratedPostgresDatabase } from "./database-templates.ts";
import type { DatabaseTarget } from "./databases.ts";

/**
 * A migrated database of its own, without the server: on the embedded one a
 * copy of global-setup's migrated folder (initdb and every migration would
 * cost far more), on PostgreSQL a copy of its migrated template database.
 */
export async function openMigratedDatabase(target: DatabaseTarget): Promise<{ db: Database; close(): Promise<void> }> {
  if (target === "pglite") {
    const dataDir = mkdtempSync(join(tmpdir(), "accrue-test-"));
    copyPgliteTemplate(dataDir);
    const db = await openDatabase({ kind: "pglite", dataDir });
    return {
      db,
      async close() {
        await db.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const created = await createMigratedPostgresDatabase();
  const db = await openDatabase({ kind: "postgres", url: created.url });
  return {
    db,
    async close() {
      await db.close();
      await created.drop();
    },
  };
}
