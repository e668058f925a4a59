// `npm run build:server`: the server and the worker compiled to plain
// JavaScript (dist/server/main.mjs, dist/server/worker.mjs), for
// `npm run start:built`. Dependencies stay in node_modules; only accrue's own
// TypeScript (and the generated Prisma client) is bundled.
//
// Why: `npm start` compiles every module through tsx when the process starts,
// which keeps each module's source map in memory and wraps every function so
// it keeps its name (esbuild's keepNames: each closure made at run time gets a
// property table of its own, about 256 bytes). An idle server run from this
// build holds about 60 MiB less and answers its first request sooner
// (BENCHMARKS.md, "Idle server"). The output sits two directories below the
// repository, as src/<dir>/ does, so paths the code finds from its own file
// (prisma/migrations, web/dist) resolve the same.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;
const { outputFiles } = await build({
  absWorkingDir: root,
  entryPoints: { main: "src/main.ts", worker: "src/worker.ts" },
  outdir: "dist/server",
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: false,
  logLevel: "warning",
  write: false,
});
// Each file is written whole and then renamed into place: a server starting
// while another build runs (npm start twice, tests in parallel) reads the old
// file or the new one, never half of one.
for (const file of outputFiles) {
  mkdirSync(dirname(file.path), { recursive: true });
  const partial = `${file.path}.${process.pid}.partial`;
  writeFileSync(partial, file.contents);
  renameSync(partial, file.path);
}
