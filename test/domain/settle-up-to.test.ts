import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { settleUpTo } from "../../src/domain/settle-up-to.ts";

const day = (n: number) => new Date(Date.UTC(2026, 0, n));
const line = (id: string, amount: string, payableDay: number, occurredDay = payableDay) => ({
  id,
  amount: new Decimal(amount),
  payableAt: day(payableDay),
  occurredAt: day(occurredDay),
});

describe("settleUpTo: whole lines, oldest first, never above the amount", () => {
  const lines = [line("c", "30.00", 3), line("a", "50.00", 1), line("b", "25.00", 2), line("d", "5.00", 4)];
  it.each([
    // upTo      chosen (in order)        net
    ["110.00", ["a", "b", "c", "d"], "110"], // everything fits exactly
    ["200.00", ["a", "b", "c", "d"], "110"], // more than owed: all of it
    ["80.00", ["a", "b"], "75"], // c (30) would make 105: stops there, d (5) is not taken before c
    ["75.00", ["a", "b"], "75"],
    ["49.99", [], "0"], // the oldest line alone is above it
  ])("up to %s takes %j (net %s)", (upTo, ids, net) => {
    const chosen = settleUpTo(lines, new Decimal(upTo));
    expect(chosen.lines.map((l) => l.id)).toEqual(ids);
    expect(chosen.net.toString()).toBe(net);
  });

  it("takes every negative line first, so a clawback nets against what is settled", () => {
    const withClawback = [line("a", "50.00", 1), line("x", "-20.00", 5), line("b", "25.00", 2)];
    // -20 + 50 = 30, + 25 = 55 (≤ 60): both positives fit because the clawback nets first.
    expect(settleUpTo(withClawback, new Decimal("60.00"))).toMatchObject({ lines: [{ id: "x" }, { id: "a" }, { id: "b" }] });
    expect(settleUpTo(withClawback, new Decimal("60.00")).net.toString()).toBe("55");
  });

  it("orders lines payable the same day by when they were earned, then by id", () => {
    const same = [line("z", "10.00", 1, 1), line("m", "10.00", 1, 1), line("k", "10.00", 1, 0)];
    expect(settleUpTo(same, new Decimal("20.00")).lines.map((l) => l.id)).toEqual(["k", "m"]);
  });
});
