import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as z from "zod";
import { REPO_ROOT } from "../../infra/constructs/lambda-bundle.js";
import { type Bundle, packageOf } from "./build.js";
import { coldRun, DEPLOYED_NODE_FLAGS } from "./cold-start.js";

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

/** Native frames of the module loader's file reads. */
const NATIVE_FILE_READS = new Set(["openFileHandle", "fstat", "read", "readFileUtf8", "close"]);

/** The group of a frame outside the bundle: node's compile, start-up, file reads, or the VM. */
function nodeGroup(frame: CallFrame): string {
  if (frame.url.startsWith("node:"))
    return /SourceTextModule|ModuleWrap/.test(frame.functionName)
      ? "(node: compile of the chunks, V8 parse)"
      : "(node: start-up and module loader)";
  if (frame.url === "" && NATIVE_FILE_READS.has(frame.functionName)) return "(node: reading the chunk files)";
  if (frame.url === "") return frame.functionName ? `(${frame.functionName.replace(/[()]/g, "")})` : "(vm)";
  return "(other script)";
}

/** Maps a sampled frame to the package of its original source, through its chunk's source map. */
function frameGrouper(b: Bundle): (frame: CallFrame) => string {
  const chunks = new Map(
    b.outputs.map((o) => {
      const payload = JSON.parse(readFileSync(`${o.file}.map`, "utf8")) as SourceMapPayload;
      return [pathToFileURL(o.file).href, { file: o.file, map: new SourceMap(payload) }];
    }),
  );
  const cache = new Map<string, string>();
  return (frame) => {
    const chunk = chunks.get(frame.url);
    if (!chunk) return nodeGroup(frame);
    const key = `${frame.url}:${frame.lineNumber}:${frame.columnNumber}`;
    const known = cache.get(key);
    if (known !== undefined) return known;
    const entry = chunk.map.findEntry(frame.lineNumber, frame.columnNumber);
    const source = "originalSource" in entry ? entry.originalSource : undefined;
    let group = "(esbuild __esm/__commonJS wrappers: lazy compile of wrapped modules)";
    if (frame.lineNumber === 0 && frame.columnNumber === 0)
      group = "(chunk top level: scope-hoisted module code)";
    else if (source) {
      const path = source.startsWith("file:") ? fileURLToPath(source) : resolve(dirname(chunk.file), source);
      group = packageOf(relative(REPO_ROOT, path));
    }
    cache.set(key, group);
    return group;
  };
}

/** Runs one cold start of `b` with the CPU profiler on and returns its profile. */
function profiledRun(node: string, b: Bundle, dir: string) {
  mkdirSync(dir, { recursive: true });
  coldRun(
    node,
    b,
    [...DEPLOYED_NODE_FLAGS, "--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=100"],
    false,
  );
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no CPU profile in ${dir}`);
  return CpuProfileSchema.parse(JSON.parse(readFileSync(join(dir, file), "utf8")));
}

/**
 * Mean self time (ms) of `runs` cold starts of `b` (index.mjs and its static imports, no lazy
 * chunk), by where the sampled function is defined: the package of its original source, the
 * chunks' esbuild runtime, or node itself (which includes compiling the chunks and start-up).
 */
export function profileColdStart(node: string, b: Bundle, dir: string, runs: number): Map<string, number> {
  const group = frameGrouper(b);
  const totals = new Map<string, number>();
  for (let run = 0; run < runs; run++) {
    const profile = profiledRun(node, b, join(dir, `cpu-profile-${run}`));
    const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
    profile.samples.forEach((id, i) => {
      const frame = frames.get(id);
      if (!frame) return;
      const g = group(frame);
      totals.set(g, (totals.get(g) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000 / runs);
    });
  }
  return totals;
}
