import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { batchPerTurn } from "../../src/db/batch-per-turn.ts";

describe("batchPerTurn", () => {
  it("reads one turn's keys in one batch, and the keys asked for while that batch runs in the next", async () => {
    const batches: number[][] = [];
    const answers: (() => void)[] = [];
    const load = batchPerTurn<number, number>(async (keys) => {
      batches.push([...keys]);
      await new Promise<void>((resolve) => answers.push(resolve));
      return keys.map((key) => key * 10);
    });
    const first = [load(1), load(2)];
    await nextTurn();
    expect(batches).toEqual([[1, 2]]);
    // Asked over several turns while the first batch is unanswered: held, then read together.
    const later = [load(3)];
    await nextTurn();
    later.push(load(4));
    await nextTurn();
    expect(batches).toEqual([[1, 2]]);
    answers.shift()!();
    expect(await Promise.all(first)).toEqual([10, 20]);
    await nextTurn();
    expect(batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    answers.shift()!();
    expect(await Promise.all(later)).toEqual([30, 40]);
  });

  it("fails the keys of a failed batch only, and goes on", async () => {
    let fail = true;
    const load = batchPerTurn<number, number>(async (keys) => {
      if (fail) {
        fail = false;
        throw new Error("database away");
      }
      return keys.map((key) => key + 1);
    });
    await expect(load(1)).rejects.toThrow("database away");
    expect(await load(2)).toBe(3);
  });
});
