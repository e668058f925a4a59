import { readFileSync } from "node:fs";
import type { GraphQLObjectType } from "graphql";
import { describe, expect, it } from "vitest";
import { dec } from "../../src/domain/money.ts";
import { Prisma } from "../../src/generated/prisma/client.ts";
import { buildSchema, printSortedSchema } from "../../src/graphql/schema.ts";
import { moneyOf, type MoneyShape } from "../../src/graphql/types/common.ts";

describe("schema.graphql", () => {
  it("is the printed schema; run `npm run schema` (then `npm run codegen`) when this fails", () => {
    const checkedIn = readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8");
    expect(checkedIn).toBe(printSortedSchema());
  });
});

describe("Money", () => {
  it("has no resolver on its fields", () => {
    // Compiled queries (graphql-jit) read a field without a resolver as a property, instead of a call per Money read.
    const fields = (buildSchema().getType("Money") as GraphQLObjectType).getFields();
    expect(Object.keys(fields).sort()).toEqual(["amount", "currency"]);
    expect(fields.amount?.resolve).toBeUndefined();
    expect(fields.currency?.resolve).toBeUndefined();
  });

  it.each([
    // amount as read (database text, Prisma's Decimal, ours), currency, Money.amount
    ["1300.0000", "JPY", "1300"],
    [new Prisma.Decimal("1300"), "JPY", "1300"],
    ["4.1250", "KWD", "4.125"],
    [dec("4.125"), "KWD", "4.125"],
    ["4.1", "KWD", "4.100"],
    ["12.5000", "USD", "12.50"],
    [new Prisma.Decimal("12.5"), "USD", "12.50"],
    ["80.2", "EUR", "80.20"],
    ["-5.0000", "USD", "-5.00"],
    [dec("-12.5"), "USD", "-12.50"],
    [new Prisma.Decimal("-0.125"), "KWD", "-0.125"],
    ["-3.0000", "JPY", "-3"],
    ["0.0000", "USD", "0.00"],
    [dec("0"), "JPY", "0"],
    ["1.2345", "CLF", "1.2345"],
    ["1.005", "USD", "1.01"],
    ["-1.005", "USD", "-1.01"],
  ])("moneyOf(%s, %s).amount is %s", (amount, currency, expected) => {
    expect(moneyOf(amount, currency)).toEqual({ amount: expected, currency });
  });

  it("is made only by moneyOf", () => {
    // @ts-expect-error: an unformatted amount is not a Money's
    const raw: MoneyShape = { amount: "12.5", currency: "USD" };
    // @ts-expect-error: nor is a Decimal
    const decimal: MoneyShape = { amount: dec("12.5"), currency: "USD" };
    expect([raw.amount, decimal.currency]).toEqual(["12.5", "USD"]);
  });
});
