import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { version as esbuildVersion } from "esbuild";
import { LAMBDA_ENTRY_FILE, lambdaBuildOptions, REPO_ROOT } from "../infra/constructs/lambda-bundle.js";
import { type Bundle, buildBundle, bytesByPackage } from "./bundle/build.js";
import { type ChildNode, resolveChildNode } from "./bundle/child-node.js";
import {
  DEPLOYED_NODE_FLAGS,
  type Figure,
  figures,
  measureColdStarts,
  ratios,
  type Variant,
} from "./bundle/cold-start.js";
import { profileColdStart } from "./bundle/profile.js";
import { REFERENCE_HANDLER_SOURCE } from "./bundle/reference-handler.js";
import {
  heading,
  infoRow,
  kib,
  label,
  median,
  pct,
  percentile,
  printTable,
  type SummaryRow,
} from "./report.js";

/** Target: API cold init ÷ the reference's, start→ready medians, as shipped (source maps on). */
export const COLD_INIT_RATIO_TARGET = 1.25;
/** Fresh `node` processes per variant, after WARMUP_RUNS discarded ones. */
const RUNS = 25;
const WARMUP_RUNS = 2;
/** CPU-profiled cold starts of the API, for the time-by-package table. */
const PROFILE_RUNS = 5;
const API_ENTRY = "functions/api/handler.ts";
/** Not the target: its cold init delays a task's first step on a cold instance, so it is shown too. */
const RUNNER_ENTRY = "functions/runner/handler.ts";

interface Bundles {
  api: Bundle;
  reference: Bundle;
  runner: Bundle;
}

async function buildAll(dir: string): Promise<Bundles> {
  const referenceEntry = join(dir, "reference-handler.ts");
  writeFileSync(referenceEntry, REFERENCE_HANDLER_SOURCE);
  // The reference lives outside the repository: resolve its packages from the repository's node_modules.
  const nodePaths = [join(REPO_ROOT, "node_modules")];
  const [api, reference, runner] = await Promise.all([
    buildBundle("API", API_ENTRY, join(dir, "api")),
    buildBundle("reference", referenceEntry, join(dir, "reference"), nodePaths),
    buildBundle("runner", RUNNER_ENTRY, join(dir, "runner")),
  ]);
  return { api, reference, runner };
}

function printBuild(b: Bundles): void {
  const o = lambdaBuildOptions(API_ENTRY, ".");
  console.log(
    `esbuild ${esbuildVersion}, the options of infra/constructs/lambda-bundle.ts (what every Lambda deploys): ` +
      `${o.splitting ? "code-split " : ""}${o.format} (${LAMBDA_ENTRY_FILE} + chunks), target=${o.target}, ` +
      `${o.minify ? "minified" : "not minified"}, source maps as shipped, externals: ${o.external?.join(",") || "none"}`,
  );
  console.log(
    "size (gzip = all .mjs files, a proxy for the zipped asset; cold start = index.mjs + its static imports)",
  );
  printTable(
    [
      "bundle",
      "all .mjs KiB",
      "gzip KiB",
      "cold-start KiB",
      "chunks (at cold start)",
      ".map KiB",
      "cold-start × reference",
    ],
    [b.api, b.reference, b.runner].map((x) => [
      x.name,
      kib(x.bytes),
      kib(x.gzipBytes),
      kib(x.coldBytes),
      `${x.outputs.length - 1} (${x.outputs.filter((f) => f.cold).length - 1})`,
      kib(x.mapBytes),
      (x.coldBytes / b.reference.coldBytes).toFixed(2),
    ]),
  );
}

function printColdStarts(node: ChildNode, variants: Variant[], reference: Variant): void {
  console.log(
    `\ncold init: ${RUNS} fresh \`node ${DEPLOYED_NODE_FLAGS.join(" ")} --input-type=module -e\` processes per row ` +
      `(after ${WARMUP_RUNS} discarded), interleaved; node ${node.version} (${node.note}). start→ready = the process's ` +
      "time origin → handler imported (node's start-up included: the local stand-in for Lambda's Init Duration); " +
      "import = `await import(index.mjs)` alone; + lazy = then `import()` of every other chunk",
  );
  const times = (v: Variant, f: Figure) => median(f(v)).toFixed(1);
  const ratio = (v: Variant, f: Figure) => ratios(v, reference, f).median.toFixed(2);
  printTable(
    [
      "variant",
      "start→ready median ms",
      "p90 ms",
      "× reference",
      "import median ms",
      "× reference",
      "+ lazy median ms",
    ],
    variants.map((v) => [
      v.name,
      times(v, figures.ready),
      percentile(figures.ready(v), 90).toFixed(1),
      ratio(v, figures.ready),
      times(v, figures.imported),
      ratio(v, figures.imported),
      median(v.runs.map((r) => r.lazyMs)).toFixed(1),
    ]),
  );
}

function printVerdict(api: Variant, reference: Variant): boolean {
  const init = ratios(api, reference, figures.ready);
  const imported = ratios(api, reference, figures.imported);
  const pass = init.median <= COLD_INIT_RATIO_TARGET;
  console.log("");
  printTable(
    ["", "API / reference", "median", "p90", "target", "result"],
    [
      [
        "TARGET",
        "cold init (start→ready), as shipped",
        `${init.median.toFixed(2)}×`,
        `${init.p90.toFixed(2)}×`,
        `≤ ${COLD_INIT_RATIO_TARGET}`,
        label(pass),
      ],
      [
        "info",
        "import only (no node start-up)",
        `${imported.median.toFixed(2)}×`,
        `${imported.p90.toFixed(2)}×`,
        "-",
        "info",
      ],
    ],
  );
  return pass;
}

function printProfile(api: Bundle, profile: Map<string, number>): void {
  const total = [...profile.values()].reduce((a, n) => a + n, 0);
  const packages = new Map(bytesByPackage(api.outputs).map((p) => [p.name, p]));
  console.log(
    `\nwhere the API's cold start spends CPU: ${PROFILE_RUNS} runs with --cpu-prof at 100 µs up to the handler imported; ` +
      "self time by the package defining the sampled function (through each chunk's source map), mean per run",
  );
  printTable(
    ["where", "self ms", "% of profile", "KiB at cold start"],
    [...profile.entries()]
      .sort((x, y) => y[1] - x[1])
      .slice(0, 14)
      .map(([name, ms]) => [
        name,
        ms.toFixed(1),
        pct(ms, total),
        packages.has(name) ? kib(packages.get(name)?.coldBytes ?? 0) : "",
      ]),
  );
  const biggest = [...packages.values()].sort((x, y) => y.coldBytes - x.coldBytes).slice(0, 8);
  console.log(
    `biggest at a cold start (KiB; their compile time is in node's rows): ${biggest.map((p) => `${p.name} ${kib(p.coldBytes, 0)}`).join(", ")}`,
  );
}

function summary(
  b: Bundles,
  node: ChildNode,
  v: { api: Variant; reference: Variant; runner: Variant },
  pass: boolean,
): SummaryRow[] {
  const ms = (x: Variant, f: Figure) => median(f(x)).toFixed(0);
  const init = ratios(v.api, v.reference, figures.ready).median;
  return [
    infoRow(
      "5. API bundle size",
      `${kib(b.api.bytes, 0)} KiB in ${b.api.outputs.length} files, ${kib(b.api.coldBytes, 0)} KiB at a cold start (reference ${kib(b.reference.coldBytes, 0)} KiB)`,
    ),
    {
      bench: "5. API cold init (start→ready) / reference",
      measured: `${init.toFixed(2)}× (${ms(v.api, figures.ready)} / ${ms(v.reference, figures.ready)} ms, medians, node ${node.version})`,
      target: `≤ ${COLD_INIT_RATIO_TARGET}`,
      pass,
    },
    infoRow(
      "5. … import only",
      `${ratios(v.api, v.reference, figures.imported).median.toFixed(2)}× (${ms(v.api, figures.imported)} / ${ms(v.reference, figures.imported)} ms)`,
    ),
    infoRow(
      "5. runner cold init (start→ready)",
      `${ms(v.runner, figures.ready)} ms (${ratios(v.runner, v.reference, figures.ready).median.toFixed(2)}× reference); + every lazy chunk ${ms(v.runner, figures.withLazy)} ms`,
    ),
  ];
}

/**
 * Bench 5: the API Lambda bundle, built as deployed, against a reference handler that loads what
 * any API of this design must (bench/bundle/reference-handler.ts), built the same way: sizes, cold
 * init in fresh node processes of the functions' Node.js major, and where the API's cold start goes.
 */
export async function benchBundle(): Promise<SummaryRow[]> {
  heading("5. API Lambda bundle: size and cold init vs a reference handler");
  const dir = mkdtempSync(join(tmpdir(), "bga-bundle-"));
  try {
    const node = resolveChildNode();
    const b = await buildAll(dir);
    printBuild(b);
    const v = {
      api: { name: "API", bundle: b.api, runs: [] },
      reference: {
        name: "reference (Hono, zod, DynamoDB + SFN clients, Powertools logger + metrics)",
        bundle: b.reference,
        runs: [],
      },
      runner: { name: "runner (information: not the target)", bundle: b.runner, runs: [] },
    };
    measureColdStarts(node.path, [v.api, v.reference, v.runner], RUNS, WARMUP_RUNS);
    printColdStarts(node, [v.api, v.reference, v.runner], v.reference);
    const pass = printVerdict(v.api, v.reference);
    printProfile(b.api, profileColdStart(node.path, b.api, dir, PROFILE_RUNS));
    return summary(b, node, v, pass);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
