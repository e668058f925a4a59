import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { printSortedSchema } from "../../src/graphql/schema.ts";

describe("schema.graphql", () => {
  it("is the printed schema; run `npm run schema` (then `npm run codegen`) when this fails", () => {
    const checkedIn = readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8");
    expect(checkedIn).toBe(printSortedSchema());
  });
});
