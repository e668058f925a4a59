import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
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

  it("within its spacing of the last statement, gathers the keys of several turns; after a quiet spell, sends at the turn's end", async () => {
    const batches: number[][] = [];
    const load = batchPerTurn<number, number>(
      async (keys) => {
        batches.push([...keys]);
        return keys.map((key) => key * 10);
      },
      500,
      200,
    );
    expect(await load(1)).toBe(10);
    // Answered at once, so nothing is running: the spacing alone holds these.
    const storm = [load(2)];
    await nextTurn();
    storm.push(load(3));
    await nextTurn();
    storm.push(load(4));
    await nextTurn();
    expect(batches).toEqual([[1]]);
    expect(await Promise.all(storm)).toEqual([20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
    await sleep(250);
    const lone = load(5);
    await nextTurn();
    expect(batches).toEqual([[1], [2, 3, 4], [5]]);
    expect(await lone).toBe(50);
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
