/**
 * JSON for audit and event payloads: Decimals become their toJSON strings
 * (money here has at most 4 places, never exponent notation), Dates ISO
 * strings, BigInts decimal strings; undefined stays out.
 */
export function toJson(value: unknown): any {
  if (value === undefined || value === null) return undefined;
  return JSON.parse(JSON.stringify(value, (_key, inner: unknown) => (typeof inner === "bigint" ? inner.toString() : inner)));
}
