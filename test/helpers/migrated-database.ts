import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type Database } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { createPostgresDatabase, type DatabaseTarget } from "./databases.ts";
import { copyPgliteTemplate } from "./test-app.ts";

/**
 * A migrated database of its own, without the server: on the embedded one a
 * copy of global-setup's migrated folder (initdb and every migration would
 * cost far more), on PostgreSQL a scratch database migrated here.
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
  const created = await createPostgresDatabase();
  const db = await openDatabase({ kind: "postgres", url: created.url });
  await migrate(db.sql);
  return {
    db,
    async close() {
      await db.close();
      await created.drop();
    },
  };
}
