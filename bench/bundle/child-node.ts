import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { lambdaBuildOptions } from "../../infra/constructs/lambda-bundle.js";

/** The node that runs the cold starts, and how it was chosen. */
export interface ChildNode {
  path: string;
  version: string;
  /** How it was chosen, and a warning when it is not the functions' runtime. */
  note: string;
}

/**
 * The child's environment: this one without what Lambda's runtime does not set. NODE_OPTIONS:
 * this process's is tsx's loader. NODE_EXTRA_CA_CERTS: some machines (this sandbox among them)
 * point it at a CA bundle that node parses at every start-up (~80 ms here), which Lambda's
 * Node.js runtimes do not do unless a function sets it, and ours do not.
 */
export function lambdaLikeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** The Node.js major the functions are built for (esbuild's `target`, e.g. node22 → 22). */
export function targetNodeMajor(): number {
  const target = String(lambdaBuildOptions("functions/api/handler.ts", ".").target ?? "");
  return Number(/node(\d+)/.exec(target)?.[1] ?? 22);
}

/** `npx -y node@<major>`'s binary, or undefined when npx cannot get it (offline, …). */
function npxNode(major: number): string | undefined {
  const res = spawnSync("npx", ["-y", `node@${major}`, "-p", "process.execPath"], {
    env: lambdaLikeEnv(),
    encoding: "utf8",
    timeout: 300_000,
  });
  const path = res.stdout?.trim().split("\n").pop() ?? "";
  return res.status === 0 && path && existsSync(path) ? path : undefined;
}

function versionOf(path: string): string {
  return spawnSync(path, ["-v"], { encoding: "utf8", env: lambdaLikeEnv() }).stdout.trim();
}

/**
 * BGA_BENCH_NODE if set; else the Node.js of the functions' target from npx (22 if that fails);
 * else the node running the bench, labelled when it is older than the target.
 */
export function resolveChildNode(): ChildNode {
  const major = targetNodeMajor();
  const chosen = process.env.BGA_BENCH_NODE;
  if (chosen) return { path: chosen, version: versionOf(chosen), note: "BGA_BENCH_NODE" };
  for (const m of new Set([major, 22])) {
    const path = npxNode(m);
    if (path)
      return { path, version: versionOf(path), note: `npx -y node@${m} (functions target node${major})` };
  }
  const own = process.versions.node.split(".")[0];
  const note = Number(own) < major ? `(Node ${own}: not the target runtime)` : "this node";
  return { path: process.execPath, version: process.version, note };
}
