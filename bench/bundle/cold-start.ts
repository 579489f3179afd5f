import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { pathToFileURL } from "node:url";
import { median, percentile } from "../report.js";
import type { Bundle } from "./build.js";
import { lambdaLikeEnv } from "./child-node.js";

/**
 * What streamHandle needs from the Lambda Node.js runtime at import time; stubbed before the
 * import in each child process (the real runtime defines it before it loads the handler).
 */
const AWSLAMBDA_STUB =
  "globalThis.awslambda = { streamifyResponse: (f) => f, HttpResponseStream: { from: (s) => s } };";

/** The functions' NODE_OPTIONS (infra/constructs/node-function.ts): source maps as shipped. */
export const DEPLOYED_NODE_FLAGS = ["--enable-source-maps"];

/** Times of one cold start, ms. */
export interface ColdRun {
  /** `await import(index.mjs)` alone. */
  importMs: number;
  /** The process's time origin (its start) → the handler imported: node start-up included. */
  readyMs: number;
  /** After that, `await import()` of every chunk not loaded yet (0 when not asked). */
  lazyMs: number;
}

function parseColdRun(stdout: string): ColdRun {
  const parsed: unknown = JSON.parse(stdout.trim().split("\n").pop() ?? "");
  const field = (name: keyof ColdRun) => {
    const v =
      typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>)[name] : undefined;
    if (typeof v !== "number") throw new Error(`cold start printed no ${name}: ${stdout}`);
    return v;
  };
  return { importMs: field("importMs"), readyMs: field("readyMs"), lazyMs: field("lazyMs") };
}

/**
 * One fresh node process (`node`, with `flags`) that stubs `awslambda`, imports the bundle's
 * index.mjs and, with `lazy`, every other chunk too, and reports the times.
 */
export function coldRun(node: string, b: Bundle, flags: string[], lazy: boolean): ColdRun {
  const lazyUrls = lazy ? b.outputs.filter((o) => !o.cold).map((o) => pathToFileURL(o.file).href) : [];
  const script = [
    AWSLAMBDA_STUB,
    "const t0 = performance.now();",
    `const m = await import(${JSON.stringify(pathToFileURL(b.entryFile).href)});`,
    "const t1 = performance.now();",
    'if (typeof m.handler !== "function") throw new Error("no handler export");',
    `await Promise.all(${JSON.stringify(lazyUrls)}.map((u) => import(u)));`,
    "const t2 = performance.now();",
    "console.log(JSON.stringify({ importMs: t1 - t0, readyMs: t1, lazyMs: t2 - t1 }));",
  ].join("\n");
  const args = [...flags, "--input-type=module", "-e", script];
  const res = spawnSync(node, args, { env: lambdaLikeEnv(), encoding: "utf8", cwd: tmpdir() });
  if (res.status !== 0) throw new Error(`cold start of ${b.name} failed (${res.status}): ${res.stderr}`);
  return parseColdRun(res.stdout);
}

export interface Variant {
  name: string;
  bundle: Bundle;
  runs: ColdRun[];
}

/**
 * Runs every variant `runs` times as shipped (DEPLOYED_NODE_FLAGS), after `warmUp` discarded runs
 * each, interleaved (order rotated each round) so drift hits all alike.
 */
export function measureColdStarts(node: string, variants: Variant[], runs: number, warmUp: number): void {
  for (const v of variants)
    for (let i = 0; i < warmUp; i++) coldRun(node, v.bundle, DEPLOYED_NODE_FLAGS, true);
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length];
      v?.runs.push(coldRun(node, v.bundle, DEPLOYED_NODE_FLAGS, true));
    }
  }
}

/** The per-run figures of a variant. */
export const figures = {
  ready: (v: Variant) => v.runs.map((r) => r.readyMs),
  imported: (v: Variant) => v.runs.map((r) => r.importMs),
  withLazy: (v: Variant) => v.runs.map((r) => r.readyMs + r.lazyMs),
};
export type Figure = (v: Variant) => number[];

/** Median and p90 of `figure` for `v` over those of `reference`. */
export function ratios(v: Variant, reference: Variant, figure: Figure): { median: number; p90: number } {
  return {
    median: median(figure(v)) / median(figure(reference)),
    p90: percentile(figure(v), 90) / percentile(figure(reference), 90),
  };
}
