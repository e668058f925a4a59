/**
 * Queries whose statements go without Prisma (src/db/sql-read.ts), each with
 * the table its statement reads: a lock on that table holds it back, so a
 * test can make it slow, or stop it, on purpose. A read that joins this path
 * joins the list, and with it every test that runs through it.
 */
export const READS_WITHOUT_PRISMA: [table: string, query: string][] = [
  ["partners", "{ partners(first: 5) { edges { node { id name } } } }"],
  ["commissions", "{ partners(first: 5) { edges { node { id commissions(first: 3) { edges { node { id } } } } } } }"],
];
