import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.ts";
import { createEmbeddedDataDir } from "../../src/db/embedded-initdb.ts";
import { migrate, readMigrations } from "../../src/db/migrate.ts";

// A new embedded data folder is made by a process of its own, so PGlite's initdb (a second
// PostgreSQL in memory, copied over) leaves nothing in the server's memory (BENCHMARKS.md, "Idle server").
describe("creating the embedded database's data folder", () => {
  const folders: string[] = [];
  const folder = () => {
    const dir = mkdtempSync(join(tmpdir(), "accrue-initdb-"));
    folders.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("creates a database the server then opens, with nothing left beside it", async () => {
    const dataDir = folder();
    const db = await openDatabase({ kind: "pglite", dataDir });
    try {
      const [row] = await db.sql.query<{ answer: number }>("SELECT 6 * 7 AS answer");
      expect(row?.answer).toBe(42);
    } finally {
      await db.close();
    }
    expect(readFileSync(join(dataDir, "pgdata", "PG_VERSION"), "utf8").trim()).toMatch(/^\d+$/);
    expect(readdirSync(dataDir).filter((name) => name.startsWith("pgdata"))).toEqual(["pgdata"]);
  });

  // A first start's DDL runs in that process too, not in the server's (BENCHMARKS.md, "Idle server").
  it("applies the migrations it is given there, recorded as migrate() records them", async () => {
    const dataDir = folder();
    const migrations = await readMigrations();
    const db = await openDatabase({ kind: "pglite", dataDir, migrations });
    try {
      expect(await migrate(db.sql, migrations)).toEqual([]);
      const recorded = await db.sql.query<{ migration_name: string; checksum: string }>(
        `SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL ORDER BY migration_name`,
      );
      expect(recorded).toEqual(migrations.map(({ name, checksum }) => ({ migration_name: name, checksum })));
      const [tables] = await db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename = 'programs'");
      expect(tables?.n).toBe(1);
    } finally {
      await db.close();
    }
  });

  it("leaves no folder when a migration fails, naming the error", async () => {
    const pgdata = join(folder(), "pgdata");
    const broken = [{ name: "0001_broken", sql: "CREATE TABLE t (id int); SELECT no_such_function();", checksum: "x" }];
    await expect(createEmbeddedDataDir(pgdata, broken)).rejects.toThrow(/no_such_function/);
    expect(existsSync(pgdata)).toBe(false);
    expect(readdirSync(join(pgdata, ".."))).toEqual([]);
  });

  it("leaves a data folder that holds a database as it is", async () => {
    const pgdata = join(folder(), "pgdata");
    await createEmbeddedDataDir(pgdata);
    writeFileSync(join(pgdata, "marker"), "kept");
    await createEmbeddedDataDir(pgdata);
    expect(readFileSync(join(pgdata, "marker"), "utf8")).toBe("kept");
  });

  it("refuses a folder holding files but no database, and changes nothing in it", async () => {
    const dataDir = folder();
    const pgdata = join(dataDir, "pgdata");
    mkdirSync(pgdata);
    writeFileSync(join(pgdata, "notes.txt"), "mine");
    await expect(createEmbeddedDataDir(pgdata)).rejects.toThrow(/holds files but no database/);
    expect(readdirSync(pgdata)).toEqual(["notes.txt"]);
    expect(readdirSync(dataDir)).toEqual(["pgdata"]);
  });

  it("fills an empty folder made by hand", async () => {
    const pgdata = join(folder(), "pgdata");
    mkdirSync(pgdata);
    await createEmbeddedDataDir(pgdata);
    expect(existsSync(join(pgdata, "PG_VERSION"))).toBe(true);
  });
});
