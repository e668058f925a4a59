import { execFileSync, spawn } from "node:child_process";
import pg from "pg";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createPostgresDatabase, hasPostgres } from "../helpers/databases.ts";
import { ROOT, runServerToExit, startEnv, startFlags, startServerProcess } from "../helpers/server-process.ts";
import { copyPgliteTemplate } from "../helpers/database-templates.ts";

const SECRET = "process-test-secret-long-enough-for-hs256";

async function post(url: string, query: string, token?: string) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: any[] } };
}

function token(args: string[], env: Record<string, string>): string {
  return execFileSync(process.execPath, ["--import", "tsx", "scripts/token.ts", ...args], { cwd: ROOT, env: { ...process.env, ...env } })
    .toString()
    .trim();
}

describe("the server as a process (npm start)", () => {
  const dirs: string[] = [];
  /** A fresh data folder; `migrated` starts from a copy of the migrated template (saves an initdb). */
  const tempDir = (migrated = true) => {
    const dir = mkdtempSync(join(tmpdir(), "accrue-proc-"));
    dirs.push(dir);
    if (migrated) copyPgliteTemplate(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("owns its data folder: a second process gets a clear error; data survives a restart; SIGTERM stops it cleanly", async () => {
    const dataDir = tempDir(false);
    const env = { ACCRUE_DATA_DIR: dataDir };
    const first = await startServerProcess(env);
    try {
      const second = await runServerToExit(env);
      expect(second.code).not.toBe(0);
      expect(second.output).toMatch(/in use by another accrue process/);

      // The dev secret is kept in the data folder, where the token command finds it.
      const platform = token(["--role", "platform"], env);
      const created = await post(
        first.url,
        'mutation { createProgram(input: { name: "Kept", currency: "EUR", commissionRule: { type: FLAT, amount: "5.00" } }) { program { id } userErrors { code } } }',
        platform,
      );
      expect(created.body.data.createProgram.userErrors).toEqual([]);
    } finally {
      expect(await first.stop("SIGTERM")).toBe(0);
    }
    expect(first.output()).toMatch(/"msg":"stopped"/);

    const again = await startServerProcess(env);
    try {
      const platform = token(["--role", "platform"], env);
      const listed = await post(again.url, "{ programs { edges { node { name currency } } } }", platform);
      expect(listed.body.data.programs.edges).toEqual([{ node: { name: "Kept", currency: "EUR" } }]);
    } finally {
      await again.stop("SIGINT");
    }
  }, 120_000); // three embedded-database starts; slow on a busy machine, nothing here is timed

  it("runs compiled, as npm start runs it: the build serves, answers and stops cleanly", async () => {
    const dataDir = tempDir();
    const server = await startServerProcess({ ACCRUE_DATA_DIR: dataDir, ACCRUE_JWT_SECRET: SECRET }, [], { compiled: true });
    try {
      // npm start builds, then runs what start:built runs, with the same node flags (--liftoff-only: BENCHMARKS.md, "Idle server").
      const { scripts } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
      expect(scripts.start).toBe(`node scripts/build-server.mjs && ${scripts["start:built"]}`);
      expect(startFlags()).toContain("--liftoff-only");
      // On PostgreSQL, a young generation that holds the reads in flight; on the embedded database a smaller one than V8's,
      // which an idle server does not keep grown (README, "--max-semi-space-size"). V8 takes a flag's last value.
      const semiSpace = (flags: string[]) => flags.filter((flag) => flag.startsWith("--max-semi-space-size=")).at(-1);
      expect(semiSpace(startFlags({ DATABASE_URL: "postgresql://db/accrue" }))).toBe("--max-semi-space-size=24");
      expect(semiSpace(startFlags({}))).toBe("--max-semi-space-size=8");
      expect(semiSpace(startFlags({ DATABASE_URL: "" }))).toBe("--max-semi-space-size=8");
      expect(server.child.spawnargs.slice(1)).toEqual([...startFlags({ ...process.env, ACCRUE_DATA_DIR: dataDir }), "dist/server/main.mjs"]);
      // And with its environment: the C allocator gives back what it frees beyond 128 KiB (BENCHMARKS.md, "Idle server").
      expect(startEnv()).toEqual({ MALLOC_TRIM_THRESHOLD_: "131072" });
      expect(readFileSync(`/proc/${server.child.pid}/environ`, "utf8").split("\0")).toContain("MALLOC_TRIM_THRESHOLD_=131072");
      // Prisma's query compiler is read from a file beside the build, not from base64 text that stays in the heap (scripts/build-server.mjs).
      const built = readFileSync(join(ROOT, "dist/server/main.mjs"), "utf8");
      expect(built).not.toContain("wasm-base64");
      // ASCII only: one other character makes V8 keep the whole source two bytes a character.
      expect(built).not.toMatch(/[\u0080-\uffff]/);
      // pg on PostgreSQL only, Redis's clients with REDIS_URL only: imported where needed, never at start.
      expect(built).not.toMatch(/^import .* from "(pg|@prisma\/adapter-pg|ioredis|@graphql-yoga\/redis-event-target)";$/m);
      // zod is bundled, shaken down to what the server uses: no locale but English (an `import { z }` takes all 40).
      expect(built).not.toMatch(/^import .* from "zod";$/m);
      expect(built).toMatch(/zod\/v4\/locales\/en\.js/);
      expect(built).not.toMatch(/zod\/v4\/locales\/(?!en\.js)/);
      const platform = token(["--role", "platform"], { ACCRUE_DATA_DIR: dataDir, ACCRUE_JWT_SECRET: SECRET });
      const created = await post(
        server.url,
        'mutation { createProgram(input: { name: "Built", currency: "USD", commissionRule: { type: FLAT, amount: "1.00" } }) { program { name } userErrors { code } } }',
        platform,
      );
      expect(created.body.data.createProgram).toEqual({ program: { name: "Built" }, userErrors: [] });
    } finally {
      expect(await server.stop("SIGTERM")).toBe(0);
    }
    expect(server.output()).toMatch(/"msg":"stopped"/);
  }, 120_000);

  it("finishes requests in flight when told to stop", async () => {
    const dataDir = tempDir();
    // At debug level yoga logs each request it starts processing.
    const server = await startServerProcess({ ACCRUE_DATA_DIR: dataDir, ACCRUE_JWT_SECRET: SECRET, LOG_LEVEL: "debug" });
    const platform = token(["--role", "platform"], { ACCRUE_DATA_DIR: dataDir, ACCRUE_JWT_SECRET: SECRET });
    const inFlight = Array.from({ length: 10 }, (_, i) =>
      post(server.url, `mutation { createProgram(input: { name: "P${i}", currency: "USD", commissionRule: { type: PERCENTAGE, percent: "5" } }) { program { id } } }`, platform),
    );
    // Signal once the server has started on all ten: the embedded database works
    // through them one at a time, so most are still running when it comes.
    const started = () => server.output().split('Processing GraphQL Parameters"').length - 1;
    while (started() < 10) await new Promise((resolve) => setTimeout(resolve, 1));
    const code = server.stop("SIGTERM");
    const results = await Promise.all(inFlight);
    expect(await code).toBe(0);
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(results.every((r) => r.body.data.createProgram.program.id)).toBe(true);
    expect(server.output()).toMatch(/shutting down/);
  });

  it("serves GraphiQL without loading anything from the internet", async () => {
    const server = await startServerProcess({ ACCRUE_DATA_DIR: tempDir() });
    try {
      const response = await fetch(`${server.url}/graphql`, { headers: { accept: "text/html" } });
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html).toMatch(/graphiql/i);
      expect(html).not.toMatch(/<script[^>]+src=["']https?:/i);
      expect(html).not.toMatch(/<link[^>]+href=["']https?:/i);
    } finally {
      await server.stop();
    }
  });

  it("lists every configuration problem at once and exits non-zero", async () => {
    const result = await runServerToExit({ PORT: "not-a-port", ACCRUE_JWT_SECRET: "short", DATABASE_URL: "mysql://x", ACCRUE_DATA_DIR: tempDir() });
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/PORT/);
    expect(result.output).toMatch(/ACCRUE_JWT_SECRET/);
    expect(result.output).toMatch(/DATABASE_URL/);
  });

  it("fills a demo program with --demo and prints tokens that work", async () => {
    const dataDir = tempDir();
    const server = await startServerProcess({ ACCRUE_DATA_DIR: dataDir }, ["--demo"]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const match = /demo admin token \(12 h\): (\S+?)"/.exec(server.output());
      expect(match).not.toBeNull();
      const partners = await post(server.url, "{ partners { totalCount } program { name } }", match![1]);
      expect(partners.body.data.partners.totalCount).toBeGreaterThanOrEqual(5);
      expect(partners.body.data.program.name).toMatch(/Demo/);
    } finally {
      await server.stop();
    }
  });

  it.runIf(hasPostgres)("runs on PostgreSQL with DATABASE_URL", async () => {
    const database = await createPostgresDatabase();
    const server = await startServerProcess({ ACCRUE_DATA_DIR: tempDir(), DATABASE_URL: database.url, ACCRUE_JWT_SECRET: SECRET });
    try {
      expect(server.output()).toMatch(/PostgreSQL \(DATABASE_URL\)/);
      const platform = token(["--role", "platform"], { ACCRUE_JWT_SECRET: SECRET });
      const listed = await post(server.url, "{ programs { totalCount } }", platform);
      expect(listed.body.data.programs.totalCount).toBe(0);
    } finally {
      await server.stop();
      await database.drop();
    }
  });
});

describe("npm run reconcile", () => {
  const run = (args: string[], env: Record<string, string>) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", "scripts/reconcile.ts", ...args], { cwd: ROOT, env: { ...process.env, ...env } });
      let output = "";
      child.stdout.on("data", (c: Buffer) => (output += c.toString()));
      child.stderr.on("data", (c: Buffer) => (output += c.toString()));
      child.on("exit", (code) => resolve({ code, output }));
    });

  it("proves the demo program's balances through the running server", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "accrue-rec-"));
    copyPgliteTemplate(dataDir);
    const server = await startServerProcess({ ACCRUE_DATA_DIR: dataDir }, ["--demo"]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const result = await run(["--url", server.url], { ACCRUE_DATA_DIR: dataDir });
      expect(result.output).toMatch(/ok +Demo: Acme Outdoor: 5 balances checked, 0 off/);
      expect(result.code).toBe(0);
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000); // a server start, a demo program and a second process; nothing here is timed

  it.runIf(hasPostgres)(
    "fails, naming the balance, when a balance row is off (PostgreSQL)",
    async () => {
      const database = await createPostgresDatabase();
      const dataDir = mkdtempSync(join(tmpdir(), "accrue-rec-"));
      const env = { ACCRUE_DATA_DIR: dataDir, DATABASE_URL: database.url, ACCRUE_JWT_SECRET: SECRET };
      const server = await startServerProcess(env, ["--demo"]);
      try {
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect((await run(["--url", server.url], env)).code).toBe(0);
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        await client.query("UPDATE balances SET payable = payable + 0.01 WHERE partner_id = (SELECT min(partner_id::text)::uuid FROM balances)");
        await client.end();
        const result = await run(["--url", server.url], env);
        expect(result.code).toBe(1);
        expect(result.output).toMatch(/FAIL Demo: Acme Outdoor: 5 balances checked, 1 off/);
        expect(result.output).toMatch(/payable: balance [\d.]+, lines [\d.]+/);
      } finally {
        await server.stop();
        await database.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
