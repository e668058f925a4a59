import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface DevSecrets {
  jwtSecret: string;
  /** base64 of 32 bytes. */
  encryptionKey: string;
}

/**
 * Outside production, accrue runs without any configured secret: it makes a
 * JWT secret and an encryption key once and keeps them in the data folder,
 * where `npm run token` finds the same secret. Production must configure both.
 */
export function loadOrCreateDevSecrets(dataDir: string): DevSecrets {
  const path = join(dataDir, "dev-secrets.json");
  try {
    return JSON.parse(readFileSync(path, "utf8")) as DevSecrets;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const secrets: DevSecrets = {
    jwtSecret: randomBytes(32).toString("base64url"),
    encryptionKey: randomBytes(32).toString("base64"),
  };
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(path, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: "wx" });
    return secrets;
  } catch (error) {
    // Another process wrote it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return JSON.parse(readFileSync(path, "utf8")) as DevSecrets;
    throw error;
  }
}
