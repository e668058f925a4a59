import { encodeGlobalID } from "@pothos/plugin-relay";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decodeGlobalId, encodeGlobalId } from "../../src/graphql/global-ids.ts";

/** The builder's `encodeGlobalID` (global-ids.ts) writes what the relay plugin's own would, faster. */
describe("global ids", () => {
  it("encodes every node type's id as the relay plugin does, and decodes it back", () => {
    for (const typename of ["Commission", "Partner", "Payout", "PayoutRun", "Conversion", "Program"]) {
      for (let i = 0; i < 50; i++) {
        const id = randomUUID();
        const encoded = encodeGlobalId(typename, id);
        expect(encoded).toBe(encodeGlobalID(typename, id));
        expect(decodeGlobalId(encoded)).toEqual({ typename, id });
      }
    }
  });

  it("encodes text beyond ASCII as the relay plugin does (UTF-8, not Latin-1)", () => {
    for (const [typename, id] of [
      ["Thing", "é"],
      ["Thing", "ÿ-Ā"],
      ["Thing", "💸"],
      ["Thing", 42],
    ] as const) {
      expect(encodeGlobalId(typename, id)).toBe(encodeGlobalID(typename, id));
    }
  });
});
