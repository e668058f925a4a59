import type { PGlite } from "@electric-sql/pglite";

/**
 * Files of PGlite's bundle that the running database never reads: initdb's
 * (the catalog's bootstrap script and the SQL it runs, the sample
 * configuration files; the database exists once PGlite is ready), the
 * extension build kit (pgxs), logical replication's libraries, and the
 * encoding conversions, which PostgreSQL loads only for a session whose
 * client encoding differs from the database's UTF8 (accrue's never does; one
 * that did would get PostgreSQL's error for a missing library).
 */
const UNREAD = [
  /^\/pglite\/share\/postgresql\/(postgres\.bki|information_schema\.sql|system_\w+\.sql|snowball_create\.sql|sql_features\.txt|errcodes\.txt|[\w.]+\.sample)$/,
  /^\/pglite\/lib\/postgresql\/pgxs\//,
  /^\/pglite\/lib\/postgresql\/(libpqwalreceiver|pgoutput)\.so$/,
  /^\/pglite\/lib\/postgresql\/\w+_and_\w+\.so$/,
];

interface MemFile {
  path: string;
  node: { contents: Uint8Array };
}

/** The in-memory files of PGlite's file system (its bundle's, and what PostgreSQL made there), not the data folder mounted in it. */
function memoryFiles(pglite: PGlite): MemFile[] {
  const FS = pglite.Module.FS as unknown as {
    lookupPath(path: string): { node: { mode: number; contents: unknown } };
    isDir(mode: number): boolean;
    isFile(mode: number): boolean;
  };
  const files: MemFile[] = [];
  // A folder of the in-memory file system keeps its entries in `contents`; a mounted one (the data folder) is not entered.
  const walk = (path: string, node: { mode: number; contents: unknown }) => {
    if (FS.isFile(node.mode) && node.contents instanceof Uint8Array) files.push({ path, node: node as MemFile["node"] });
    else if (FS.isDir(node.mode) && node.contents && typeof node.contents === "object") {
      for (const [name, child] of Object.entries(node.contents as Record<string, { mode: number; contents: unknown }>)) walk(`${path}/${name}`, child);
    }
  };
  walk("", FS.lookupPath("/").node);
  return files;
}

/**
 * Lets go of PGlite's file bundle (pglite.data, 5 MiB). PGlite reads it whole
 * into one buffer and its in-memory files are views of that buffer, so all
 * of it stays in memory for as long as the database is open, files never
 * read again included (BENCHMARKS.md, "Idle server"). Once the database is
 * ready, the files still of use (time zones, PL/pgSQL, text search) are
 * copied into a buffer of their own, the unread ones (UNREAD) are removed,
 * and the bundle's buffer is detached, which frees its memory whoever still
 * refers to it. A bundle laid out otherwise (not exactly one buffer under
 * the files) is left as it is. Returns the bytes let go of.
 */
export function releaseFileBundle(pglite: PGlite): number {
  const FS = pglite.Module.FS;
  const files = memoryFiles(pglite);
  // The bundle's files are views of a buffer larger than each of them.
  const bundled = files.filter(({ node }) => node.contents.byteLength < node.contents.buffer.byteLength);
  const buffers = [...new Set(bundled.map(({ node }) => node.contents.buffer))];
  const bundle = buffers[0];
  if (buffers.length !== 1 || !(bundle instanceof ArrayBuffer)) return 0;
  const from = bundled.filter(({ node }) => node.contents.buffer === bundle);
  const kept = from.filter(({ path }) => !UNREAD.some((pattern) => pattern.test(path)));
  const copy = new Uint8Array(kept.reduce((sum, { node }) => sum + node.contents.byteLength, 0));
  let offset = 0;
  for (const { node } of kept) {
    const length = node.contents.byteLength;
    copy.set(node.contents, offset);
    node.contents = copy.subarray(offset, offset + length);
    offset += length;
  }
  const keep = new Set(kept);
  for (const file of from) if (!keep.has(file)) FS.unlink(file.path);
  const released = bundle.byteLength - copy.byteLength;
  // Detached, the buffer's memory is freed even though PGlite's start-up code still refers to it.
  structuredClone(bundle, { transfer: [bundle] });
  return released;
}
