import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { type BuildOptions, build, type Metafile } from "esbuild";
import { heading, KIB, label, median, percentile, printTable, type SummaryRow } from "./support.js";

/** Informational target: API cold import ÷ bare-Hono cold import (medians). */
export const COLD_INIT_RATIO_TARGET = 1.5;
/** Fresh `node` processes per bundle and variant. */
const RUNS = 15;
/** Discarded runs of each bundle first (file-system cache, JIT of node itself). */
const WARMUP_RUNS = 2;
/** CPU-profiled cold imports of the API bundle, for the time-by-package table. */
const PROFILE_RUNS = 5;

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const NODE_FUNCTION_SOURCE = join(REPO_ROOT, "infra/constructs/node-function.ts");
const API_ENTRY = "functions/api/handler.ts";

/** The banner of infra/constructs/node-function.ts, used if it cannot be read from that file. */
const FALLBACK_BANNER =
  "import { createRequire as __bgaCreateRequire } from 'node:module';const require = __bgaCreateRequire(import.meta.url);";

/** The bare Hono handler the API is compared with (the brief's baseline, verbatim). */
const BASELINE_SOURCE = `import { Hono } from "hono";
import { streamHandle } from "hono/aws-lambda";
const app = new Hono();
app.get("/healthz", (c) => c.json({ ok: true }));
export const handler = streamHandle(app);
`;

/**
 * A second reference: the bare handler plus the AWS SDK clients any API of this design must load
 * (a DynamoDB DocumentClient and an SFN client, each used by a route so they are not dropped).
 */
const SDK_FLOOR_SOURCE = `import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { Hono } from "hono";
import { streamHandle } from "hono/aws-lambda";
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
const sfn = new SFNClient({ region: "us-east-1" });
const app = new Hono();
app.get("/healthz", (c) => c.json({ ok: true }));
app.get("/item/:id", async (c) =>
  c.json((await doc.send(new GetCommand({ TableName: "t", Key: { pk: c.req.param("id") } }))).Item ?? null),
);
app.post("/start", async (c) => {
  const out = await sfn.send(new StartExecutionCommand({ stateMachineArn: "arn:aws:states:::x", input: "{}" }));
  return c.json({ arn: out.executionArn });
});
export const handler = streamHandle(app);
`;

/**
 * The API's heavy dependency groups, each bundled alone (same options) and imported cold: what
 * loading each one lazily, or not at all, could save at most. They overlap (zod is in several).
 * Each keeps what it imports reachable, so nothing is tree-shaken away.
 */
const DEPENDENCY_PROBES: { name: string; source: string }[] = [
  {
    name: 'zod (`import { z } from "zod"`)',
    source: `import * as z from "zod";
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
    name: "AWS SDK: DynamoDB DocumentClient + SFN client",
    source: `import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { SFNClient } from "@aws-sdk/client-sfn";
globalThis.__probe = [DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" })), new SFNClient({ region: "us-east-1" })];`,
  },
];
/** Cold imports per dependency probe. */
const PROBE_RUNS = 9;

/**
 * What streamHandle needs from the Lambda Node.js runtime at import time; stubbed before the
 * import in each child process (the real runtime defines it before it loads the handler).
 */
const AWSLAMBDA_STUB =
  "globalThis.awslambda = { streamifyResponse: (f) => f, HttpResponseStream: { from: (s) => s } };";

interface Mirror {
  banner: string;
  /** Settings of node-function.ts this bench mirrors that could not be found there (drift). */
  drift: string[];
}

/**
 * Reads the bundling props of infra/constructs/node-function.ts (as text: importing it would load
 * aws-cdk-lib) and checks that the settings mirrored below are still the ones it uses.
 */
function readMirror(): Mirror {
  const source = readFileSync(NODE_FUNCTION_SOURCE, "utf8");
  const expected: [string, RegExp][] = [
    ["format: OutputFormat.ESM", /format:\s*OutputFormat\.ESM/],
    ['target: "node22"', /target:\s*"node22"/],
    ["minify: true", /minify:\s*true/],
    ["sourceMap: true", /sourceMap:\s*true/],
    ["sourcesContent: false", /sourcesContent:\s*false/],
    ["bundleAwsSDK: true (no externals)", /bundleAwsSDK:\s*true/],
    ['mainFields: ["module", "main"]', /mainFields:\s*\[\s*"module",\s*"main"\s*\]/],
    ["Runtime.NODEJS_22_X", /Runtime\.NODEJS_22_X/],
  ];
  const drift = expected.filter(([, re]) => !re.test(source)).map(([name]) => name);
  for (const unexpected of [
    "externalModules",
    "nodeModules",
    "define:",
    "loader:",
    "keepNames",
    "tsconfig:",
  ]) {
    if (source.includes(unexpected)) drift.push(`unexpected ${unexpected}`);
  }
  const banner = /banner:\s*"((?:[^"\\]|\\.)*)"/.exec(source)?.[1];
  if (banner === undefined) drift.push("banner");
  return { banner: banner ?? FALLBACK_BANNER, drift };
}

/**
 * esbuild options equal to the command line CDK's NodejsFunction runs for the props of
 * node-function.ts: `esbuild --bundle <entry> --target=node22 --platform=node --format=esm
 * --outfile=<out>/index.mjs --minify --sourcemap --sources-content=false --banner:js=<banner>
 * --main-fields=module,main`, run in the project root; no --external (bundleAwsSDK: true).
 * `sourcemap` is off for the size figure and on for the "as deployed" variant.
 */
function lambdaBuildOptions(
  mirror: Mirror,
  outfile: string,
  sourcemap: boolean,
): BuildOptions & { outfile: string } {
  return {
    absWorkingDir: REPO_ROOT,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    outfile,
    minify: true,
    sourcemap,
    sourcesContent: false,
    external: [],
    banner: { js: mirror.banner },
    mainFields: ["module", "main"],
    metafile: true,
    logLevel: "silent",
  };
}

interface Bundle {
  name: string;
  file: string;
  bytes: number;
  gzipBytes: number;
  mapBytes: number;
  metafile: Metafile;
  warnings: number;
}

async function bundle(
  name: string,
  options: BuildOptions & { outfile: string },
  entry: string,
  nodePaths?: string[],
): Promise<Bundle> {
  const result = await build({ ...options, entryPoints: [entry], ...(nodePaths ? { nodePaths } : {}) });
  if (!result.metafile) throw new Error(`esbuild gave no metafile for ${name}`);
  const code = readFileSync(options.outfile);
  const mapFile = `${options.outfile}.map`;
  return {
    name,
    file: options.outfile,
    bytes: code.length,
    gzipBytes: gzipSync(code).length,
    mapBytes: options.sourcemap ? statSync(mapFile).size : 0,
    metafile: result.metafile,
    warnings: result.warnings.length,
  };
}

interface ColdRun {
  /** `await import(bundle)` only, ms. */
  importMs: number;
  /** From the process's time origin (its start) to the handler being imported, ms. */
  readyMs: number;
}

const ColdRunShape = {
  parse(text: string): ColdRun {
    const value: unknown = JSON.parse(text);
    if (
      typeof value === "object" &&
      value !== null &&
      "importMs" in value &&
      "readyMs" in value &&
      typeof value.importMs === "number" &&
      typeof value.readyMs === "number"
    )
      return { importMs: value.importMs, readyMs: value.readyMs };
    throw new Error(`unexpected child output: ${text}`);
  },
};

/** One fresh node process that stubs `awslambda`, imports the bundle and reports the times. */
function coldImport(file: string, nodeFlags: string[]): ColdRun {
  const script = [
    AWSLAMBDA_STUB,
    "const t0 = performance.now();",
    `const m = await import(${JSON.stringify(pathToFileURL(file).href)});`,
    "const t1 = performance.now();",
    'if (typeof m.handler !== "function") throw new Error("no handler export");',
    "console.log(JSON.stringify({ importMs: t1 - t0, readyMs: t1 }));",
  ].join("\n");
  // No NODE_OPTIONS from this (tsx) process: the child is a plain node, like the Lambda runtime.
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  const res = spawnSync(process.execPath, [...nodeFlags, "--input-type=module", "-e", script], {
    env,
    encoding: "utf8",
    cwd: tmpdir(),
  });
  if (res.status !== 0) throw new Error(`cold import of ${file} failed (${res.status}): ${res.stderr}`);
  const last = res.stdout.trim().split("\n").pop() ?? "";
  return ColdRunShape.parse(last);
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
/** The parts of a V8 .cpuprofile this bench reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

function readCpuProfile(file: string): CpuProfile {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  if (!Array.isArray(profile.nodes) || !Array.isArray(profile.samples) || !Array.isArray(profile.timeDeltas))
    throw new Error(`${file} is not a V8 CPU profile`);
  return profile;
}

/**
 * Self time of a cold import of `b` (built with a source map), by where the sampled function is
 * defined: the package of its original source (through the source map), the bundle's esbuild
 * runtime, or node itself. Node's own frames include the compile of the bundle (V8 parses the
 * whole file when the module is linked) and process start-up, which a bare bundle pays too.
 */
function profileImport(b: Bundle, dir: string): Map<string, number> {
  const map = new SourceMap(JSON.parse(readFileSync(`${b.file}.map`, "utf8")) as SourceMapPayload);
  const bundleUrl = pathToFileURL(b.file).href;
  const groupOf = new Map<string, string>();
  const group = (frame: CallFrame): string => {
    if (frame.url === bundleUrl) {
      const key = `${frame.lineNumber}:${frame.columnNumber}`;
      let g = groupOf.get(key);
      if (g === undefined) {
        const entry = map.findEntry(frame.lineNumber, frame.columnNumber);
        const source = "originalSource" in entry ? entry.originalSource : undefined;
        if (frame.lineNumber === 0 && frame.columnNumber === 0)
          g = "(bundle top level: scope-hoisted module code, lazy compiles)";
        else if (!source) g = "(esbuild __esm/__commonJS wrappers: lazy compile of wrapped modules)";
        else {
          const path = source.startsWith("file:") ? fileURLToPath(source) : resolve(dirname(b.file), source);
          g = packageOf(relative(REPO_ROOT, path));
        }
        groupOf.set(key, g);
      }
      return g;
    }
    if (frame.url.startsWith("node:")) {
      return /SourceTextModule|ModuleWrap/.test(frame.functionName)
        ? "(node: compile of the bundle, V8 parse)"
        : "(node: start-up and module loader)";
    }
    if (frame.url === "") return frame.functionName ? `(${frame.functionName.replace(/[()]/g, "")})` : "(vm)";
    return "(other script)";
  };
  const totals = new Map<string, number>();
  for (let run = 0; run < PROFILE_RUNS; run++) {
    const profileDir = join(dir, `cpu-profile-${run}`);
    mkdirSync(profileDir, { recursive: true });
    coldImport(b.file, ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--cpu-prof-interval=100"]);
    const file = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error(`no CPU profile in ${profileDir}`);
    const profile = readCpuProfile(join(profileDir, file));
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

interface Variant {
  name: string;
  file: string;
  flags: string[];
  runs: ColdRun[];
}

/** Runs every variant RUNS times, interleaved (order rotated each round) so drift hits all alike. */
function measureColdImports(variants: Variant[]): void {
  for (const v of variants) for (let i = 0; i < WARMUP_RUNS; i++) coldImport(v.file, v.flags);
  for (let round = 0; round < RUNS; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length];
      if (v) v.runs.push(coldImport(v.file, v.flags));
    }
  }
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

function biggestInputs(
  b: Bundle,
  count: number,
  packageCount: number,
): { inputs: [string, number][]; packages: [string, number][] } {
  const output = Object.values(b.metafile.outputs).find((o) => o.entryPoint !== undefined);
  if (!output) throw new Error(`no entry output in the metafile of ${b.name}`);
  const inputs = Object.entries(output.inputs).map(([path, v]): [string, number] => [path, v.bytesInOutput]);
  inputs.sort((x, y) => y[1] - x[1]);
  const byPackage = new Map<string, number>();
  for (const [path, n] of inputs) byPackage.set(packageOf(path), (byPackage.get(packageOf(path)) ?? 0) + n);
  const packages = [...byPackage.entries()].sort((x, y) => y[1] - x[1]);
  return { inputs: inputs.slice(0, count), packages: packages.slice(0, packageCount) };
}

interface Row {
  name: string;
  /** Sourcemap off: the size figure and the cold import the target compares. */
  plain: Bundle;
  /** As deployed: `index.mjs.map` next to it, imported with `--enable-source-maps`. */
  mapped: Bundle;
}

/**
 * Bench 5: the API Lambda bundle, built like the deployed function, against a bare Hono
 * handler built the same way: sizes, cold import time in fresh node processes, biggest inputs,
 * and where the import's CPU time goes.
 */
export async function benchBundle(): Promise<SummaryRow[]> {
  heading("5. API Lambda bundle: size and cold import vs a bare Hono handler");
  const mirror = readMirror();
  if (mirror.drift.length > 0) {
    console.log(
      `WARNING: infra/constructs/node-function.ts no longer matches what this bench mirrors: ${mirror.drift.join(", ")}`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "bga-bundle-"));
  try {
    // The reference handlers live outside the repo: resolve their packages from its node_modules.
    const nodePaths = [join(REPO_ROOT, "node_modules")];
    const entries: { name: string; entry: string; nodePaths?: string[] }[] = [
      { name: "API", entry: join(REPO_ROOT, API_ENTRY) },
      { name: "bare Hono", entry: join(dir, "baseline-handler.ts"), nodePaths },
      { name: "Hono + SDK clients", entry: join(dir, "sdk-floor-handler.ts"), nodePaths },
    ];
    writeFileSync(join(dir, "baseline-handler.ts"), BASELINE_SOURCE);
    writeFileSync(join(dir, "sdk-floor-handler.ts"), SDK_FLOOR_SOURCE);
    const rows: Row[] = await Promise.all(
      entries.map(async (e, i) => {
        const [plain, mapped] = await Promise.all(
          [false, true].map((sourcemap) =>
            bundle(
              e.name,
              lambdaBuildOptions(
                mirror,
                join(dir, `${i}-${sourcemap ? "map" : "plain"}`, "index.mjs"),
                sourcemap,
              ),
              e.entry,
              e.nodePaths,
            ),
          ),
        );
        if (!plain || !mapped) throw new Error(`no bundle for ${e.name}`);
        return { name: e.name, plain, mapped };
      }),
    );
    const [api, baseline, floor] = rows;
    if (!api || !baseline || !floor) throw new Error("missing bundle");

    const { version } = await import("esbuild");
    console.log(
      `esbuild ${version}, as CDK NodejsFunction runs it for node-function.ts: --bundle --platform=node --target=node22 ` +
        "--format=esm --minify --sources-content=false --main-fields=module,main --banner:js=<createRequire>, no externals",
    );
    console.log(
      "reference handlers: `bare Hono` = the brief's /healthz handler; `Hono + SDK clients` = the same plus a " +
        "DynamoDB DocumentClient and an SFN client used by two routes (what any API of this design must load)",
    );
    console.log("\nsize (sourcemap off; gzip = zlib default level, a proxy for the zipped asset)");
    printTable(
      ["bundle", "bytes", "KiB", "gzip KiB", "inputs", "× bare Hono", "+ source map KiB (deployed)"],
      rows.map((r) => [
        r.name,
        String(r.plain.bytes),
        kib(r.plain.bytes),
        kib(r.plain.gzipBytes),
        String(Object.keys(r.plain.metafile.inputs).length),
        (r.plain.bytes / baseline.plain.bytes).toFixed(1),
        kib(r.mapped.mapBytes),
      ]),
    );
    const warnings = rows.reduce((n, r) => n + r.plain.warnings, 0);
    if (warnings > 0) console.log(`(esbuild reported ${warnings} warning(s))`);

    const variants: Variant[] = [
      ...rows.map((r) => ({ name: r.name, file: r.plain.file, flags: [], runs: [] })),
      ...[baseline, api].map((r) => ({
        name: `${r.name}, as deployed (.map, --enable-source-maps)`,
        file: r.mapped.file,
        flags: ["--enable-source-maps"],
        runs: [],
      })),
    ];
    measureColdImports(variants);
    const [vApi, vBase, vFloor, vBaseMapped, vApiMapped] = variants;
    if (!vApi || !vBase || !vFloor || !vBaseMapped || !vApiMapped) throw new Error("missing variant");
    const importMs = (v: Variant) => v.runs.map((r) => r.importMs);
    const med = (v: Variant) => median(importMs(v));
    const p90 = (v: Variant) => percentile(importMs(v), 90);
    const readyMed = (v: Variant) => median(v.runs.map((r) => r.readyMs));
    console.log(
      `\ncold import: ${RUNS} fresh \`node --input-type=module -e\` processes per row (after ${WARMUP_RUNS} ` +
        `discarded), interleaved; node ${process.version} here, Node 22 on Lambda. import = \`await import()\` ` +
        "alone; start→ready = from the process's time origin to the handler imported (node start-up included)",
    );
    printTable(
      [
        "bundle",
        "import median ms",
        "p90 ms",
        "min ms",
        "× bare Hono (median)",
        "start→ready median ms",
        "× bare Hono",
      ],
      variants.map((v) => {
        const ref = v === vBaseMapped || v === vApiMapped ? vBaseMapped : vBase;
        return [
          v.name,
          med(v).toFixed(1),
          p90(v).toFixed(1),
          Math.min(...importMs(v)).toFixed(1),
          (med(v) / med(ref)).toFixed(2),
          readyMed(v).toFixed(1),
          (readyMed(v) / readyMed(ref)).toFixed(2),
        ];
      }),
    );
    const ratio = med(vApi) / med(vBase);
    const ratioP90 = p90(vApi) / p90(vBase);
    const deployedRatio = med(vApiMapped) / med(vBaseMapped);
    const pass = ratio <= COLD_INIT_RATIO_TARGET;
    console.log(
      `API / bare Hono cold import: median ${ratio.toFixed(2)}×, p90 ${ratioP90.toFixed(2)}×   ` +
        `target ≤ ${COLD_INIT_RATIO_TARGET}   ${label(pass)}`,
    );
    console.log(
      `(API / Hono + SDK clients: median ${(med(vApi) / med(vFloor)).toFixed(2)}×; ` +
        `start→ready API / bare Hono: ${(readyMed(vApi) / readyMed(vBase)).toFixed(2)}×)`,
    );

    const { inputs, packages } = biggestInputs(api.plain, 10, 14);
    const total = api.plain.bytes;
    console.log("\n10 biggest inputs of the API bundle (esbuild metafile, bytesInOutput)");
    printTable(
      ["input", "KiB in output", "% of bundle"],
      inputs.map(([path, n]) => [path, kib(n), ((100 * n) / total).toFixed(1)]),
    );
    const apiOutput = Object.values(api.plain.metafile.outputs).find((o) => o.entryPoint !== undefined);
    const locales = Object.entries(apiOutput?.inputs ?? {})
      .filter(([path]) => path.includes("node_modules/zod/v4/locales/"))
      .reduce((n, [, v]) => n + v.bytesInOutput, 0);
    if (locales > 0) {
      console.log(
        `(of which zod/v4/locales: ${kib(locales)} KiB, ${((100 * locales) / total).toFixed(1)} % of the bundle: error ` +
          "messages in every language, kept because the whole `z` namespace is imported as a value)",
      );
    }
    const profile = profileImport(api.mapped, dir);
    const profiled = [...profile.values()].reduce((a, n) => a + n, 0);
    console.log("\n… by package (all inputs), with the self time of the CPU-profiled cold imports below");
    printTable(
      ["package", "KiB in output", "% of bundle", "import self ms", "% of profile"],
      packages.map(([name, n]) => {
        const ms = profile.get(name) ?? 0;
        return [
          name,
          kib(n),
          ((100 * n) / total).toFixed(1),
          ms.toFixed(1),
          ((100 * ms) / profiled).toFixed(1),
        ];
      }),
    );
    console.log(
      `\nwhere the API's cold import spends CPU (${PROFILE_RUNS} runs with --cpu-prof at 100 µs, self time by the ` +
        "package that defines the sampled function, through the source map; mean per run, profiler overhead included)",
    );
    printTable(
      ["where", "self ms", "% of profile"],
      [...profile.entries()]
        .sort((x, y) => y[1] - x[1])
        .slice(0, 12)
        .map(([name, ms]) => [name, ms.toFixed(1), ((100 * ms) / profiled).toFixed(1)]),
    );

    console.log(
      `\neach dependency group alone: bundled the same way, ${PROBE_RUNS} cold imports each (upper bound of what ` +
        "loading it lazily, or not at all, could save; groups overlap)",
    );
    const probeRows: string[][] = [];
    for (const [i, probe] of DEPENDENCY_PROBES.entries()) {
      const entry = join(dir, `probe-${i}.ts`);
      writeFileSync(entry, `${probe.source}\nexport const handler = () => globalThis.__probe;\n`);
      const b = await bundle(
        probe.name,
        lambdaBuildOptions(mirror, join(dir, `probe-${i}`, "index.mjs"), false),
        entry,
        nodePaths,
      );
      const runs: Variant = { name: probe.name, file: b.file, flags: [], runs: [] };
      coldImport(b.file, []);
      for (let r = 0; r < PROBE_RUNS; r++) runs.runs.push(coldImport(b.file, []));
      probeRows.push([
        probe.name,
        kib(b.bytes),
        ((100 * b.bytes) / total).toFixed(0),
        med(runs).toFixed(1),
        ((100 * med(runs)) / med(vApi)).toFixed(0),
      ]);
    }
    printTable(
      ["dependency group", "KiB", "% of API bytes", "import median ms", "% of API import"],
      probeRows,
    );

    return [
      {
        bench: "5. API bundle size",
        measured: `${kib(api.plain.bytes, 0)} KiB, ${kib(api.plain.gzipBytes, 0)} KiB gzip (${(api.plain.bytes / baseline.plain.bytes).toFixed(0)}× bare Hono)`,
        target: "-",
        pass: true,
        info: true,
      },
      {
        bench: "5. API cold import / bare Hono (median)",
        measured: `${ratio.toFixed(2)}× (${med(vApi).toFixed(0)} / ${med(vBase).toFixed(0)} ms)`,
        target: `≤ ${COLD_INIT_RATIO_TARGET}`,
        pass,
      },
      {
        bench: "5. … as deployed (source map on)",
        measured: `${deployedRatio.toFixed(2)}× (${med(vApiMapped).toFixed(0)} / ${med(vBaseMapped).toFixed(0)} ms)`,
        target: `≤ ${COLD_INIT_RATIO_TARGET}`,
        pass: deployedRatio <= COLD_INIT_RATIO_TARGET,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
