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
import "./types/payout-run.ts";
import "./types/payout-transfer.ts";
import "./types/feed.ts";
import "./types/accounting.ts";
import "./types/analytics.ts";
import "./types/payment-provider.ts";
import "./types/scheduled-task.ts";

builder.queryType({});
builder.mutationType({});

/**
 * The schema. Field costs are set in builder.ts; the limit is applied before
 * execution by the request limits plugin (src/limits), where the variables
 * are known and one error can refuse the whole operation.
 */
export function buildSchema(): GraphQLSchema {
  return builder.toSchema({ sortSchema: true });
}

/** schema.graphql's text: the printed schema, sorted. */
export function printSortedSchema(schema: GraphQLSchema = buildSchema()): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
