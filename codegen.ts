import type { CodegenConfig } from "@graphql-codegen/cli";

/** How both clients see the schema: money and dates stay strings, never numbers. */
const typedDocuments = {
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
} as const;

/**
 * Typed documents for accrue's own clients (tests, scripts, benchmarks, and
 * the web pages in web/), the way an integrator would generate them from
 * the published schema.
 */
const config: CodegenConfig = {
  schema: "schema.graphql",
  ignoreNoDocuments: true,
  importExtension: ".ts",
  generates: {
    "src/generated/gql/": { ...typedDocuments, documents: ["test/**/*.ts", "scripts/**/*.ts", "bench/**/*.ts", "src/demo/**/*.ts"] },
    // The portal and dashboard; Vite bundles the generated .ts imports as they are.
    "web/src/gql/": { ...typedDocuments, documents: ["web/src/**/*.{ts,tsx}", "!web/src/gql/**"] },
  },
};

export default config;
