import { defineConfig } from "prisma/config";

// Only `prisma generate` is used (scripts/generate.mjs): migrations are plain
// SQL applied by src/db/migrate.ts, since Prisma's schema engine cannot be
// downloaded on our machines.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
});
