import { isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BuildOptions, Metafile } from "esbuild";

/**
 * How every Lambda of the project is bundled, in one place for node-function.ts (which runs it
 * at synth time) and bench/bundle.ts (which measures what it produces). No aws-cdk-lib here.
 *
 * esbuild, run locally (never Docker): minified ESM for Node.js 24 with source maps, the pinned
 * dependencies of package-lock.json bundled (the AWS SDK too, not the runtime's copy), and
 * **code splitting**: what a handler imports with `import()` becomes its own chunk, read from
 * disk only when first needed (the MCP SDK loads on the first MCP request, never for REST).
 * CDK's NodejsFunction cannot split (it always passes `--outfile`), hence this.
 */

/** The repository root: the esbuild project root and the base of every `entry`. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The file Lambda loads: `index.handler`. */
export const LAMBDA_ENTRY_FILE = "index.mjs";

/** CommonJS dependencies bundled into ESM still call require(): each chunk gets its own. */
export const LAMBDA_BANNER =
  "import { createRequire as __bgaCreateRequire } from 'node:module';const require = __bgaCreateRequire(import.meta.url);";

/** esbuild options for the function whose handler is `entry` (relative to the repository root, or absolute). */
export function lambdaBuildOptions(
  entry: string,
  outdir: string,
  options: { sourcemap?: boolean } = {},
): BuildOptions & { outdir: string } {
  return {
    absWorkingDir: REPO_ROOT,
    entryPoints: { index: isAbsolute(entry) ? entry : join(REPO_ROOT, entry) },
    outdir,
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node24",
    minify: true,
    sourcemap: options.sourcemap ?? true,
    sourcesContent: false,
    mainFields: ["module", "main"],
    banner: { js: LAMBDA_BANNER },
    logLevel: "warning",
  };
}

/**
 * The output files a bundle's `entry` output loads before its code runs: itself and its static
 * imports, transitively (from esbuild's metafile). The other chunks load on first `import()`.
 */
export function coldStartOutputs(meta: Metafile, entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    for (const imp of meta.outputs[key]?.imports ?? [])
      if (imp.kind === "import-statement" && !imp.external) visit(imp.path);
  };
  visit(entry);
  return seen;
}
