import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createSecretBox } from "../../src/crypto/secret-box.ts";

const key = randomBytes(32); // 256 bits, as ACCRUE_ENCRYPTION_KEY decodes to
const otherKey = randomBytes(32);
const IBAN = "DE89370400440532013000";

const BASE64URL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Every way of changing one character of one part of a sealed value. */
function oneCharacterEdits(sealed: string): string[] {
  const parts = sealed.split(".");
  const edits: string[] = [];
  parts.forEach((part, index) => {
    if (index === 0) return; // the version has its own test
    for (let position = 0; position < part.length; position += 1) {
      const original = part[position]!;
      // The neighbour in the alphabet: for the last character of the tag it
      // differs only in bits base64url leaves unused.
      const replacement = BASE64URL_CHARS[(BASE64URL_CHARS.indexOf(original) + 1) % BASE64URL_CHARS.length]!;
      const edited = `${part.slice(0, position)}${replacement}${part.slice(position + 1)}`;
      edits.push(parts.map((other, at) => (at === index ? edited : other)).join("."));
    }
  });
  return edits;
}

describe("sealing and opening", () => {
  const box = createSecretBox(key);

  it.each([
    ["an IBAN", IBAN],
    ["an empty string", ""],
    ["accents, CJK, emoji and a combining mark", "Zoë Ångström — 東京 🏦 e\u0301"],
    ["control characters and dots", "a.b.c\u0000\n\t"],
    ["100 KiB", "x".repeat(100 * 1024)],
  ])("round-trips %s", (_name, plaintext) => {
    expect(box.open(box.seal(plaintext))).toBe(plaintext);
  });

  it("writes v1.<iv>.<ciphertext>.<tag>: a 12-byte IV, the ciphertext as long as the UTF-8 text, a 16-byte tag", () => {
    const sealed = box.seal(IBAN);
    // 12 bytes → 16 base64url characters; 22 bytes → 30; 16 bytes → 22 (no padding)
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{30}\.[A-Za-z0-9_-]{22}$/);
    expect(sealed).not.toContain(IBAN);
    expect(sealed).not.toContain(Buffer.from(IBAN).toString("base64url"));
  });

  it("gives a different sealed value every time for the same text (random IV)", () => {
    const sealed = new Set(Array.from({ length: 100 }, () => box.seal(IBAN)));
    expect(sealed.size).toBe(100);
    const ivs = new Set([...sealed].map((value) => value.split(".")[1]));
    expect(ivs.size).toBe(100);
  });
});

describe("refusing what it did not seal", () => {
  const box = createSecretBox(key);
  const sealed = box.seal(IBAN);

  it("refuses any one character changed in the IV, ciphertext or tag", () => {
    const edits = oneCharacterEdits(sealed);
    expect(edits.length).toBe(16 + 30 + 22);
    for (const edited of edits) {
      expect(() => box.open(edited), edited).toThrow(/^Cannot open sealed value/);
    }
  });

  it.each([
    ["another version", sealed.replace(/^v1\./, "v2.")],
    ["no version", sealed.replace(/^v1\./, "")],
    ["an extra part", `${sealed}.AAAA`],
    ["a missing tag", sealed.split(".").slice(0, 3).join(".")],
    ["a truncated tag (12 of 16 bytes)", sealed.replace(/\.[^.]+$/, `.${Buffer.alloc(12).toString("base64url")}`)],
    ["a tag cut by one character", sealed.slice(0, -1)],
    ["a longer IV", sealed.replace(/^v1\.[^.]+/, `v1.${randomBytes(16).toString("base64url")}`)],
    ["standard base64 padding", `${sealed}==`],
    ["a character outside base64url", sealed.replace(/\.([^.])/, ".+")],
    ["an empty string", ""],
    ["the plaintext itself", IBAN],
  ])("refuses %s", (_name, tampered) => {
    expect(() => box.open(tampered)).toThrow(/^Cannot open sealed value/);
  });

  it("refuses parts spliced from two sealed values", () => {
    const [, iv, , tag] = sealed.split(".");
    const [, , ciphertext] = box.seal("DE02120300000000202051").split("."); // same length, another IBAN
    expect(() => box.open(["v1", iv, ciphertext, tag].join("."))).toThrow(/^Cannot open sealed value/);
  });

  it("refuses a value sealed under another key, without revealing anything", () => {
    const stranger = createSecretBox(otherKey).seal(IBAN);
    let message = "";
    try {
      box.open(stranger);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe("Cannot open sealed value: it was altered, or sealed under a key that is not configured");
    expect(message).not.toContain(IBAN);
    expect(message).not.toContain("3000");
  });
});

describe("rotating the key", () => {
  const oldBox = createSecretBox(key);
  const rotated = createSecretBox(otherKey, [key]);

  it("still opens values sealed under a previous key", () => {
    expect(rotated.open(oldBox.seal(IBAN))).toBe(IBAN);
  });

  it("seals under the current key only", () => {
    const sealed = rotated.seal(IBAN);
    expect(createSecretBox(otherKey).open(sealed)).toBe(IBAN);
    expect(() => oldBox.open(sealed)).toThrow(/^Cannot open sealed value/);
  });

  it("tries every previous key", () => {
    const oldest = randomBytes(32);
    const box = createSecretBox(randomBytes(32), [key, oldest]);
    expect(box.open(createSecretBox(oldest).seal(IBAN))).toBe(IBAN);
    expect(box.open(oldBox.seal(IBAN))).toBe(IBAN);
  });

  it("drops a key once it is no longer listed", () => {
    const sealed = oldBox.seal(IBAN);
    expect(() => createSecretBox(otherKey).open(sealed)).toThrow(/^Cannot open sealed value/);
  });
});

describe("keys", () => {
  it.each([0, 16, 24, 31, 33, 44, 64])("refuses a %i-byte key (AES-256 needs 32)", (length) => {
    expect(() => createSecretBox(randomBytes(length))).toThrow(/must be 32 bytes/);
  });

  it("refuses a previous key of the wrong length", () => {
    expect(() => createSecretBox(key, [randomBytes(16)])).toThrow(/previous encryption key 1 must be 32 bytes/);
  });

  it("refuses a base64 string passed where its decoded bytes belong", () => {
    // 32 bytes of base64 is 44 characters: the classic mistake with ACCRUE_ENCRYPTION_KEY.
    expect(() => createSecretBox(Buffer.from(key.toString("base64")))).toThrow(/must be 32 bytes/);
  });

  it("keeps its own copy of the key", () => {
    const mutable = Buffer.from(key);
    const box = createSecretBox(mutable);
    const sealed = box.seal(IBAN);
    mutable.fill(0); // the caller wipes its buffer
    expect(box.open(sealed)).toBe(IBAN);
    expect(box.open(createSecretBox(key).seal(IBAN))).toBe(IBAN);
  });
});
