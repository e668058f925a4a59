// `npm run build:server`: the server and the worker compiled to plain
// JavaScript (dist/server/main.mjs, dist/server/worker.mjs), for
// `npm run start:built`. Dependencies stay in node_modules; only accrue's own
// TypeScript (and the generated Prisma client, zod and graphql-scalars: see
// BUNDLED) is bundled.
//
// Why: `npm start` compiles every module through tsx when the process starts,
// which keeps each module's source map in memory and wraps every function so
// it keeps its name (esbuild's keepNames: each closure made at run time gets a
// property table of its own, about 256 bytes). An idle server run from this
// build holds about 60 MiB less and answers its first request sooner
// (BENCHMARKS.md, "Idle server"). The output sits two directories below the
// repository, as src/<dir>/ does, so paths the code finds from its own file
// (prisma/migrations, web/dist) resolve the same.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;

/**
 * Prisma's query compiler (WebAssembly) comes in a module that holds it as
 * base64 text, and the generated client imports that module: the text stayed
 * in the server's heap for good, twice (the module's source and its string),
 * 4.4 MiB (BENCHMARKS.md, "Idle server"). The build writes the WebAssembly
 * next to the server as a file and the client reads it from there. A client
 * generated in another shape fails the build here, rather than the server
 * at its first query.
 */
const WASM_IMPORT =
  /getQueryCompilerWasmModule: async \(\) => \{\s*const \{ wasm \} = await import\("(@prisma\/client\/runtime\/(query_compiler\w*)\.postgresql\.wasm-base64\.mjs)"\)\s*return await decodeBase64AsWasm\(wasm\)\s*\}/;
const wasmFiles = new Map();
const queryCompilerFromFile = {
  name: "query-compiler-from-file",
  setup(context) {
    context.onLoad({ filter: /src\/generated\/prisma\/internal\/class\.ts$/ }, async (args) => {
      const source = readFileSync(args.path, "utf8");
      const match = WASM_IMPORT.exec(source);
      if (!match) throw new Error(`${args.path}: the query compiler's import is not the shape scripts/build-server.mjs rewrites`);
      const [, specifier, name] = match;
      const { wasm } = await import(createRequire(args.path).resolve(specifier));
      const file = `${name}.postgresql.wasm`;
      wasmFiles.set(file, Buffer.from(wasm, "base64"));
      const load = `getQueryCompilerWasmModule: async () => new WebAssembly.Module((await import("node:fs")).readFileSync(new URL(${JSON.stringify(`./${file}`)}, import.meta.url)))`;
      return { contents: source.replace(WASM_IMPORT, load), loader: "ts" };
    });
  },
};

/**
 * Dependencies stay in node_modules, but for two bundled into the server so
 * that what it does not use is left out (BENCHMARKS.md, "Idle server"): zod
 * (imported as a namespace, `import * as z`, which the bundler can shake; its
 * 40 locales and JSON Schema code, loaded whole from node_modules, held
 * about 2 MiB of the heap) and graphql-scalars (three scalars of its 60).
 * Neither is imported by another dependency, so neither is loaded twice.
 */
const BUNDLED = new Set(["zod", "graphql-scalars"]);
const externalPackages = {
  name: "external-packages",
  setup(context) {
    context.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("node:")) return { external: true };
      const name = args.path.startsWith("@") ? args.path.split("/").slice(0, 2).join("/") : args.path.split("/")[0];
      return BUNDLED.has(name) ? undefined : { external: true };
    });
  },
};
const { outputFiles } = await build({
  absWorkingDir: root,
  entryPoints: { main: "src/main.ts", worker: "src/worker.ts" },
  outdir: "dist/server",
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  plugins: [queryCompilerFromFile, externalPackages],
  sourcemap: false,
  logLevel: "warning",
  write: false,
});
/**
 * V8 keeps each module's source text in the heap for as long as the process
 * runs, one byte a character while every character is ASCII and two bytes
 * a character (the whole text) as soon as one is not. esbuild escapes what
 * it writes in strings and names, but copies comments as they are, and one
 * dash in a comment doubled the server's source in the heap (1 MiB;
 * BENCHMARKS.md, "Idle server"). Outside strings and names (escaped already)
 * a character beyond ASCII can only be in a comment, where its escape is as
 * good as the character.
 */
const asciiOnly = (file) => {
  if (!file.path.endsWith(".mjs")) return file;
  const text = file.text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return { path: file.path, contents: Buffer.from(text, "utf8") };
};
const wasmOutputs = [...wasmFiles].map(([file, contents]) => ({ path: join(root, "dist/server", file), contents }));
// Each file is written whole and then renamed into place: a server starting
// while another build runs (npm start twice, tests in parallel) reads the old
// file or the new one, never half of one.
for (const file of [...wasmOutputs, ...outputFiles.map(asciiOnly)]) {
  mkdirSync(dirname(file.path), { recursive: true });
  const partial = `${file.path}.${process.pid}.partial`;
  writeFileSync(partial, file.contents);
  renameSync(partial, file.path);
}
