import type pg from "pg";

/** A node of `EXPLAIN (ANALYZE, FORMAT JSON)`'s plan, the fields the plan tests read. */
export type PlanNode = {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Actual Rows": number;
  "Actual Loops": number;
  "Rows Removed by Filter"?: number;
  "Rows Removed by Index Recheck"?: number;
  Plans?: PlanNode[];
};

/** A scan may read this many times the rows its statement returns (filters on a well-chosen index), plus a page's slack. */
export const READ_FACTOR = 10;
export const READ_SLACK = 200;

/** The rows a plan node looked at: those it returned and those its filters and rechecks removed, over its loops. */
export function rowsRead(node: PlanNode): number {
  return (node["Actual Rows"] + (node["Rows Removed by Filter"] ?? 0) + (node["Rows Removed by Index Recheck"] ?? 0)) * node["Actual Loops"];
}

/** Runs a statement the server sent (as the statement ledger kept it) again under EXPLAIN ANALYZE; its plan's root. */
export async function explainAnalyze(client: pg.Client, statement: { sql: string; args: unknown[] }): Promise<PlanNode> {
  const result = await client.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${statement.sql}`, statement.args);
  return result.rows[0]!["QUERY PLAN"][0].Plan;
}
