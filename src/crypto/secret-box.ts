import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * Encrypts sensitive values at rest (IBANs, bank account numbers, tax
 * numbers) with AES-256-GCM, so a database dump or backup alone does not
 * reveal them.
 *
 * The key is ACCRUE_ENCRYPTION_KEY: base64 of 32 random bytes (config.ts
 * decodes it into `config.encryptionKey`). Generate one with
 * `openssl rand -base64 32`.
 *
 * Sealed values are `v1.<iv>.<ciphertext>.<tag>`, each part base64url. The
 * version prefix leaves room to change the algorithm later without guessing
 * what an old row holds.
 *
 * Rotating the key: make the new key the current one and pass the old one in
 * `previousKeys`; values sealed under either still open, new values are
 * sealed under the new key, and the old key can go once every row has been
 * re-sealed.
 */
export interface SecretBox {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

const VERSION = "v1";
const ALGORITHM = "aes-256-gcm";
const KEY_BYTES = 32;
// 96-bit IVs are what GCM is designed for; random ones are safe for far more
// values than this system will ever seal under one key (NIST: 2^32).
const IV_BYTES = 12;
// Fixed at the full 16 bytes on both sides: Node would otherwise accept a
// truncated tag on open, which makes forgeries far cheaper.
const TAG_BYTES = 16;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Strict base64url: Node's decoder skips junk and ignores trailing bits, so an edited character might not change the bytes. */
function decodePart(part: string): Buffer | undefined {
  if (!BASE64URL.test(part)) return undefined;
  const bytes = Buffer.from(part, "base64url");
  return bytes.toString("base64url") === part ? bytes : undefined;
}

function checkKey(key: Buffer, name: string): Buffer {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    const length = Buffer.isBuffer(key) ? `${key.length} bytes` : "not a Buffer";
    throw new Error(`${name} must be ${KEY_BYTES} bytes (ACCRUE_ENCRYPTION_KEY is base64 of 32 random bytes); got ${length}`);
  }
  // A copy, so a caller reusing or wiping its buffer cannot change the box's key.
  return Buffer.from(key);
}

export function createSecretBox(key: Buffer, previousKeys: Buffer[] = []): SecretBox {
  const current = checkKey(key, "the encryption key");
  const keys = [current, ...previousKeys.map((previous, index) => checkKey(previous, `previous encryption key ${index + 1}`))];

  return {
    seal(plaintext: string): string {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, current, iv, { authTagLength: TAG_BYTES });
      const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, iv.toString("base64url"), ciphertext.toString("base64url"), tag.toString("base64url")].join(".");
    },

    open(sealed: string): string {
      const parts = typeof sealed === "string" ? sealed.split(".") : [];
      if (parts.length !== 4 || parts[0] !== VERSION) {
        throw new Error(`Cannot open sealed value: not in the ${VERSION}.<iv>.<ciphertext>.<tag> format`);
      }
      const iv = decodePart(parts[1]!);
      const ciphertext = decodePart(parts[2]!);
      const tag = decodePart(parts[3]!);
      if (!iv || iv.length !== IV_BYTES || !ciphertext || !tag || tag.length !== TAG_BYTES) {
        throw new Error("Cannot open sealed value: malformed IV, ciphertext or tag");
      }
      for (const candidate of keys) {
        try {
          const decipher = createDecipheriv(ALGORITHM, candidate, iv, { authTagLength: TAG_BYTES });
          decipher.setAuthTag(tag);
          return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8");
        } catch {
          // Wrong key or altered data look the same to GCM; try the next key.
        }
      }
      // Says nothing about the contents: nothing was decrypted, and the
      // message must be safe to log.
      throw new Error("Cannot open sealed value: it was altered, or sealed under a key that is not configured");
    },
  };
}
