import { GraphQLError, Kind } from "graphql";
import { DateTimeResolver, JSONObjectResolver, LocalDateResolver } from "graphql-scalars";
import { builder, type DecimalLike } from "./builder.ts";

function decimalInput(value: unknown): string {
  if (typeof value !== "string") {
    throw new GraphQLError('Decimal values are strings, like "12.50": numbers would lose exactness.', {
      extensions: { code: "BAD_USER_INPUT" },
    });
  }
  return value;
}

builder.scalarType("Decimal", {
  description:
    'An exact decimal number as a string in plain notation, like "1234.50". Never a JSON number, so no client rounds it.',
  serialize: (value: DecimalLike) => (typeof value === "string" ? value : value.toFixed()),
  parseValue: decimalInput,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) return decimalInput(undefined);
    return ast.value;
  },
});

builder.addScalarType("DateTime", DateTimeResolver, {});
builder.addScalarType("Date", LocalDateResolver, {});
builder.addScalarType("JSONObject", JSONObjectResolver, {});

builder.scalarType("CurrencyCode", {
  description: "An ISO 4217 currency code, like USD, JPY or KWD.",
  serialize: (value: string) => value,
  parseValue: (value) => {
    if (typeof value !== "string" || !/^[A-Z]{3}$/.test(value)) {
      throw new GraphQLError("A currency code is three capital letters, like USD.", { extensions: { code: "BAD_USER_INPUT" } });
    }
    return value;
  },
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING || !/^[A-Z]{3}$/.test(ast.value)) {
      throw new GraphQLError("A currency code is three capital letters, like USD.", { extensions: { code: "BAD_USER_INPUT" } });
    }
    return ast.value;
  },
});
