import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The partner portal and the operator dashboard: two pages, one bundle of
 * shared code, served by accrue itself at /portal/ and /dashboard/ (see
 * src/http/web-pages.ts). Nothing is loaded from anywhere else.
 */
export default defineConfig({
  root: here("."),
  base: "/",
  logLevel: "warn",
  build: {
    outDir: here("dist"),
    emptyOutDir: true,
    assetsDir: "web-assets",
    target: "es2022",
    reportCompressedSize: false,
    rollupOptions: {
      input: { portal: here("portal/index.html"), dashboard: here("dashboard/index.html") },
      output: { chunkFileNames: "web-assets/shared-[hash].js", assetFileNames: "web-assets/[name]-[hash][extname]" },
    },
  },
});
