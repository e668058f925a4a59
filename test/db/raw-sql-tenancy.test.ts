import { describe, expect, it } from "vitest";
import { namesProgram, scanSource, scanTree, type RawStatement } from "../helpers/raw-sql.ts";

/**
 * Raw SQL skips the scoped client, so every raw statement in src names the
 * program itself: it compares or writes program_id against the program's id
 * bound as a parameter (in the statement or in a fragment it interpolates).
 * The exceptions are platform-level statements, listed here each with its
 * reason; a new statement that neither names the program nor is listed fails.
 */
interface Allowed {
  file: string;
  /** A piece of the statement's text; absent when every statement of the file is platform-level. */
  contains?: string;
  reason: string;
}

const PLATFORM_LEVEL: Allowed[] = [
  {
    file: "src/db/database.ts",
    reason: "the SQL runner itself (pass-through of its callers' statements, which are scanned at their call sites; BEGIN/COMMIT; the session advisory lock)",
  },
  {
    file: "src/db/sql-only-client.ts",
    reason: "a transaction client's $queryRaw and $executeRaw over one connection (pass-through of its callers' statements, which are scanned at their call sites)",
  },
  {
    file: "src/db/sql-read.ts",
    reason: "hand-written reads' runner (pass-through of its callers' statements, which are scanned at their call sites as readRows)",
  },
  { file: "src/db/migrate.ts", reason: "migrations and their bookkeeping table, before any program exists" },
  { file: "src/db/embedded-initdb.ts", reason: "a new embedded database's migrations and their bookkeeping (migrate.ts's), in the process that creates it" },
  { file: "src/db/statement-tags.ts", contains: "pg_cancel_backend", reason: "cancels the server's own timed-out backends by tag; reads no table of ours" },
  { file: "src/http/readiness.ts", contains: "SELECT 1", reason: "readiness probe; reads nothing" },
  { file: "src/jobs/scheduler.ts", contains: "pg_try_advisory_xact_lock", reason: "one instance per scheduled task; reads nothing" },
  { file: "src/jobs/task-record.ts", contains: "scheduled_task_runs", reason: "scheduled_task_runs is the one table with no program (platform bookkeeping)" },
  { file: "src/jobs/outbox.ts", contains: "outbox_jobs", reason: "the outbox worker leases due jobs of every program by id; each job then runs in its own program's scope" },
  {
    file: "src/jobs/release-holds.ts",
    contains: "FROM commissions",
    reason: "finds the programs and partners with lines to mature; each is then released in its own program's transaction",
  },
  {
    file: "src/realtime/realtime.ts",
    contains: "FROM balances",
    reason: "the process-wide sequence watch: last event sequence of partner ids whose feeds were opened (and checked) in their own program",
  },
];

function allowedBy(statement: RawStatement): Allowed | undefined {
  return PLATFORM_LEVEL.find((entry) => entry.file === statement.file && (entry.contains === undefined || (statement.text ?? "").includes(entry.contains)));
}

/** The statements that neither name the program nor are listed as platform-level. */
function unfiltered(statements: RawStatement[]): string[] {
  return statements
    .filter((statement) => !namesProgram(statement) && !allowedBy(statement))
    .map((statement) => `${statement.file}:${statement.line} ${statement.call}: ${(statement.text ?? "<not a literal>").replace(/\s+/g, " ").trim().slice(0, 100)}`);
}

const root = new URL("../..", import.meta.url).pathname;

describe("raw SQL names the program", () => {
  const statements = scanTree(root, "src");

  it("finds the raw statements of src (Prisma's raw calls and pg client calls)", () => {
    // The scan must see them for the check below to mean anything.
    expect(statements.filter((s) => s.call.startsWith("$")).length).toBeGreaterThan(40);
    expect(statements.some((s) => s.call === "pool.query")).toBe(true);
    // Reads sent without Prisma (db/sql-read.ts) are scanned at their call sites, their statement read.
    expect(statements.filter((s) => s.call === "readRows" && s.file === "src/graphql/loaders/partner-commissions.ts" && s.text?.includes("FROM")).length).toBe(3);
    expect(statements.some((s) => s.file === "src/services/ledger/ledger.ts" && s.text?.includes("UPDATE balances"))).toBe(true);
  });

  it("every statement filters by program or is a listed platform-level one", () => {
    expect(unfiltered(statements)).toEqual([]);
  });

  it("lists no platform-level exception that matches nothing (a stale entry would hide a future statement)", () => {
    expect(PLATFORM_LEVEL.filter((entry) => !statements.some((statement) => allowedBy(statement) === entry)).map((entry) => entry.file)).toEqual([]);
  });

  it("fails a statement that forgets the program, wherever it is written", () => {
    const fixture = [
      "export async function partnersOwed(tx: Tx) {",
      "  return tx.db.$queryRaw<{ partner_id: string }[]>`SELECT partner_id FROM balances WHERE payable > 0`;",
      "}",
      "export async function named(tx: Tx) {",
      "  return tx.db.$queryRaw`SELECT partner_id FROM balances WHERE program_id = ${tx.programId}::uuid`;",
      "}",
      "export async function unsafe(db: Db, id: string) {",
      "  await db.$executeRawUnsafe(`UPDATE payouts SET status = 'PAID' WHERE id = $1`, id);",
      '  await pool.query("DELETE FROM commissions WHERE id = $1", [id]);',
      "  // a comment naming tx.db.$queryRaw is not a statement",
      "}",
      // A fragment built elsewhere that does name the program, and one that does not.
      "function scoped(programId: string) { return Prisma.sql`SELECT * FROM payouts WHERE program_id = ${programId}::uuid`; }",
      "function loose() { return Prisma.sql`SELECT * FROM payouts`; }",
      "export async function fragments(db: Db, programId: string) {",
      "  await db.$queryRaw`${scoped(programId)}`;",
      "  await db.$queryRaw`${loose()} LIMIT ${programId}`;",
      "}",
      // Any other handle's SQL is a statement too; QuickBooks' query language is not.
      "await reporting.query<{ n: number }>(`SELECT count(*) AS n FROM payouts`);",
      "await company.query(`select * from Vendor where Id = '${vendorId}'`);",
    ].join("\n");
    const found = scanSource("src/services/fixture.ts", fixture);
    expect(found.map((s) => s.line)).toEqual([2, 5, 8, 9, 15, 16, 18]);
    expect(unfiltered(found).map((line) => line.split(" ")[0])).toEqual([
      "src/services/fixture.ts:2",
      "src/services/fixture.ts:8",
      "src/services/fixture.ts:9",
      "src/services/fixture.ts:16",
      "src/services/fixture.ts:18",
    ]);
    // A variable of the same name elsewhere (or later in the file) lends the statement nothing.
    const elsewhere = "const partnerIds = await tx.db.$queryRaw`SELECT id FROM partners WHERE program_id = ${tx.programId}::uuid`;";
    const borrowing = [
      "const rows = await prisma.$queryRaw`SELECT event_sequence FROM balances WHERE partner_id = ANY(${partnerIds}::uuid[])`;",
      "const other = 1;",
      "await tx.db.$queryRaw`SELECT 1 FROM payouts WHERE program_id = ${tx.programId}::uuid`;",
    ].join("\n");
    expect(unfiltered(scanSource("src/realtime/watch.ts", borrowing, [elsewhere])).map((line) => line.split(" ")[0])).toEqual(["src/realtime/watch.ts:1"]);
    // A hand-written read's statement is the template in its call; one passed by name is not read from further down.
    const reads = [
      `const page = await readRows(ctx.deps, ctx.db, Prisma.sql\`SELECT id FROM partners p WHERE p.program_id = \${programId}::uuid\`);`,
      "const loose = await readRows(ctx.deps, ctx.db, statement);",
      `const later = Prisma.sql\`SELECT id FROM partners WHERE program_id = \${programId}::uuid\`;`,
    ].join("\n");
    expect(unfiltered(scanSource("src/graphql/loaders/reads.ts", reads)).map((line) => line.split(" ")[0])).toEqual(["src/graphql/loaders/reads.ts:2"]);
    // A listed exception covers its own statement only.
    expect(unfiltered(scanSource("src/jobs/outbox.ts", "await deps.prisma.$queryRaw`SELECT * FROM commissions`"))).toHaveLength(1);
  });
});
