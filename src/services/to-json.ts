/**
 * JSON for audit and event payloads: Decimals become their toJSON strings
 * (money here has at most 4 places, never exponent notation), Dates ISO
 * strings, BigInts decimal strings; undefined stays out.
 */
export function toJson(value: unknown): any {
  if (value === undefined || value === null) return undefined;
  return JSON.parse(jsonText(value));
}

const bigintAsText = (_key: string, inner: unknown) => (typeof inner === "bigint" ? inner.toString() : inner);

/** `toJson(value)` as the JSON text a jsonb parameter takes, written once rather than written, parsed and written again. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, bigintAsText);
}
