import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, renameSync, rmdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { CREATE_MIGRATIONS_TABLE, type Migration, RECORD_MIGRATION } from "./migrate.ts";

/**
 * Run by the child process: PGlite, given a folder without a database,
 * creates one there (initdb), applies the migrations read from stdin (JSON,
 * see createEmbeddedDataDir), each in its own transaction and recorded as
 * migrate() records it, and stops.
 */
const CREATE = `const { PGlite } = require(process.argv[2]);
(async () => {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const { setup, record, migrations } = JSON.parse(input);
  const pglite = new PGlite(process.argv[1]);
  await pglite.waitReady;
  if (migrations.length > 0) await pglite.exec(setup);
  for (const migration of migrations) {
    await pglite.transaction(async (tx) => {
      await tx.exec(migration.sql);
      await tx.query(record, [migration.id, migration.checksum, migration.name]);
    });
  }
  await pglite.close();
})().catch((error) => {
  console.error(error);
  process.exit(1);
});`;

/**
 * Creates the embedded database's data folder `pgdata` (PostgreSQL's
 * initdb) unless it holds a database already, in a short-lived node process
 * of its own that exits before the server opens the folder, as PostgreSQL's
 * own initdb is a program of its own. In the server's process, PGlite's
 * initdb runs a second PostgreSQL in memory and copies its files over: some
 * 800 MB at its peak, of which 50–80 MiB stayed resident in the idle server
 * for good (freed memory the C allocator keeps; BENCHMARKS.md, "Idle
 * server"). The database itself always runs in the server's process.
 *
 * The folder is made under a name of its own next to `pgdata` and renamed
 * into place once complete, so a start that is interrupted leaves no half
 * database behind (the next start makes it again).
 *
 * `migrations` are applied there too, so a first start runs its DDL in that
 * process rather than the server's: the memory PostgreSQL's code for it
 * takes (WebAssembly compiled on first use, and the allocator's heap) was
 * about 10 MiB of the idle server's after a first start, against a later
 * start (BENCHMARKS.md, "Idle server"). The server's own migrate() then
 * finds them applied. A migration that fails fails the start and leaves no
 * folder.
 */
export async function createEmbeddedDataDir(pgdata: string, migrations: Migration[] = []): Promise<void> {
  if (existsSync(join(pgdata, "PG_VERSION"))) return;
  // An empty folder (made by hand) is filled; one holding files but no database is left as it is.
  if (existsSync(pgdata) && readdirSync(pgdata).length > 0) {
    throw new Error(`${pgdata} holds files but no database (no PG_VERSION): move it away, and accrue creates a new one there`);
  }
  const partial = `${pgdata}.initdb-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  const pgliteEntry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ["-e", CREATE, partial, pgliteEntry], { stdio: ["pipe", "ignore", "pipe"] });
      child.stdin.end(
        JSON.stringify({
          setup: CREATE_MIGRATIONS_TABLE,
          record: RECORD_MIGRATION,
          migrations: migrations.map(({ name, sql, checksum }) => ({ id: randomUUID(), name, sql, checksum })),
        }),
      );
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.once("error", reject);
      child.once("exit", (code, signal) => {
        if (code === 0) resolve();
        else reject(new Error(`creating the embedded database in ${pgdata} failed (${signal ?? `exit code ${code}`}): ${stderr.trim()}`));
      });
    });
    if (!existsSync(join(partial, "PG_VERSION"))) throw new Error(`creating the embedded database in ${pgdata} left no PG_VERSION`);
    // Fails if files appeared in it meanwhile (the data folder's lock keeps other accrue processes out).
    if (existsSync(pgdata)) rmdirSync(pgdata);
    renameSync(partial, pgdata);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}
