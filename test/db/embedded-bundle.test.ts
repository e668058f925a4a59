import { PGlite } from "@electric-sql/pglite";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/database.ts";
import { releaseFileBundle } from "../../src/db/embedded-bundle.ts";
import { migrate } from "../../src/db/migrate.ts";

// PGlite's in-memory files were views of its whole 5 MiB bundle, kept for good; the server lets
// go of it once the database is ready (BENCHMARKS.md, "Idle server").
describe("the embedded database's file bundle", () => {
  it("is let go of, and what PostgreSQL reads at run time is still there", async () => {
    const pglite = new PGlite();
    try {
      await pglite.waitReady;
      const files = () => {
        const names: string[] = [];
        const walk = (path: string) => {
          for (const name of pglite.Module.FS.readdir(path)) {
            if (name === "." || name === "..") continue;
            const full = `${path}/${name}`;
            if (pglite.Module.FS.isDir(pglite.Module.FS.stat(full).mode)) walk(full);
            else names.push(full);
          }
        };
        walk("/pglite/share");
        walk("/pglite/lib");
        return names;
      };
      const before = files();
      expect(releaseFileBundle(pglite)).toBeGreaterThan(3_000_000);
      const after = files();
      expect(after).not.toContain("/pglite/share/postgresql/postgres.bki");
      expect(after.filter((file) => file.includes("/pgxs/"))).toEqual([]);
      // Each file kept reads as it did (a file still on the detached bundle would read empty).
      expect(after.length).toBeGreaterThan(500);
      for (const file of after) expect(pglite.Module.FS.readFile(file).byteLength, file).toBeGreaterThan(0);
      expect(before.length).toBeGreaterThan(after.length);
      // Let go of once: nothing is left to release.
      expect(releaseFileBundle(pglite)).toBe(0);

      // Time zones (programs' months), PL/pgSQL and text search still load from the files kept.
      const [zone] = (await pglite.query<{ local: string }>("SELECT to_char(timestamptz '2026-03-01 05:00Z' AT TIME ZONE 'America/Denver', 'YYYY-MM-DD HH24') AS local")).rows;
      expect(zone?.local).toBe("2026-02-28 22");
      await pglite.exec("CREATE FUNCTION one() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$");
      expect((await pglite.query<{ one: number }>("SELECT one()")).rows).toEqual([{ one: 1 }]);
      expect((await pglite.query<{ v: string }>("SELECT to_tsvector('english', 'running dogs')::text AS v")).rows).toEqual([{ v: "'dog':2 'run':1" }]);
    } finally {
      await pglite.close();
    }
  });

  it("the database the server opens runs every migration after letting go of it", async () => {
    const db = await openDatabase({ kind: "pglite" });
    try {
      expect((await migrate(db.sql)).length).toBeGreaterThan(0);
      const [row] = await db.sql.query<{ month: string }>("SELECT to_char(timestamptz '2026-03-01 05:00Z' AT TIME ZONE 'Pacific/Auckland', 'YYYY-MM') AS month");
      expect(row?.month).toBe("2026-03");
    } finally {
      await db.close();
    }
  });
});
