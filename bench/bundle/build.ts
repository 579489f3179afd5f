import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import {
  coldStartOutputs,
  LAMBDA_ENTRY_FILE,
  lambdaBuildOptions,
  REPO_ROOT,
} from "../../infra/constructs/lambda-bundle.js";

/** One `.mjs` file of a bundle. */
export interface Output {
  /** Absolute path. */
  file: string;
  bytes: number;
  /** Loaded at a cold start: index.mjs or one of its static imports, transitively. */
  cold: boolean;
  /** Its inputs (paths relative to the repository root) and their bytes in this file. */
  inputs: [string, number][];
}

export interface Bundle {
  name: string;
  /** index.mjs, absolute. */
  entryFile: string;
  /** Every `.mjs` output, index.mjs first. */
  outputs: Output[];
  /** Sum over all `.mjs` outputs. */
  bytes: number;
  /** gzip of all `.mjs` outputs concatenated. */
  gzipBytes: number;
  /** Sum over the outputs loaded at a cold start. */
  coldBytes: number;
  /** Sum of the `.map` files. */
  mapBytes: number;
}

const sumBytes = (files: Output[]) => files.reduce((n, o) => n + o.bytes, 0);

/**
 * Builds `entry` into `outdir` as every deployed Lambda is built (lambdaBuildOptions, source maps
 * as shipped). `nodePaths` resolves packages for an entry outside the repository.
 */
export async function buildBundle(
  name: string,
  entry: string,
  outdir: string,
  nodePaths?: string[],
): Promise<Bundle> {
  const result = await build({
    ...lambdaBuildOptions(entry, outdir, { sourcemap: true }),
    metafile: true,
    logLevel: "silent",
    ...(nodePaths ? { nodePaths } : {}),
  });
  const meta = result.metafile;
  // Metafile paths are relative to absWorkingDir (the repository root).
  const keys = Object.keys(meta.outputs);
  const entryFile = join(outdir, LAMBDA_ENTRY_FILE);
  const entryKey = keys.find((k) => resolve(REPO_ROOT, k) === entryFile);
  if (!entryKey) throw new Error(`no ${LAMBDA_ENTRY_FILE} in the metafile of ${name}`);
  const cold = coldStartOutputs(meta, entryKey);
  const outputs = keys
    .filter((k) => k.endsWith(".mjs"))
    .map(
      (k): Output => ({
        file: resolve(REPO_ROOT, k),
        bytes: meta.outputs[k]?.bytes ?? 0,
        cold: cold.has(k),
        inputs: Object.entries(meta.outputs[k]?.inputs ?? {}).map(([path, v]) => [path, v.bytesInOutput]),
      }),
    )
    .sort((x, y) => Number(y.file === entryFile) - Number(x.file === entryFile));
  const maps = keys.filter((k) => k.endsWith(".map"));
  return {
    name,
    entryFile,
    outputs,
    bytes: sumBytes(outputs),
    gzipBytes: gzipSync(Buffer.concat(outputs.map((o) => readFileSync(o.file)))).length,
    coldBytes: sumBytes(outputs.filter((o) => o.cold)),
    mapBytes: maps.reduce((n, k) => n + statSync(resolve(REPO_ROOT, k)).size, 0),
  };
}

/** `node_modules/@scope/name/...` → `@scope/name`; project files → their top folder. */
export function packageOf(input: string): string {
  const parts = input.split("/");
  const at = parts.lastIndexOf("node_modules");
  if (at >= 0) {
    const first = parts[at + 1] ?? "?";
    return first.startsWith("@") ? `${first}/${parts[at + 2] ?? "?"}` : first;
  }
  if (input === "package.json") return "(project) package.json";
  return `(project) ${parts[0] ?? input}/`;
}

export interface PackageBytes {
  name: string;
  bytes: number;
  coldBytes: number;
}

/** Bytes by package over `outputs`, and how many of them load at a cold start; biggest first. */
export function bytesByPackage(outputs: Output[]): PackageBytes[] {
  const byPackage = new Map<string, PackageBytes>();
  for (const o of outputs) {
    for (const [path, n] of o.inputs) {
      const name = packageOf(path);
      const row = byPackage.get(name) ?? { name, bytes: 0, coldBytes: 0 };
      row.bytes += n;
      if (o.cold) row.coldBytes += n;
      byPackage.set(name, row);
    }
  }
  return [...byPackage.values()].sort((x, y) => y.bytes - x.bytes);
}
