import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/db/uuid.ts";

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("uuidv7", () => {
  it("is a version 7 UUID of the RFC's variant, led by the current Unix milliseconds", () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    expect(id).toMatch(V7);
    const ms = Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    // Ids made in one millisecond may count into the next (the counter's overflow); never before the clock.
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after + 1);
  });

  it("sorts in the order the ids were made, and never repeats, many to a millisecond", () => {
    const ids = Array.from({ length: 20_000 }, () => uuidv7());
    for (const id of ids) expect(id).toMatch(V7);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // The random tail differs from id to id (not a counter, not a constant).
    expect(new Set(ids.map((id) => id.slice(19))).size).toBe(ids.length);
  });
});
