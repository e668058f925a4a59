import { GraphQLError, Kind, type ValueNode } from "graphql";
import { DateTimeResolver, JSONObjectResolver, LocalDateResolver } from "graphql-scalars";
import { MAX_YEAR, MIN_YEAR, parseInstant, parseLocalDate } from "../domain/iso-8601.ts";
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
  description: 'An exact decimal number as a string in plain notation, like "1234.50". Never a JSON number, so no client rounds it.',
  serialize: (value: DecimalLike) => (typeof value === "string" ? value : value.toFixed()),
  parseValue: decimalInput,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) return decimalInput(undefined);
    return ast.value;
  },
});

function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT" } });
}

const stringOf = (ast: ValueNode): unknown => (ast.kind === Kind.STRING ? ast.value : undefined);

function dateTimeInput(value: unknown): Date {
  const date = typeof value === "string" ? parseInstant(value) : undefined;
  if (!date) {
    throw badInput(`DateTime values are ISO 8601 date-times with an offset, like "2026-03-01T12:00:00Z", in the years ${MIN_YEAR} to ${MAX_YEAR}; got ${JSON.stringify(value)}.`);
  }
  return date;
}

function dateInput(value: unknown): string {
  const date = typeof value === "string" ? parseLocalDate(value) : undefined;
  if (!date) throw badInput(`Date values are ISO 8601 dates like "2026-03-01", in the years ${MIN_YEAR} to ${MAX_YEAR}; got ${JSON.stringify(value)}.`);
  return date;
}

// graphql-scalars' output side, our own input side: it accepts any year,
// which PostgreSQL then refuses (0000) or stores as nonsense.
builder.addScalarType("DateTime", DateTimeResolver, { parseValue: dateTimeInput, parseLiteral: (ast) => dateTimeInput(stringOf(ast)) });
builder.addScalarType("Date", LocalDateResolver, { parseValue: dateInput, parseLiteral: (ast) => dateInput(stringOf(ast)) });
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
