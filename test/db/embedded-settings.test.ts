import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";

// The embedded database starts with small shared memory: PGlite zeroes all of it at start, so
// PostgreSQL's 128 MB of shared buffers and its 100 connections' tables stayed in the idle
// server's memory for good (BENCHMARKS.md, "Idle server").
describe("the embedded database's settings", () => {
  it.each([
    ["in memory", undefined],
    ["in a data directory", "dir"],
  ])("%s: 1 MB of shared buffers, 10 connections", async (_where, withDir) => {
    const dataDir = withDir ? mkdtempSync(join(tmpdir(), "accrue-embedded-")) : undefined;
    const db = await openDatabase(dataDir ? { kind: "pglite", dataDir } : { kind: "pglite" });
    try {
      const [row] = await db.sql.query<{ shared_buffers: string; max_connections: string }>(
        "SELECT current_setting('shared_buffers') AS shared_buffers, current_setting('max_connections') AS max_connections",
      );
      expect(row).toEqual({ shared_buffers: "1MB", max_connections: "10" });
      // The defaults PGlite starts with still apply next to them.
      const [path] = await db.sql.query<{ search_path: string }>("SHOW search_path");
      expect(path?.search_path).toBe("public");
    } finally {
      await db.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("migrates a new data directory and answers a read that walks more pages than the buffers hold", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "accrue-embedded-"));
    const db = await openDatabase({ kind: "pglite", dataDir });
    try {
      // Every migration in one start: the lock table sized by ten connections holds their locks.
      expect((await migrate(db.sql)).length).toBeGreaterThan(0);
      await db.sql.exec("CREATE TABLE scratch_pages (n int, filler text)");
      // About 4 MB of rows: four times the shared buffers, read back from the data directory's files.
      await db.sql.exec("INSERT INTO scratch_pages SELECT n, repeat('x', 400) FROM generate_series(1, 10000) AS n");
      const [sum] = await db.sql.query<{ total: string }>("SELECT sum(n)::text AS total FROM scratch_pages");
      expect(sum?.total).toBe("50005000");
    } finally {
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
