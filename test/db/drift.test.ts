import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { getDatamodel } from "../../src/generated/pothos-prisma-types.ts";
import schemaIndexes from "../../src/generated/schema-indexes.json" with { type: "json" };
import { createPostgresDatabase, databaseTargets, type DatabaseTarget } from "../helpers/databases.ts";

/**
 * The migrated database and the Prisma schema agree, on both databases:
 * every model's table and columns exist with the same nullability and a
 * compatible type, every declared index exists as declared, and the database
 * has no column or index the schema lacks except those named below. A model
 * change without a migration (or the reverse) fails here.
 */
const SQL_ONLY_COLUMNS = new Set(["events.xid"]);
const SQL_ONLY_INDEXES = new Set([
  "outbox_jobs_pending_subject_key",
  "payout_items_commission_id_active_key",
  "payouts_partner_id_open_key",
  "payout_methods_partner_id_default_key",
  "commissions_conversion_id_partner_id_key",
  "events_program_id_xid_id_idx",
  "conversions_program_id_id_reversed_idx",
  "commissions_maturing_idx",
]);

const typeMap: Record<string, string[]> = {
  String: ["text", "uuid", "character"],
  Int: ["integer"],
  BigInt: ["bigint"],
  Boolean: ["boolean"],
  DateTime: ["timestamp with time zone", "date"],
  Decimal: ["numeric"],
  Json: ["jsonb"],
};

interface DeclaredIndex {
  table: string;
  type: "id" | "unique" | "normal" | "fulltext";
  name: string | null;
  columns: string[];
  descending: boolean[];
}

interface ActualIndex {
  table: string;
  name: string;
  unique: boolean;
  primary: boolean;
  partial: boolean;
  columns: (string | null)[];
  descending: boolean[];
}

/** Every index of the public tables, with its columns in order (null for an expression) and sort. */
async function actualIndexes(db: Database): Promise<ActualIndex[]> {
  return db.sql.query<ActualIndex>(`
    SELECT t.relname AS "table", i.relname AS name, ix.indisunique AS "unique", ix.indisprimary AS "primary",
           ix.indpred IS NOT NULL AS partial,
           array(SELECT a.attname FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
                   LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n)::text[] AS columns,
           array(SELECT (o.opt & 1) = 1 FROM unnest(ix.indoption::int2[]) WITH ORDINALITY AS o(opt, n) ORDER BY o.n)::boolean[] AS descending
      FROM pg_index ix
      JOIN pg_class i ON i.oid = ix.indexrelid
      JOIN pg_class t ON t.oid = ix.indrelid
      JOIN pg_namespace s ON s.oid = t.relnamespace
     WHERE s.nspname = 'public' AND t.relname <> '_prisma_migrations'`);
}

/** The name Prisma gives an index the schema does not name (its migrations use the same). */
function conventionalName(index: DeclaredIndex): string {
  if (index.type === "id") return `${index.table}_pkey`;
  return `${index.table}_${index.columns.join("_")}_${index.type === "normal" ? "idx" : "key"}`;
}

/**
 * What differs between the indexes the Prisma schema declares (every @id,
 * @@id, @unique, @@unique, @@index; written by the `indexes` generator) and
 * those of the migrated database: missing, different (columns, order, sort,
 * uniqueness, a predicate), or in the database alone without being one of
 * the SQL-only indexes named above.
 */
function indexProblems(declared: DeclaredIndex[], actual: ActualIndex[]): string[] {
  const problems: string[] = [];
  const byName = new Map(actual.map((index) => [`${index.table}.${index.name}`, index]));
  const expected = new Set<string>();
  for (const index of declared) {
    const name = index.name ?? conventionalName(index);
    const key = `${index.table}.${name}`;
    expected.add(key);
    const found = byName.get(key);
    const shape = `${index.type} (${index.columns.join(", ")})`;
    if (!found) {
      problems.push(`${key}: the schema declares ${shape}, the database has no such index`);
      continue;
    }
    if (JSON.stringify(found.columns) !== JSON.stringify(index.columns))
      problems.push(`${key}: columns (${found.columns.join(", ")}), the schema says (${index.columns.join(", ")})`);
    if (JSON.stringify(found.descending) !== JSON.stringify(index.descending)) problems.push(`${key}: sort order differs from the schema`);
    if (found.unique !== (index.type !== "normal")) problems.push(`${key}: ${found.unique ? "unique" : "not unique"}, the schema says ${index.type}`);
    if (found.primary !== (index.type === "id")) problems.push(`${key}: primary key ${found.primary}, the schema says ${index.type}`);
    if (found.partial) problems.push(`${key}: has a predicate the schema cannot express`);
  }
  for (const index of actual) {
    const key = `${index.table}.${index.name}`;
    if (!expected.has(key) && !SQL_ONLY_INDEXES.has(index.name)) problems.push(`${key}: in the database only (declare it, or name it in SQL_ONLY_INDEXES)`);
  }
  for (const name of SQL_ONLY_INDEXES) {
    if (!actual.some((index) => index.name === name)) problems.push(`${name}: a SQL-only index the migrations should make is missing`);
  }
  return problems;
}

const declaredIndexes = (schemaIndexes as { indexes: DeclaredIndex[] }).indexes;

async function openMigrated(target: DatabaseTarget): Promise<{ db: Database; close(): Promise<void> }> {
  if (target === "pglite") {
    const db = await openDatabase({ kind: "pglite" });
    await migrate(db.sql);
    return { db, close: () => db.close() };
  }
  const created = await createPostgresDatabase();
  const db = await openDatabase({ kind: "postgres", url: created.url });
  await migrate(db.sql);
  return {
    db,
    async close() {
      await db.close();
      await created.drop();
    },
  };
}

describe.each(databaseTargets())("schema drift on %s", (target) => {
  let db: Database;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close } = await openMigrated(target));
  });
  afterAll(() => close?.());

  it("finds every model field as a column with the same nullability and type, and nothing extra", async () => {
    const columns = await db.sql.query<{ table_name: string; column_name: string; is_nullable: string; data_type: string; udt_name: string }>(
      `SELECT table_name, column_name, is_nullable, data_type, udt_name FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`,
    );
    const actual = new Map(columns.map((c) => [`${c.table_name}.${c.column_name}`, c]));
    const models = getDatamodel().datamodel.models;
    const dbNames = runtimeDataModel(db);
    const expected = new Set<string>();
    const problems: string[] = [];
    for (const [modelName, model] of Object.entries(models)) {
      const table = dbNames.models[modelName]!.dbName ?? modelName;
      for (const field of model.fields) {
        if (field.kind === "object") continue;
        const column = dbNames.models[modelName]!.fields.find((f) => f.name === field.name)?.dbName ?? field.name;
        const key = `${table}.${column}`;
        expected.add(key);
        const found = actual.get(key);
        if (!found) {
          problems.push(`${key} is in the Prisma schema but not in the database`);
          continue;
        }
        // Prisma creates scalar lists as nullable arrays while calling them required.
        if (!field.isList && (found.is_nullable === "YES") !== !field.isRequired) problems.push(`${key} nullability differs`);
        const accepted = field.kind === "enum" ? ["USER-DEFINED"] : field.isList ? ["ARRAY"] : (typeMap[field.type] ?? []);
        if (!accepted.includes(found.data_type)) problems.push(`${key} is ${found.data_type}, the schema says ${field.type}`);
      }
    }
    for (const key of actual.keys()) {
      if (!expected.has(key) && !SQL_ONLY_COLUMNS.has(key)) problems.push(`${key} is in the database but not in the Prisma schema`);
    }
    expect(problems).toEqual([]);
  });

  it("has every index the schema declares (@id, @unique, @@unique, @@index), as declared, and only the SQL-only ones besides", async () => {
    // Every kind is there to compare: a generator that lost one would make this vacuous.
    expect(new Set(declaredIndexes.map((index) => index.type))).toEqual(new Set(["id", "unique", "normal"]));
    expect(declaredIndexes.length).toBeGreaterThan(50);
    expect(indexProblems(declaredIndexes, await actualIndexes(db))).toEqual([]);
  });

  it("would see a dropped @@index, a dropped @unique, a reordered index and an undeclared one", async () => {
    // On a copy of the migrated schema, inside a transaction rolled back afterwards.
    const problems = await db.sql
      .transaction(async (tx) => {
        await tx.exec(`
          DROP INDEX partners_program_id_name_idx;
          DROP INDEX billing_profiles_partner_id_key;
          DROP INDEX payouts_program_id_paid_at_idx;
          CREATE INDEX payouts_program_id_paid_at_idx ON payouts (paid_at, program_id);
          CREATE INDEX conversions_by_currency ON conversions (currency);`);
        const seen = indexProblems(declaredIndexes, await actualIndexes({ sql: tx } as unknown as Database));
        throw Object.assign(new Error("roll back"), { seen });
      })
      .catch((error: { seen?: string[] }) => {
        if (!error.seen) throw error;
        return error.seen;
      });
    expect(problems).toEqual([
      "partners.partners_program_id_name_idx: the schema declares normal (program_id, name), the database has no such index",
      "billing_profiles.billing_profiles_partner_id_key: the schema declares unique (partner_id), the database has no such index",
      "payouts.payouts_program_id_paid_at_idx: columns (paid_at, program_id), the schema says (program_id, paid_at)",
      "conversions.conversions_by_currency: in the database only (declare it, or name it in SQL_ONLY_INDEXES)",
    ]);
  });
});

type RuntimeDataModel = { models: Record<string, { dbName: string | null; fields: { name: string; dbName?: string }[] }> };

/** The client's runtime data model has the database names (`dbName`) that getDatamodel() lacks. */
function runtimeDataModel(db: Database): RuntimeDataModel {
  return (db.prisma as unknown as { _runtimeDataModel: RuntimeDataModel })._runtimeDataModel;
}
