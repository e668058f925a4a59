// `npm run schema`: prints the schema, sorted, into schema.graphql (checked in;
// test/api/schema.test.ts fails when it is stale). Then run `npm run codegen`.
import { writeFileSync } from "node:fs";
import { printSortedSchema } from "../src/graphql/schema.ts";

const path = new URL("../schema.graphql", import.meta.url);
writeFileSync(path, printSortedSchema());
console.log(`wrote ${path.pathname}`);
