import { lexicographicSortSchema, printSchema, type GraphQLSchema } from "graphql";
import { builder } from "./builder.ts";
import "./scalars.ts";
import "./types/common.ts";
import "./types/program.ts";
import "./types/partner.ts";
import "./types/viewer.ts";
import "./types/integration-token.ts";
import "./types/commission.ts";
import "./types/conversion.ts";
import "./types/balance.ts";
import "./types/audit.ts";
import "./types/payment-details.ts";
import "./types/payout.ts";
import "./types/feed.ts";
import "./types/accounting.ts";
import "./types/analytics.ts";
import "./types/payment-provider.ts";
import "./types/scheduled-task.ts";

builder.queryType({});
builder.mutationType({});

export interface SchemaLimits {
  maxCost: number;
}

export function buildSchema(limits: SchemaLimits = { maxCost: 50_000 }): GraphQLSchema {
  return builder.toSchema({ sortSchema: true, complexity: { limit: { complexity: limits.maxCost } } } as never);
}

/** schema.graphql's text: the printed schema, sorted. */
export function printSortedSchema(schema: GraphQLSchema = buildSchema()): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
