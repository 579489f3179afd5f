import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { build, type Metafile } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import {
  coldStartOutputs,
  LAMBDA_ENTRY_FILE,
  lambdaBuildOptions,
} from "../../infra/constructs/lambda-bundle.js";
import { createNodeFunction } from "../../infra/constructs/node-function.js";

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "bga-bundle-test-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Every input of the output files `entry` loads before its code runs. */
function coldStartInputs(meta: Metafile, entry: string): string[] {
  return [...coldStartOutputs(meta, entry)].flatMap((file) => Object.keys(meta.outputs[file]?.inputs ?? {}));
}

/** Builds `handler` as deployed into `outdir`: the inputs loaded at a cold start, and all of them. */
async function bundleInputs(handler: string, outdir: string) {
  const { metafile: meta } = await build({
    ...lambdaBuildOptions(handler, outdir, { sourcemap: false }),
    metafile: true,
    write: true,
  });
  const entry = Object.keys(meta.outputs).find((o) => o.endsWith(`/${LAMBDA_ENTRY_FILE}`));
  expect(entry).toBeDefined();
  return {
    atColdStart: coldStartInputs(meta, entry as string),
    all: Object.values(meta.outputs).flatMap((o) => Object.keys(o.inputs)),
  };
}

describe("Lambda bundles (infra/constructs/lambda-bundle.ts)", () => {
  it("splits the API: the MCP SDK, the admin routes, the console and the harness routes are chunks loaded on first use, not at a cold start", async () => {
    const outdir = tempDir();
    const { atColdStart, all } = await bundleInputs("functions/api/handler.ts", outdir);
    expect(atColdStart.some((i) => i.includes("functions/api/handler.ts"))).toBe(true);
    expect(atColdStart.some((i) => i.includes("node_modules/hono/"))).toBe(true);
    for (const lazy of [
      "@modelcontextprotocol/sdk",
      "node_modules/ajv/",
      "functions/api/mcp-server.ts",
      "functions/api/routes/admin.ts",
      "functions/api/console/",
      "node_modules/hono/dist/middleware/secure-headers/",
      // Harness containers' routes and channel, and the webhook URL check (network guard).
      "functions/api/routes/internal-harness.ts",
      "shared/harness/repository-channel.ts",
      "shared/security/task-capability.ts",
      "shared/security/network-guard.ts",
      "node_modules/ipaddr.js/",
    ]) {
      expect(atColdStart.filter((i) => i.includes(lazy))).toEqual([]);
    }
    expect(all.some((i) => i.includes("@modelcontextprotocol/sdk/dist/esm/server/"))).toBe(true);
    expect(all.some((i) => i.includes("functions/api/routes/admin.ts"))).toBe(true);
    expect(all.some((i) => i.includes("functions/api/console/client-script.ts"))).toBe(true);

    // What Lambda does: load index.mjs (awslambda is the runtime's global) and find `handler`.
    const stub =
      "globalThis.awslambda = { streamifyResponse: (f) => f, HttpResponseStream: { from: (s) => s } };";
    const url = pathToFileURL(join(outdir, LAMBDA_ENTRY_FILE)).href;
    const child = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `${stub} const m = await import(${JSON.stringify(url)}); console.log(typeof m.handler);`,
      ],
      { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } },
    );
    expect(child.stderr).toBe("");
    expect(child.stdout.trim()).toBe("function");
  });

  it("splits the runner: each provider SDK, the MCP client and the YAML parser load on first use", async () => {
    const { atColdStart, all } = await bundleInputs("functions/runner/handler.ts", tempDir());
    expect(atColdStart.some((i) => i.includes("functions/runner/run-agent-step.ts"))).toBe(true);
    // YAML: for tenants stored before configs were kept as JSON too.
    const lazy = [
      "node_modules/openai/",
      "node_modules/@anthropic-ai/sdk/",
      "node_modules/@aws-sdk/client-bedrock-runtime/",
      "node_modules/@modelcontextprotocol/sdk/",
      "node_modules/yaml/",
    ];
    for (const pkg of lazy) {
      expect(atColdStart.filter((i) => i.includes(pkg))).toEqual([]);
      expect(all.some((i) => i.includes(pkg))).toBe(true); // in a chunk of its own use
    }
  });

  it("keeps the webhook signing (standardwebhooks) out of the API's cold start; the sender's bundle loads as Lambda loads it", async () => {
    const api = await bundleInputs("functions/api/handler.ts", tempDir());
    expect(api.atColdStart.filter((i) => i.includes("node_modules/standardwebhooks/"))).toEqual([]);
    const outdir = tempDir();
    const sender = await bundleInputs("functions/reconciler/webhook-handler.ts", outdir);
    expect(sender.atColdStart.some((i) => i.includes("node_modules/standardwebhooks/"))).toBe(true);
    const url = pathToFileURL(join(outdir, LAMBDA_ENTRY_FILE)).href;
    const child = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const m = await import(${JSON.stringify(url)}); console.log(typeof m.handler);`,
      ],
      { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } },
    );
    expect(child.stderr).toBe("");
    expect(child.stdout.trim()).toBe("function");
  });

  it("gives each function its own bundle (the asset cache key names the entry)", () => {
    const out = tempDir();
    const app = new App({ outdir: out, context: { "aws:cdk:bundling-stacks": ["**"] } });
    const stack = new Stack(app, "Bundles");
    createNodeFunction(stack, "Reconciler", {
      entry: "functions/reconciler/handler.ts",
      description: "one",
    });
    createNodeFunction(stack, "Api", { entry: "functions/api/handler.ts", description: "two" });
    const fns = Template.fromStack(stack).findResources("AWS::Lambda::Function");
    const keys = Object.values(fns).map(
      (f) => (f as { Properties: { Code: { S3Key: unknown } } }).Properties.Code.S3Key,
    );
    expect(keys).toHaveLength(2);
    expect(new Set(keys.map((k) => JSON.stringify(k))).size).toBe(2);
    for (const fn of Object.values(fns)) {
      expect((fn as { Properties: { Handler: string } }).Properties.Handler).toBe("index.handler");
    }
    app.synth();
    const bundles = readdirSync(out).filter(
      (d) => d.startsWith("asset.") && existsSync(join(out, d, LAMBDA_ENTRY_FILE)),
    );
    expect(bundles).toHaveLength(2);
  });
});
