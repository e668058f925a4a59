import type { UserError } from "../../domain/errors.ts";
import { USER_ERROR_CODES } from "../../domain/errors.ts";
import type { CurrencyCode } from "../../domain/currency.ts";
import { formatAmountText } from "../../domain/money.ts";
import { builder, type DecimalLike } from "../builder.ts";

declare const formatted: unique symbol;

/** An amount as `moneyOf` formats it: in the currency's minor unit, like "12.50" (USD), "1300" (JPY). */
export type AmountText = string & { readonly [formatted]: true };

/**
 * What a Money field resolves to. Its amount is already formatted, so
 * Money's fields have no resolver: compiled queries read them as plain
 * properties instead of calling a resolver per field (per commission line on
 * a dashboard). Built only by `moneyOf`: the brand keeps a raw Decimal or an
 * unformatted string from standing in for it.
 */
export interface MoneyShape {
  readonly amount: AmountText;
  readonly currency: string;
}

/** A Money value, its amount formatted (formatAmountText) in the currency's minor unit. */
export function moneyOf(amount: DecimalLike, currency: string): MoneyShape {
  return { amount: formatAmountText(typeof amount === "string" ? amount : amount.toFixed(), currency as CurrencyCode) as AmountText, currency };
}

export const Money = builder.objectRef<MoneyShape>("Money").implement({
  description: "An exact amount with its ISO 4217 currency.",
  fields: (t) => ({
    // No resolver on either field (see MoneyShape); test/api/schema.test.ts checks it.
    amount: t.expose("amount", {
      type: "Decimal",
      description: 'In the currency\'s minor unit, like "12.50" (USD), "1300" (JPY), "4.125" (KWD).',
    }),
    currency: t.exposeString("currency", { description: "ISO 4217 code." }),
  }),
});

export const UserErrorCode = builder.enumType("UserErrorCode", {
  description: "What went wrong with a mutation's input, for clients to branch on.",
  values: USER_ERROR_CODES,
});

export const UserErrorRef = builder.objectRef<UserError>("UserError").implement({
  description: "A problem the caller can fix. Nothing was changed when a payload has any.",
  fields: (t) => ({
    code: t.field({ type: UserErrorCode, resolve: (error) => error.code }),
    message: t.exposeString("message"),
    field: t.stringList({
      nullable: true,
      description: 'Path to the input field at fault, like ["input", "items", "3", "amount"].',
      resolve: (error) => error.field ?? null,
    }),
  }),
});

export const SortDirection = builder.enumType("SortDirection", { values: ["ASC", "DESC"] as const });

export const Weekday = builder.enumType("Weekday", {
  description: "ISO weekday.",
  values: {
    MONDAY: { value: 1 },
    TUESDAY: { value: 2 },
    WEDNESDAY: { value: 3 },
    THURSDAY: { value: 4 },
    FRIDAY: { value: 5 },
    SATURDAY: { value: 6 },
    SUNDAY: { value: 7 },
  } as const,
});
