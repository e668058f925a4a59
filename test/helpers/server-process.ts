import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * package.json's `start:built`: `[NAME=value …] node <flags> dist/server/main.mjs`,
 * which `start` ends with. A flag may be written `${NAME:+--flag}`, as the
 * shell reads it: given only when the variable NAME is set and not empty.
 */
function startCommand(): { env: Record<string, string>; flags: string[] } {
  const { scripts } = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { scripts: Record<string, string> };
  const match = /^((?:[A-Z_]+=\S+ )*)node ((?:(?:--|\$\{[A-Z_]+:\+--)\S+ )*)dist\/server\/main\.mjs$/.exec(scripts["start:built"] ?? "");
  if (!match) throw new Error(`package.json's start:built is not "[NAME=value …] node <flags> dist/server/main.mjs": ${scripts["start:built"]}`);
  const env = Object.fromEntries(
    match[1]!
      .split(" ")
      .filter(Boolean)
      .map((pair) => pair.split("=", 2) as [string, string]),
  );
  return { env, flags: match[2]!.split(" ").filter(Boolean) };
}

/**
 * The node flags `npm start` runs the compiled server with, in an
 * environment `env` (the server's): package.json's `start:built`, which
 * `start` ends with, its `${NAME:+--flag}` read as the shell reads them.
 * Tests and benchmarks start the server with them, so they run what users run.
 */
export function startFlags(env: Record<string, string | undefined> = process.env): string[] {
  return startCommand().flags.flatMap((flag) => {
    const conditional = /^\$\{([A-Z_]+):\+(--\S+)\}$/.exec(flag);
    if (!conditional) return [flag];
    return env[conditional[1]!] ? [conditional[2]!] : [];
  });
}

/** The environment `npm start` sets for the compiled server (the C allocator's trim threshold: BENCHMARKS.md, "Idle server"). */
export function startEnv(): Record<string, string> {
  return startCommand().env;
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `node --import tsx src/main.ts` (not `npm start`: npm would leave the
 * server running when killed; the source, so process coverage maps to it) and
 * waits for its "serving" log line. `compiled`: what `npm start` runs, the
 * server built by scripts/build-server.mjs (`dist/server/main.mjs`), with
 * `npm start`'s node flags.
 */
export function startServerProcess(env: Record<string, string>, args: string[] = [], options: { compiled?: boolean } = {}): Promise<ServerProcess> {
  if (options.compiled) execFileSync(process.execPath, ["scripts/build-server.mjs"], { cwd: ROOT, stdio: "inherit" });
  const entry = options.compiled ? [...startFlags({ ...process.env, ...env }), "dist/server/main.mjs"] : ["--import", "tsx", "src/main.ts"];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...entry, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...(options.compiled ? startEnv() : {}), NODE_ENV: "test", HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${output}`)), 45_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)\/graphql"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({
          child,
          url: match[1]!,
          output: () => output,
          stop: async (signal = "SIGTERM") => {
            child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it served:\n${output}`));
    });
  });
}

/** Runs the server command expecting it to exit; resolves with its code and output. */
export function runServerToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return runToExit(process.execPath, ["--import", "tsx", "src/main.ts"], { HOST: "127.0.0.1", PORT: "0", ...env });
}

/** Runs a command of the project (from its root) to its end; resolves with its exit code and output. */
export function runToExit(command: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, NODE_ENV: "test", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 45_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
