import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { openDatabase } from "../../src/db/database.ts";
import { migrate, readMigrations } from "../../src/db/migrate.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** A migrated embedded database folder to copy, instead of paying initdb in every test file. */
    pgliteTemplate: string;
  }
}

/**
 * In CI (ACCRUE_REQUIRE_SERVICES=1) the PostgreSQL and Redis tests are
 * required: a missing TEST_DATABASE_URL or REDIS_URL fails the run here
 * instead of letting those tests skip.
 *
 * Also prepares one migrated PGlite folder per set of migrations: a new
 * PGlite folder costs seconds (initdb), a copy of one a fraction of that.
 */
export default async function setup(project: TestProject): Promise<void> {
  if (process.env.ACCRUE_REQUIRE_SERVICES === "1") {
    const missing = ["TEST_DATABASE_URL", "REDIS_URL"].filter((name) => !process.env[name]);
    if (missing.length > 0) {
      throw new Error(`ACCRUE_REQUIRE_SERVICES=1 but ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not set`);
    }
  }
  const migrations = await readMigrations();
  const key = createHash("sha256").update(migrations.map((m) => m.checksum).join()).digest("hex").slice(0, 16);
  const template = join(tmpdir(), `accrue-pglite-template-${key}`);
  if (!existsSync(join(template, "pgdata"))) {
    const building = `${template}.${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building, { recursive: true });
    const db = await openDatabase({ kind: "pglite", dataDir: building });
    await migrate(db.sql, migrations);
    await db.close();
    rmSync(template, { recursive: true, force: true });
    renameSync(building, template);
  }
  project.provide("pgliteTemplate", template);
}
