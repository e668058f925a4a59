import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { findDiscrepancy, type MoneyFact } from "../../src/domain/provider-discrepancy.ts";

const m = (amount: string, currency = "USD"): MoneyFact => ({ amount: new Decimal(amount), currency });

describe("findDiscrepancy: a paid transfer against what the provider says", () => {
  const recorded = m("80.00");
  it.each([
    // provider says                                         recorded fee     kind
    ["nothing", null, null, "MISSING"],
    ["returned", { status: "RETURNED", sent: m("80.00"), fee: null }, null, "STATUS"],
    ["still processing", { status: "PROCESSING", sent: null, fee: null }, null, "STATUS"],
    ["less sent", { status: "PAID", sent: m("70.00"), fee: null }, null, "AMOUNT"],
    ["another currency", { status: "PAID", sent: m("80.00", "EUR"), fee: null }, null, "AMOUNT"],
    ["another fee", { status: "PAID", sent: m("80.00"), fee: m("1.50") }, m("1.00"), "FEE"],
    ["a fee not recorded", { status: "PAID", sent: m("80.00"), fee: m("1.00") }, null, "FEE"],
    ["the same, 80 = 80.0000", { status: "PAID", sent: m("80.0000"), fee: m("1.00") }, m("1.0"), null],
    ["paid, no amount or fee said", { status: "PAID", sent: null, fee: null }, m("1.00"), null],
    ["a zero fee when none was recorded", { status: "PAID", sent: m("80.00"), fee: m("0.00") }, null, null],
  ] as const)("%s → %s", (_label, seen, fee, kind) => {
    expect(findDiscrepancy(recorded, fee, seen)?.kind ?? null).toBe(kind);
  });

  it("keeps both sides for the operator", () => {
    expect(findDiscrepancy(recorded, null, { status: "PAID", sent: m("70.00"), fee: null })).toMatchObject({
      providerStatus: "PAID",
      providerAmount: m("70.00"),
      recordedAmount: recorded,
      message: "the provider sent 70.00 USD; accrue recorded 80.00 USD",
    });
  });
});
