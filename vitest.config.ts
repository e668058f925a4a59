import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Vite would load graphql's ESM build for our code while Pothos and yoga
    // load the CommonJS one: two realms, "Cannot use GraphQLScalarType from
    // another module". One copy for everybody.
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    // Most of a test file's time is spent waiting on its server, on
    // PostgreSQL or on a child process, not on its own CPU. vitest's default
    // (one worker per core but one) runs one file at a time on this
    // project's 2-core machines; two at a time overlap those waits.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ["test/helpers/global-setup.ts"],
    setupFiles: ["test/helpers/process-coverage.ts"],
    reporters: ["default"],
    // `vitest run --coverage` (CI): what the test processes ran of src/.
    // The server and worker processes tests start are measured apart (see
    // process-coverage.ts) and merged by scripts/coverage-summary.mjs.
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      exclude: ["src/generated/**"],
      reporter: ["json", "text-summary"],
      reportsDirectory: "coverage/tests",
    },
  },
});
