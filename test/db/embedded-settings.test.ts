import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.ts";

// The embedded database starts with small shared buffers: PostgreSQL's 128 MB default, once
// touched, stayed in the idle server's memory for good (BENCHMARKS.md, "Idle server").
describe("the embedded database's settings", () => {
  it.each([
    ["in memory", undefined],
    ["in a data directory", "dir"],
  ])("%s: 16 MB of shared buffers", async (_where, withDir) => {
    const dataDir = withDir ? mkdtempSync(join(tmpdir(), "accrue-embedded-")) : undefined;
    const db = await openDatabase(dataDir ? { kind: "pglite", dataDir } : { kind: "pglite" });
    try {
      const [row] = await db.sql.query<{ shared_buffers: string }>("SHOW shared_buffers");
      expect(row?.shared_buffers).toBe("16MB");
      // The defaults PGlite starts with still apply next to it.
      const [path] = await db.sql.query<{ search_path: string }>("SHOW search_path");
      expect(path?.search_path).toBe("public");
    } finally {
      await db.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
