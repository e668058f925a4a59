import { describe, expect, it } from "vitest";
import { Deadlines, type Deadline } from "../../src/realtime/deadlines.ts";

/** A deadline that records when it expired, in order. */
function deadline(name: number, fired: number[]): Deadline {
  return { at: 0, slot: -1, expire: () => fired.push(name) };
}

/** Resolves once every deadline left has expired. */
function allExpired(deadlines: Deadlines): Promise<void> {
  return new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (deadlines.size > 0) return;
      clearInterval(poll);
      resolve();
    }, 5);
  });
}

describe("deadlines on one timer", () => {
  it("expires each deadline once, earliest first, and never one removed before its time", async () => {
    const deadlines = new Deadlines();
    const fired: number[] = [];
    // Delays in a scrambled order (i * 7 mod 40), so the heap has to reorder them.
    const all = Array.from({ length: 40 }, (_, i) => ({ ms: (i * 7) % 40, item: deadline((i * 7) % 40, fired) }));
    for (const { ms, item } of all) deadlines.add(item, ms);
    const removed = new Set([3, 17, 39, 0]);
    for (const { ms, item } of all) if (removed.has(ms)) deadlines.remove(item);
    // Removing twice, or something never added, changes nothing.
    deadlines.remove(all[0]!.item);
    deadlines.remove(deadline(-1, fired));
    expect(deadlines.size).toBe(36);
    await allExpired(deadlines);
    expect(fired).toEqual(
      all
        .map(({ ms }) => ms)
        .filter((ms) => !removed.has(ms))
        .sort((a, b) => a - b),
    );
  });

  it("moves a deadline added again, and keeps the others", async () => {
    const deadlines = new Deadlines();
    const fired: number[] = [];
    const late = deadline(1, fired);
    const soon = deadline(2, fired);
    deadlines.add(late, 0);
    deadlines.add(soon, 5);
    deadlines.add(late, 10); // pushed back: fires after `soon`
    expect(deadlines.size).toBe(2);
    await allExpired(deadlines);
    expect(fired).toEqual([2, 1]);
  });
});
