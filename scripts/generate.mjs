// Regenerates the code that is not checked in: the Prisma client, the Pothos
// types for it, the typed GraphQL documents (codegen), and the built partner
// portal and operator dashboard (web/dist, served by npm start). Runs at postinstall.
//
// The Prisma CLI insists on downloading its native schema engine before
// `generate`, even though `generate` never runs it, and that download server is
// out of reach on our machines. Pointing PRISMA_SCHEMA_ENGINE_BINARY at any
// executable file satisfies the check. Never use this stub for `migrate` or
// `db` commands: they would run it and report a false "no difference".
// Migrations are applied by src/db/migrate.ts instead.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const bin = join(root, "node_modules", ".bin");
const env = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}` };

if (!env.PRISMA_SCHEMA_ENGINE_BINARY) {
  const dir = join(tmpdir(), "accrue-prisma-stub");
  mkdirSync(dir, { recursive: true });
  const stub = join(dir, "schema-engine-stub");
  writeFileSync(stub, "#!/bin/sh\necho 'accrue: the schema engine stub only satisfies prisma generate' >&2\nexit 1\n");
  chmodSync(stub, 0o755);
  env.PRISMA_SCHEMA_ENGINE_BINARY = stub;
}
env.PRISMA_HIDE_UPDATE_MESSAGE = "1";

const run = (command, args) => execFileSync(command, args, { cwd: root, env, stdio: "inherit" });

run(join(bin, "prisma"), ["generate"]);
if (existsSync(join(root, "codegen.ts")) && existsSync(join(root, "schema.graphql"))) {
  run(join(bin, "graphql-codegen"), ["--config", "codegen.ts"]);
}
if (existsSync(join(root, "web", "vite.config.ts"))) {
  run(join(bin, "vite"), ["build", "--config", "web/vite.config.ts"]);
}
