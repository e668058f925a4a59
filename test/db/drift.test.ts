import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../src/db/database.ts";
import { migrate } from "../../src/db/migrate.ts";
import { getDatamodel } from "../../src/generated/pothos-prisma-types.ts";

/**
 * The migrated database and the Prisma schema agree: every model's table and
 * columns exist with the same nullability and a compatible type, and the
 * database has no column the schema lacks except those it names below. A
 * model change without a migration (or the reverse) fails here.
 */
const SQL_ONLY_COLUMNS = new Set(["events.xid"]);
const SQL_ONLY_INDEXES = new Set([
  "outbox_jobs_pending_subject_key",
  "payout_items_commission_id_active_key",
  "payouts_partner_id_open_key",
  "payout_methods_partner_id_default_key",
  "commissions_conversion_id_partner_id_key",
  "events_program_id_xid_id_idx",
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

describe("schema drift", () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ kind: "pglite" });
    await migrate(db.sql);
  });
  afterAll(() => db?.close());

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

  it("has every index the schema declares, and the SQL-only ones it names", async () => {
    const indexes = await db.sql.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'");
    const names = new Set(indexes.map((i) => i.indexname));
    for (const name of SQL_ONLY_INDEXES) expect(names.has(name), name).toBe(true);
    const models = getDatamodel().datamodel.models;
    const dbNames = runtimeDataModel(db);
    for (const [modelName, model] of Object.entries(models)) {
      const table = dbNames.models[modelName]!.dbName ?? modelName;
      for (const unique of model.uniqueIndexes) {
        const columns = unique.fields.map((f) => dbNames.models[modelName]!.fields.find((x) => x.name === f)?.dbName ?? f);
        expect(names.has(`${table}_${columns.join("_")}_key`), `${table} unique (${columns.join(", ")})`).toBe(true);
      }
    }
  });
});

type RuntimeDataModel = { models: Record<string, { dbName: string | null; fields: { name: string; dbName?: string }[] }> };

/** The client's runtime data model has the database names (`dbName`) that getDatamodel() lacks. */
function runtimeDataModel(db: Database): RuntimeDataModel {
  return (db.prisma as unknown as { _runtimeDataModel: RuntimeDataModel })._runtimeDataModel;
}
