import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build, version as esbuildVersion } from "esbuild";
import * as z from "zod";
import {
  coldStartOutputs,
  LAMBDA_ENTRY_FILE,
  lambdaBuildOptions,
  REPO_ROOT,
} from "../infra/constructs/lambda-bundle.js";
import { heading, KIB, label, median, percentile, printTable, type SummaryRow } from "./support.js";

/** Target: API cold init ÷ bare-Hono cold init, start→ready medians (what Lambda's Init Duration counts). */
export const COLD_INIT_RATIO_TARGET = 1.5;
/** Fresh `node` processes per variant. */
const RUNS = 25;
/** Discarded runs of each variant first (file-system cache, JIT of node itself). */
const WARMUP_RUNS = 2;
/** CPU-profiled cold starts of the API bundle, for the time-by-package table. */
const PROFILE_RUNS = 5;
/** Cold imports per dependency probe. */
const PROBE_RUNS = 9;

const API_ENTRY = "functions/api/handler.ts";
/** Not the target: its cold init delays a task's first step on a cold instance, so it is shown too. */
const RUNNER_ENTRY = "functions/runner/handler.ts";

/**
 * The node that runs the cold starts: this one, or `BGA_BENCH_NODE` — e.g. a Node 22 like the
 * functions' runtime: `BGA_BENCH_NODE=$(npx -y node@22 -p process.execPath)`.
 */
const CHILD_NODE = process.env.BGA_BENCH_NODE || process.execPath;
const CHILD_NODE_VERSION = spawnSync(CHILD_NODE, ["-v"], { encoding: "utf8" }).stdout.trim();

/** The bare Hono handler the API is compared with (the brief's baseline, verbatim). */
const BASELINE_SOURCE = `import { Hono } from "hono";
import { streamHandle } from "hono/aws-lambda";
const app = new Hono();
app.get("/healthz", (c) => c.json({ ok: true }));
export const handler = streamHandle(app);
`;

/**
 * The same bare handler with what issue 4 requires in every function: the Powertools logger,
 * metrics and tracer, made at load as the API makes them. Not a target: it shows how much of
 * the ratio the required observability takes before any of the service's own code loads.
 */
const POWERTOOLS_BASELINE_SOURCE = `import { Hono } from "hono";
import { streamHandle } from "hono/aws-lambda";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
const logger = new Logger({ serviceName: "baseline" });
const metrics = new Metrics({ namespace: "Baseline", serviceName: "baseline" });
const tracer = new Tracer({ serviceName: "baseline" });
const app = new Hono();
app.get("/healthz", (c) => {
  logger.info("healthz", { traced: tracer.isTracingEnabled() });
  metrics.publishStoredMetrics();
  return c.json({ ok: true });
});
export const handler = streamHandle(app);
`;

/**
 * Dependency groups of the API (or of what it replaced), each bundled alone (same options) and
 * imported cold: what loading each one lazily, or not at all, could save at most. They overlap
 * (zod is in several). Each keeps what it imports reachable, so nothing is tree-shaken away.
 */
const DEPENDENCY_PROBES: { name: string; source: string }[] = [
  {
    name: 'zod (`import * as z from "zod"`)',
    source: `import * as z from "zod";
globalThis.__probe = z.object({ a: z.string() });`,
  },
  {
    name: 'zod/mini (`import * as z from "zod/mini"`, not used: the size of that lever)',
    source: `import * as z from "zod/mini";
globalThis.__probe = z.object({ a: z.string() });`,
  },
  {
    name: "MCP SDK server (index, webStandardStreamableHttp, types)",
    source: `import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import * as types from "@modelcontextprotocol/sdk/types.js";
globalThis.__probe = [Server, WebStandardStreamableHTTPServerTransport, types];`,
  },
  {
    name: "yaml",
    source: `import * as yaml from "yaml";
globalThis.__probe = yaml;`,
  },
  {
    name: "Powertools tracer (new Tracer())",
    source: `import { Tracer } from "@aws-lambda-powertools/tracer";
globalThis.__probe = new Tracer({ serviceName: "probe" });`,
  },
  {
    name: "Powertools logger + metrics (new Logger(), new Metrics())",
    source: `import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
globalThis.__probe = [new Logger({ serviceName: "probe" }), new Metrics({ namespace: "Probe", serviceName: "probe" })];`,
  },
  {
    name: "AWS SDK v3: DynamoDB DocumentClient + SFN client (what the lean client replaced)",
    source: `import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { SFNClient } from "@aws-sdk/client-sfn";
globalThis.__probe = [DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })), new SFNClient({ region: "us-east-1" })];`,
  },
];

/**
 * What streamHandle needs from the Lambda Node.js runtime at import time; stubbed before the
 * import in each child process (the real runtime defines it before it loads the handler).
 */
const AWSLAMBDA_STUB =
  "globalThis.awslambda = { streamifyResponse: (f) => f, HttpResponseStream: { from: (s) => s } };";

/** One `.mjs` file of a bundle. */
interface Output {
  /** Absolute path. */
  file: string;
  bytes: number;
  /** Loaded at a cold start: index.mjs or one of its static imports, transitively. */
  cold: boolean;
  /** Its inputs (paths relative to the repository root) and their bytes in this file. */
  inputs: [string, number][];
}

interface Bundle {
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
  /** Sum of the `.map` files; 0 without source maps. */
  mapBytes: number;
  warnings: number;
}

/** Builds `entry` into `outdir` with the options every deployed Lambda is built with. */
async function bundle(
  name: string,
  entry: string,
  outdir: string,
  sourcemap: boolean,
  nodePaths?: string[],
): Promise<Bundle> {
  const result = await build({
    ...lambdaBuildOptions(entry, outdir, { sourcemap }),
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
  const sum = (files: Output[]) => files.reduce((n, o) => n + o.bytes, 0);
  return {
    name,
    entryFile,
    outputs,
    bytes: sum(outputs),
    gzipBytes: gzipSync(Buffer.concat(outputs.map((o) => readFileSync(o.file)))).length,
    coldBytes: sum(outputs.filter((o) => o.cold)),
    mapBytes: keys
      .filter((k) => k.endsWith(".map"))
      .reduce((n, k) => n + statSync(resolve(REPO_ROOT, k)).size, 0),
    warnings: result.warnings.length,
  };
}

const ColdRunSchema = z.object({
  /** `await import(index.mjs)` alone, ms. */
  importMs: z.number(),
  /** The process's time origin (its start) → the handler imported, ms: node start-up included. */
  readyMs: z.number(),
  /** After that, `await import()` of every chunk not loaded yet, ms (0 when not asked). */
  lazyMs: z.number(),
});
type ColdRun = z.infer<typeof ColdRunSchema>;

/**
 * One fresh node process that stubs `awslambda`, imports the bundle's index.mjs and, with `lazy`,
 * every other chunk of it too, and reports the times.
 */
function coldRun(b: Bundle, nodeFlags: string[], lazy: boolean): ColdRun {
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
  const env = lambdaLikeEnv();
  const res = spawnSync(CHILD_NODE, [...nodeFlags, "--input-type=module", "-e", script], {
    env,
    encoding: "utf8",
    cwd: tmpdir(),
  });
  if (res.status !== 0) throw new Error(`cold start of ${b.name} failed (${res.status}): ${res.stderr}`);
  return ColdRunSchema.parse(JSON.parse(res.stdout.trim().split("\n").pop() ?? ""));
}

/**
 * The child's environment: this one without what Lambda's Node.js 22 runtime does not set.
 * NODE_OPTIONS: this process's is tsx's loader. NODE_EXTRA_CA_CERTS: some machines (this sandbox
 * among them) point it at a CA bundle that node parses at every start-up (~80 ms here, as much as
 * node's whole start without it), which would inflate the bare baseline; Lambda's Node.js 20+
 * runtimes load no extra CA certificates unless the function sets it, and ours do not.
 */
function lambdaLikeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

interface Variant {
  name: string;
  bundle: Bundle;
  flags: string[];
  /** The variant its ratios are taken against. */
  reference?: Variant;
  runs: ColdRun[];
}

/** Runs every variant RUNS times, interleaved (order rotated each round) so drift hits all alike. */
function measureColdStarts(variants: Variant[]): void {
  for (const v of variants) for (let i = 0; i < WARMUP_RUNS; i++) coldRun(v.bundle, v.flags, true);
  for (let round = 0; round < RUNS; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length];
      if (v) v.runs.push(coldRun(v.bundle, v.flags, true));
    }
  }
}

/** Per-run figures of a variant. */
const ready = (v: Variant) => v.runs.map((r) => r.readyMs);
const imported = (v: Variant) => v.runs.map((r) => r.importMs);
const withLazy = (v: Variant) => v.runs.map((r) => r.readyMs + r.lazyMs);
const lazyOnly = (v: Variant) => v.runs.map((r) => r.lazyMs);

/** Median of `figure` for `v` over that of its reference. */
function ratio(v: Variant, figure: (v: Variant) => number[]): number {
  return median(figure(v)) / median(figure(v.reference ?? v));
}

const CpuProfileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({
        functionName: z.string(),
        url: z.string(),
        lineNumber: z.number(),
        columnNumber: z.number(),
      }),
    }),
  ),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});
type CallFrame = z.infer<typeof CpuProfileSchema>["nodes"][number]["callFrame"];

/** Native frames of the module loader's file reads (one round per file: more chunks, more of them). */
const NATIVE_FILE_READS = new Set(["openFileHandle", "fstat", "read", "readFileUtf8", "close"]);

/**
 * Self time of a cold start of `b` (built with source maps; index.mjs and its static imports, no
 * lazy chunk), by where the sampled function is defined: the package of its original source
 * (through the source map of the chunk it runs in), the chunks' esbuild runtime, or node itself.
 * Node's own frames include the compile of the chunks (V8 parses each file when the module is
 * linked) and process start-up, which a bare bundle pays too.
 */
function profileColdStart(b: Bundle, dir: string): Map<string, number> {
  const chunks = new Map(
    b.outputs.map((o) => [
      pathToFileURL(o.file).href,
      {
        file: o.file,
        map: new SourceMap(JSON.parse(readFileSync(`${o.file}.map`, "utf8")) as SourceMapPayload),
      },
    ]),
  );
  const groupOf = new Map<string, string>();
  const group = (frame: CallFrame): string => {
    const chunk = chunks.get(frame.url);
    if (chunk) {
      const key = `${frame.url}:${frame.lineNumber}:${frame.columnNumber}`;
      let g = groupOf.get(key);
      if (g === undefined) {
        const entry = chunk.map.findEntry(frame.lineNumber, frame.columnNumber);
        const source = "originalSource" in entry ? entry.originalSource : undefined;
        if (frame.lineNumber === 0 && frame.columnNumber === 0)
          g = "(chunk top level: scope-hoisted module code, lazy compiles)";
        else if (!source) g = "(esbuild __esm/__commonJS wrappers: lazy compile of wrapped modules)";
        else {
          const path = source.startsWith("file:")
            ? fileURLToPath(source)
            : resolve(dirname(chunk.file), source);
          g = packageOf(relative(REPO_ROOT, path));
        }
        groupOf.set(key, g);
      }
      return g;
    }
    if (frame.url.startsWith("node:")) {
      return /SourceTextModule|ModuleWrap/.test(frame.functionName)
        ? "(node: compile of the chunks, V8 parse)"
        : "(node: start-up and module loader)";
    }
    if (frame.url === "" && NATIVE_FILE_READS.has(frame.functionName))
      return "(node: reading the chunk files)";
    if (frame.url === "") return frame.functionName ? `(${frame.functionName.replace(/[()]/g, "")})` : "(vm)";
    return "(other script)";
  };
  const totals = new Map<string, number>();
  for (let run = 0; run < PROFILE_RUNS; run++) {
    const profileDir = join(dir, `cpu-profile-${run}`);
    mkdirSync(profileDir, { recursive: true });
    coldRun(b, ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--cpu-prof-interval=100"], false);
    const file = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error(`no CPU profile in ${profileDir}`);
    const profile = CpuProfileSchema.parse(JSON.parse(readFileSync(join(profileDir, file), "utf8")));
    const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
    profile.samples.forEach((id, i) => {
      const frame = frames.get(id);
      if (!frame) return;
      const g = group(frame);
      totals.set(g, (totals.get(g) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000 / PROFILE_RUNS);
    });
  }
  return totals;
}

/** `node_modules/@scope/name/...` → `@scope/name`; project files → their top folder. */
function packageOf(input: string): string {
  const parts = input.split("/");
  const at = parts.lastIndexOf("node_modules");
  if (at >= 0) {
    const first = parts[at + 1] ?? "?";
    return first.startsWith("@") ? `${first}/${parts[at + 2] ?? "?"}` : first;
  }
  if (input === "package.json") return "(project) package.json";
  return `(project) ${parts[0] ?? input}/`;
}

function kib(bytes: number, digits = 1): string {
  return (bytes / KIB).toFixed(digits);
}

function pct(part: number, whole: number, digits = 1): string {
  return ((100 * part) / whole).toFixed(digits);
}

/** Bytes by package over `outputs`, and how many of them load at a cold start. */
function bytesByPackage(outputs: Output[]): { name: string; bytes: number; coldBytes: number }[] {
  const byPackage = new Map<string, { name: string; bytes: number; coldBytes: number }>();
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

const loadedWhen = (cold: boolean) => (cold ? "cold start" : "lazy");

/**
 * Bench 5: the API Lambda bundle, built as deployed (infra/constructs/lambda-bundle.ts), against a
 * bare Hono handler built the same way: sizes, cold init in fresh node processes, biggest inputs,
 * and where a cold start's CPU time goes.
 */
export async function benchBundle(): Promise<SummaryRow[]> {
  heading("5. API Lambda bundle: size and cold init vs a bare Hono handler");
  const dir = mkdtempSync(join(tmpdir(), "bga-bundle-"));
  try {
    // The reference handlers live outside the repo: resolve their packages from its node_modules.
    const nodePaths = [join(REPO_ROOT, "node_modules")];
    writeFileSync(join(dir, "baseline-handler.ts"), BASELINE_SOURCE);
    writeFileSync(join(dir, "powertools-handler.ts"), POWERTOOLS_BASELINE_SOURCE);
    const builds = (name: string, entry: string, i: number, paths?: string[]) =>
      Promise.all(
        [false, true].map((sourcemap) =>
          bundle(name, entry, join(dir, `${i}-${sourcemap ? "map" : "plain"}`), sourcemap, paths),
        ),
      );
    const [[api, apiMapped], [bare, bareMapped], powertools, runner] = await Promise.all([
      builds("API", API_ENTRY, 0),
      builds("bare Hono", join(dir, "baseline-handler.ts"), 1, nodePaths),
      // These two are measured without source maps only: one build each.
      bundle("bare Hono + Powertools", join(dir, "powertools-handler.ts"), join(dir, "2"), false, nodePaths),
      bundle("runner", RUNNER_ENTRY, join(dir, "3"), false),
    ]);
    if (!api || !apiMapped || !bare || !bareMapped) throw new Error("missing bundle");

    const o = lambdaBuildOptions(API_ENTRY, dir);
    console.log(
      `esbuild ${esbuildVersion} with the options of infra/constructs/lambda-bundle.ts (what every Lambda deploys): ` +
        `${o.splitting ? "code-split " : ""}${o.format} (${LAMBDA_ENTRY_FILE} + ${o.chunkNames}.mjs), ` +
        `platform=${o.platform}, target=${o.target}, ${o.minify ? "minified" : "not minified"}, ` +
        `main fields ${o.mainFields?.join(",")}, source maps${o.sourcesContent ? "" : " without sourcesContent"}, ` +
        `createRequire banner, externals: ${o.external?.join(",") || "none"}`,
    );
    console.log(
      "\nsize (sourcemap off; gzip = zlib default level over all .mjs files, a proxy for the zipped asset; " +
        "cold start = index.mjs + its static imports, from the metafile)",
    );
    printTable(
      [
        "bundle",
        "all .mjs KiB",
        "gzip KiB",
        "cold-start KiB",
        "chunks",
        "inputs",
        "× bare Hono (all / cold start)",
        "source maps KiB (deployed)",
      ],
      [
        { b: api, mapped: apiMapped },
        { b: bare, mapped: bareMapped },
        { b: powertools, mapped: undefined },
        { b: runner, mapped: undefined },
      ].map(({ b, mapped }) => [
        b.name,
        kib(b.bytes),
        kib(b.gzipBytes),
        kib(b.coldBytes),
        `${b.outputs.length - 1} (${b.outputs.filter((x) => x.cold).length - 1} at cold start)`,
        String(b.outputs.reduce((n, x) => n + x.inputs.length, 0)),
        `${(b.bytes / bare.bytes).toFixed(1)} / ${(b.coldBytes / bare.coldBytes).toFixed(1)}`,
        mapped ? kib(mapped.mapBytes) : "-",
      ]),
    );
    const warnings = api.warnings + bare.warnings;
    if (warnings > 0) console.log(`(esbuild reported ${warnings} warning(s))`);
    console.log(`\nthe API's ${api.outputs.length} files, biggest first`);
    printTable(
      ["file", "KiB", "loaded at", "biggest packages in it"],
      [...api.outputs]
        .sort((x, y) => y.bytes - x.bytes)
        .slice(0, 8)
        .map((out) => [
          relative(dirname(api.entryFile), out.file),
          kib(out.bytes),
          loadedWhen(out.cold),
          bytesByPackage([out])
            .slice(0, 3)
            .map((p) => p.name)
            .join(", "),
        ]),
    );

    const vBare: Variant = { name: "bare Hono", bundle: bare, flags: [], runs: [] };
    const vApi: Variant = { name: "API", bundle: api, flags: [], reference: vBare, runs: [] };
    const deployed = ["--enable-source-maps"];
    const vBareMapped: Variant = {
      name: "bare Hono, as deployed",
      bundle: bareMapped,
      flags: deployed,
      runs: [],
    };
    const vApiMapped: Variant = {
      name: "API, as deployed (.map files, --enable-source-maps)",
      bundle: apiMapped,
      flags: deployed,
      reference: vBareMapped,
      runs: [],
    };
    const vPowertools: Variant = {
      name: "bare Hono + Powertools logger, metrics, tracer",
      bundle: powertools,
      flags: [],
      reference: vBare,
      runs: [],
    };
    const vRunner: Variant = {
      name: "runner (information: not the target)",
      bundle: runner,
      flags: [],
      reference: vBare,
      runs: [],
    };
    /** The API against the floor instead of bare Hono: what the service's own code adds. */
    const vApiOverFloor: Variant = { ...vApi, reference: vPowertools };
    const variants = [vApi, vBare, vPowertools, vRunner, vApiMapped, vBareMapped];
    measureColdStarts(variants);
    console.log(
      `\ncold init: ${RUNS} fresh \`node --input-type=module -e\` processes per row (after ${WARMUP_RUNS} discarded), ` +
        `interleaved; node ${CHILD_NODE_VERSION}${CHILD_NODE === process.execPath ? "" : " (BGA_BENCH_NODE)"}, Node 22 on Lambda. start→ready = the process's time origin → ` +
        "handler imported (node start-up included: the local stand-in for Lambda's Init Duration, which includes " +
        "the runtime's own start); import = `await import(index.mjs)` alone; + lazy = then `import()` of every " +
        "other chunk (the most a first request can add)",
    );
    printTable(
      [
        "variant",
        "start→ready median ms",
        "p90 ms",
        "× bare Hono",
        "import median ms",
        "× bare Hono",
        "+ lazy median ms",
        "init + lazy × bare Hono",
      ],
      variants.map((v) => [
        v.name,
        median(ready(v)).toFixed(1),
        percentile(ready(v), 90).toFixed(1),
        ratio(v, ready).toFixed(2),
        median(imported(v)).toFixed(1),
        ratio(v, imported).toFixed(2),
        median(lazyOnly(v)).toFixed(1),
        ratio(v, withLazy).toFixed(2),
      ]),
    );
    const initRatio = ratio(vApi, ready);
    const deployedRatio = ratio(vApiMapped, ready);
    const importRatio = ratio(vApi, imported);
    const lazyRatio = ratio(vApi, withLazy);
    const pass = initRatio <= COLD_INIT_RATIO_TARGET;
    const deployedPass = deployedRatio <= COLD_INIT_RATIO_TARGET;
    /** A verdict line: the ratio of `figure` for `v` over its reference, median and p90. */
    const verdict = (
      kind: string,
      what: string,
      v: Variant,
      figure: (v: Variant) => number[],
      result: string,
    ) => [
      kind,
      what,
      `${ratio(v, figure).toFixed(2)}×`,
      `${(percentile(figure(v), 90) / percentile(figure(v.reference ?? v), 90)).toFixed(2)}×`,
      kind === "TARGET" ? `≤ ${COLD_INIT_RATIO_TARGET}` : "-",
      result,
    ];
    console.log("");
    printTable(
      ["", "ratio (API / bare Hono unless named)", "median", "p90", "target", "result"],
      [
        verdict("TARGET", "cold init (start→ready)", vApi, ready, label(pass)),
        verdict(
          "TARGET",
          "cold init as deployed (.map files, --enable-source-maps)",
          vApiMapped,
          ready,
          label(deployedPass),
        ),
        verdict(
          "info",
          "floor: bare Hono + the required Powertools logger, metrics, tracer (start→ready)",
          vPowertools,
          ready,
          "not the target",
        ),
        verdict(
          "info",
          "API / that floor (what the service's own code adds, start→ready)",
          vApiOverFloor,
          ready,
          "not the target",
        ),
        verdict("info", "import only (no node start-up)", vApi, imported, "not the target"),
        verdict(
          "info",
          "init + every lazy chunk (the MCP SDK on the first MCP request)",
          vApi,
          withLazy,
          "not the target",
        ),
      ],
    );

    const inputs = api.outputs
      .flatMap((out) => out.inputs.map(([path, n]) => ({ path, n, cold: out.cold })))
      .sort((x, y) => y.n - x.n);
    console.log("\n10 biggest inputs of the API bundle, all files (esbuild metafile, bytesInOutput)");
    printTable(
      ["input", "KiB in output", "% of all .mjs", "loaded at"],
      inputs.slice(0, 10).map((i) => [i.path, kib(i.n), pct(i.n, api.bytes), loadedWhen(i.cold)]),
    );
    const profile = profileColdStart(apiMapped, dir);
    const profiled = [...profile.values()].reduce((a, n) => a + n, 0);
    console.log("\n… by package (all files), with the self time of the CPU-profiled cold starts below");
    printTable(
      ["package", "KiB in output", "of which at cold start", "% of all .mjs", "cold self ms", "% of profile"],
      bytesByPackage(api.outputs)
        .slice(0, 14)
        .map((p) => {
          const ms = profile.get(p.name) ?? 0;
          return [
            p.name,
            kib(p.bytes),
            kib(p.coldBytes),
            pct(p.bytes, api.bytes),
            ms.toFixed(1),
            pct(ms, profiled),
          ];
        }),
    );
    console.log(
      `\nwhere the API's cold start spends CPU (${PROFILE_RUNS} runs with --cpu-prof at 100 µs, up to the handler ` +
        "imported, no lazy chunk; self time by the package that defines the sampled function, through the source " +
        "map of its chunk; mean per run, profiler overhead included)",
    );
    printTable(
      ["where", "self ms", "% of profile"],
      [...profile.entries()]
        .sort((x, y) => y[1] - x[1])
        .slice(0, 12)
        .map(([name, ms]) => [name, ms.toFixed(1), pct(ms, profiled)]),
    );

    console.log(
      `\neach dependency group alone: bundled the same way, ${PROBE_RUNS} cold imports each (upper bound of what ` +
        "loading it lazily, or not at all, could save; groups overlap)",
    );
    const probeRows: string[][] = [];
    for (const [i, probe] of DEPENDENCY_PROBES.entries()) {
      const entry = join(dir, `probe-${i}.ts`);
      writeFileSync(entry, `${probe.source}\nexport const handler = () => globalThis.__probe;\n`);
      const b = await bundle(probe.name, entry, join(dir, `probe-${i}`), false, nodePaths);
      coldRun(b, [], false);
      const runs: Variant = { name: probe.name, bundle: b, flags: [], runs: [] };
      for (let r = 0; r < PROBE_RUNS; r++) runs.runs.push(coldRun(b, [], false));
      const ms = median(imported(runs));
      probeRows.push([
        probe.name,
        kib(b.coldBytes),
        kib(b.bytes - b.coldBytes),
        pct(b.coldBytes, api.coldBytes, 0),
        ms.toFixed(1),
        pct(ms, median(imported(vApi)), 0),
      ]);
    }
    printTable(
      [
        "dependency group",
        "cold-start KiB",
        "+ lazy KiB",
        "% of API cold-start bytes",
        "import median ms",
        "% of API import",
      ],
      probeRows,
    );

    const ms = (v: Variant, figure: (v: Variant) => number[]) => median(figure(v)).toFixed(0);
    return [
      {
        bench: "5. API bundle size",
        measured:
          `${kib(api.bytes, 0)} KiB in ${api.outputs.length} files, ${kib(api.coldBytes, 0)} KiB at a cold start; ` +
          `${kib(api.gzipBytes, 0)} KiB gzip (cold start ${(api.coldBytes / bare.coldBytes).toFixed(0)}× bare Hono)`,
        target: "-",
        pass: true,
        info: true,
      },
      {
        bench: "5. API cold init (start→ready) / bare Hono",
        measured: `${initRatio.toFixed(2)}× (${ms(vApi, ready)} / ${ms(vBare, ready)} ms, medians, node ${CHILD_NODE_VERSION})`,
        target: `≤ ${COLD_INIT_RATIO_TARGET}`,
        pass,
      },
      {
        bench: "5. … floor: bare Hono + required Powertools",
        measured: `${ratio(vPowertools, ready).toFixed(2)}× (${ms(vPowertools, ready)} / ${ms(vBare, ready)} ms)`,
        target: "-",
        pass: true,
        info: true,
      },
      {
        bench: "5. … API / that floor",
        measured: `${ratio(vApiOverFloor, ready).toFixed(2)}× (${ms(vApi, ready)} / ${ms(vPowertools, ready)} ms)`,
        target: "-",
        pass: true,
        info: true,
      },
      {
        bench: "5. runner cold init (start→ready)",
        measured: `${ms(vRunner, ready)} ms (${ratio(vRunner, ready).toFixed(2)}× bare Hono); + every lazy chunk ${ms(vRunner, withLazy)} ms`,
        target: "-",
        pass: true,
        info: true,
      },
      {
        bench: "5. … import only",
        measured: `${importRatio.toFixed(2)}× (${ms(vApi, imported)} / ${ms(vBare, imported)} ms)`,
        target: "-",
        pass: true,
        info: true,
      },
      {
        bench: "5. … init + every lazy chunk",
        measured: `${lazyRatio.toFixed(2)}× (${ms(vApi, withLazy)} / ${ms(vBare, withLazy)} ms)`,
        target: "-",
        pass: true,
        info: true,
      },
      {
        bench: "5. … as deployed (source maps), start→ready",
        measured: `${deployedRatio.toFixed(2)}× (${ms(vApiMapped, ready)} / ${ms(vBareMapped, ready)} ms)`,
        target: `≤ ${COLD_INIT_RATIO_TARGET}`,
        pass: deployedPass,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
