#!/usr/bin/env node
// A Prisma generator that writes every index the schema declares (@id, @@id,
// @unique, @@unique, @@index: table, columns in order, sort, database name)
// to a JSON file, for test/db/drift.test.ts: the datamodel Pothos generates
// has no @@index at all, and Prisma's own DMMF, which has them all, is only
// handed to generators.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import helper from "@prisma/generator-helper";

helper.generatorHandler({
  onManifest: () => ({ prettyName: "schema indexes (drift test)", defaultOutput: "../src/generated/schema-indexes.json" }),
  onGenerate: async ({ dmmf, generator }) => {
    const models = new Map(dmmf.datamodel.models.map((model) => [model.name, model]));
    const indexes = dmmf.datamodel.indexes.map((index) => {
      const model = models.get(index.model);
      const table = model.dbName ?? model.name;
      return {
        table,
        type: index.type,
        /** null when the schema leaves the name to Prisma's convention. */
        name: index.dbName ?? null,
        columns: index.fields.map((field) => model.fields.find((f) => f.name === field.name)?.dbName ?? field.name),
        descending: index.fields.map((field) => field.sortOrder === "desc"),
      };
    });
    const out = generator.output.value;
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify({ indexes }, null, 2)}\n`);
  },
});
