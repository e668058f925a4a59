import { createHash } from "node:crypto";
import { Decimal } from "decimal.js";

/**
 * JSON with object keys sorted at every depth, so equal content hashes equally
 * and different content differently. Values that are objects but not data
 * are written by value: a Date as its ISO instant (an invalid one as null, as
 * JSON.stringify does), a Decimal (ours or Prisma's copy of decimal.js) as its
 * plain decimal string, so 1.5 and 1.50 are equal. Other class instances go
 * through their toJSON; one without it is refused rather than hashed as `{}`,
 * which would make every such value look the same (an idempotency key reused
 * with another date used to replay instead of conflicting).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value instanceof Date) return JSON.stringify(value.toJSON());
  if (Decimal.isDecimal(value)) return JSON.stringify(value.toFixed());
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") return canonicalJson(toJSON.call(value));
    throw new TypeError(`canonicalJson: cannot hash a ${(value as object).constructor?.name ?? "non-plain object"} by content`);
  }
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, inner]) => inner !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(",")}}`;
}

export function contentHash(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}
