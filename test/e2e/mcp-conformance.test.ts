import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeOpenAI } from "../support/fake-openai.js";
import { API_KEY, type Harness, startHarness } from "../support/harness.js";

// The official MCP conformance suite (@modelcontextprotocol/conformance) against our /mcp, for
// the server scenarios that apply to a tools-only server. The suite needs Node 22 and sends no
// API key: a loopback front adds the key and passes everything else (Host and Origin included)
// through to the app unchanged.
const SCENARIOS = ["server-initialize", "ping", "tools-list", "dns-rebinding-protection"];
const CLI = resolve("node_modules/@modelcontextprotocol/conformance/dist/index.js");

let fake: FakeOpenAI;
let h: Harness;
let front: ReturnType<typeof serve>;
let url = "";
let node22 = "";
const workDir = mkdtempSync(join(tmpdir(), "bga-conformance-"));

beforeAll(async () => {
  node22 = execFileSync("npx", ["-y", "node@22", "-p", "process.execPath"], { encoding: "utf8" }).trim();
  fake = await new FakeOpenAI().start();
  h = await startHarness({ fake });
  const app = h.runtime.app;
  front = await new Promise((done) => {
    const s = serve(
      {
        fetch: (req) => {
          const headers = new Headers(req.headers);
          headers.set("authorization", `Bearer ${API_KEY}`);
          return app.fetch(new Request(req, { headers }));
        },
        port: 0,
        hostname: "127.0.0.1",
      },
      () => done(s),
    );
  });
  url = `http://127.0.0.1:${(front.address() as AddressInfo).port}/mcp`;
}, 120_000);
afterAll(async () => {
  await new Promise<void>((done) => front.close(() => done()));
  await h.close();
  await fake.close();
  rmSync(workDir, { recursive: true, force: true });
});

/** Runs one scenario; resolves with the exit code and what the suite printed. */
function runScenario(scenario: string): Promise<{ code: number | null; output: string }> {
  const { NODE_OPTIONS: _, ...env } = process.env; // not vitest's loader options
  return new Promise((done) => {
    const child = spawn(node22, [CLI, "server", "--url", url, "--scenario", scenario], {
      cwd: workDir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.on("close", (code) => done({ code, output }));
  });
}

describe("MCP conformance suite (server scenarios)", () => {
  for (const scenario of SCENARIOS) {
    it(`passes ${scenario}`, async () => {
      const { code, output } = await runScenario(scenario);
      const summary = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(output);
      expect(summary, output).not.toBeNull();
      const [, passed, total, failed] = summary ?? [];
      expect(Number(total), output).toBeGreaterThan(0);
      expect(passed, output).toBe(total);
      expect(failed, output).toBe("0");
      expect(code, output).toBe(0);
    }, 60_000);
  }
});
