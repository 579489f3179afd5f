import { execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort } from "../../local/embedded-dynamodb.js";
import type { FakeAnthropic } from "../support/fake-anthropic.js";
import type { FakeOpenAIResponses } from "../support/fake-openai-responses.js";
import { startScriptedModels } from "../support/scripted-models.js";
import { type ServerProcess, serverEnv, startServer, stopServer } from "../support/server-process.js";

/**
 * Harness agents as a new user tries them (README "Harness sub-agents"): `npm start`'s entry as
 * its own process with examples/coding-harness.yaml, the model servers scripted as
 * test/support/scripted-models.ts scripts them, `bga run … --follow` for a Claude Code task and a
 * Codex task, and `bga changes <id> | git apply` in a new repository.
 */

const KEY = "harness-user-key-0123456789abcdef";
const BIN = resolve("bin/bga.js");
let anthropic: FakeAnthropic;
let openai: FakeOpenAIResponses;
let server: ServerProcess | undefined;
let base = "";
let dir = "";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bga-harness-user-"));
  ({ anthropic, openai } = await startScriptedModels());
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = await startServer(
    serverEnv({
      PORT: String(port),
      BGA_CONFIG: "examples/coding-harness.yaml",
      BGA_API_KEY: KEY,
      BGA_DATA_DIR: join(dir, "data"),
      BGA_DYNAMODB_ENDPOINT: inject("dynamodbEndpoint"),
      BGA_TABLE_NAME: `bga-harness-user-${randomUUID()}`,
      ANTHROPIC_BASE_URL: anthropic.url,
      ANTHROPIC_API_KEY: "sk-ant-scripted",
      OPENAI_BASE_URL: openai.url,
      OPENAI_API_KEY: "sk-scripted",
      // The server's own variable: the CLIs must never see it.
      BGA_SERVER_ONLY_SECRET: "server-only-5e1b",
    }),
  );
}, 90_000);

afterAll(async () => {
  await stopServer(server, "SIGTERM");
  await anthropic?.close();
  await openai?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function bga(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, BGA_ENDPOINT: base, BGA_API_KEY: KEY },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((done) => child.on("close", (code) => done({ code, stdout, stderr })));
}

describe("harness agents with npm start and bga", () => {
  for (const agent of ["claude-coder", "codex-coder"]) {
    it(`${agent}: bga run --follow, then bga changes | git apply`, async () => {
      const run = await bga(["run", agent, "Write hello.txt", "--follow"]);
      expect(run.code).toBe(0);
      // "Started …" goes to stderr, the output to stdout.
      const id = /Started (agent_task_\S+)/.exec(run.stderr)?.[1] ?? "";
      expect(run.stdout).toContain("Writing hello.txt.");
      expect(run.stdout).toMatch(
        /\[tool call\] (Bash|shell): printf 'hello from a harness agent\\n' > hello\.txt && ls/,
      );
      expect(run.stdout).toContain("Changes: 1 file changed (+1 -0): hello.txt");
      expect(run.stdout).not.toContain("server-only-5e1b");

      const changes = await bga(["changes", id]);
      expect(changes.code).toBe(0);
      const repo = join(dir, `apply-${agent}`);
      execFileSync("git", ["init", "-q", repo]);
      execFileSync("git", ["apply"], { cwd: repo, input: changes.stdout });
      expect(readFileSync(join(repo, "hello.txt"), "utf8")).toBe("hello from a harness agent\n");
    }, 90_000);
  }

  it("bga changes of a task without changes says so, exit 1", async () => {
    const out = await bga(["changes", "agent_task_doesnotexist0000000000"]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("task not found");
  });
});
