import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { ROOT } from "../helpers/server-process.ts";

/** Debian's Chromium (`apt-get install chromium`); playwright-core never downloads a browser. */
export const CHROMIUM = process.env.ACCRUE_CHROMIUM ?? "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);

/** Where each page's screenshots go (gitignored; CI keeps them as artifacts). */
export const ARTIFACTS = join(ROOT, "test-artifacts", "web");

/**
 * Like the PostgreSQL and Redis tests: required in CI (ACCRUE_REQUIRE_SERVICES=1),
 * skipped with a message elsewhere when Chromium is missing.
 */
export function requireChromiumInCi(): void {
  if (hasChromium) return;
  if (process.env.ACCRUE_REQUIRE_SERVICES === "1") throw new Error(`ACCRUE_REQUIRE_SERVICES=1 but there is no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  console.warn(`browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set ACCRUE_CHROMIUM)`);
}

export function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As root Chromium needs --no-sandbox; the rest keep it from calling out to a closed network.
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
}

function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(
    0,
    ...readdirSync(path)
      .filter((name) => name !== "gql")
      .map((name) => newest(join(path, name))),
  );
}

/** Builds the pages when web/dist is missing or older than their sources (npm install builds them too). */
export function ensurePagesBuilt(): void {
  const built = join(ROOT, "web", "dist", "portal", "index.html");
  const sources = Math.max(newest(join(ROOT, "web", "src")), newest(join(ROOT, "web", "portal")), newest(join(ROOT, "web", "dashboard")), newest(join(ROOT, "schema.graphql")));
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  const bin = join(ROOT, "node_modules", ".bin");
  execFileSync(join(bin, "graphql-codegen"), ["--config", "codegen.ts"], { cwd: ROOT, stdio: "ignore" });
  execFileSync(join(bin, "vite"), ["build", "--config", "web/vite.config.ts"], { cwd: ROOT, stdio: "inherit" });
}
