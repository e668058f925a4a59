import type { CodegenConfig } from "@graphql-codegen/cli";

/**
 * Typed documents for accrue's own clients (tests, scripts, benchmarks), the
 * way an integrator would generate them from the published schema.
 */
const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["test/**/*.ts", "scripts/**/*.ts", "bench/**/*.ts", "src/demo/**/*.ts"],
  ignoreNoDocuments: true,
  importExtension: ".ts",
  generates: {
    "src/generated/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: {
          Decimal: "string",
          DateTime: "string",
          Date: "string",
          CurrencyCode: "string",
          JSONObject: "Record<string, unknown>",
        },
      },
    },
  },
};

export default config;
