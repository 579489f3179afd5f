import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isFinished } from "../../shared/domain/task.js";
import { FakeOpenAIResponses } from "../support/fake-openai-responses.js";
import { bareRepo, gitApply } from "../support/git-fixture.js";
import { type Harness, startHarness } from "../support/harness.js";

/**
 * Harness agents (SPEC §9) with the real Codex CLI from npm against a scripted OpenAI Responses
 * API (codex speaks only that API; the service gives it a provider for OPENAI_BASE_URL): its
 * `exec_command` shell tool runs in a clone of a local repository, and the task keeps its changes.
 */

const SENTINEL = "server-only-sentinel-codex-9d2e";
let h: Harness;
let openai: FakeOpenAIResponses;
let repo: ReturnType<typeof bareRepo>;
const pids = new Map<string, number>();

beforeAll(async () => {
  process.env.BGA_HARNESS_TEST_SENTINEL = SENTINEL;
  openai = await new FakeOpenAIResponses().start();
  repo = bareRepo();
  h = await startHarness({
    tenantEnv: { OPENAI_API_KEY: "sk-openai-test-key" },
    config: () => `
agents:
  root:
    model: openai/gpt-4o-mini
    sub_agents: [codex]
  codex:
    instruction: Answer in one sentence.
    harness:
      type: codex
      effort: low
      args: [--model, gpt-5.5]
      config: {hide_agent_reasoning: true}
      env:
        OPENAI_API_KEY: \${env.OPENAI_API_KEY}
        OPENAI_BASE_URL: ${openai.url}
      workspace:
        git: ${repo.path}
`,
    harnessRunner: { onSpawn: ({ pid, taskId }) => pids.set(taskId, pid) },
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await openai?.close();
  repo?.cleanup();
  delete process.env.BGA_HARNESS_TEST_SENTINEL;
});

beforeEach(() => openai.reset());

const shell = (cmd: string) => ({ name: "exec_command", arguments: JSON.stringify({ cmd }) });

describe("codex harness", () => {
  it("writes a file with its shell tool in a clone of the repository; the changes apply to a fresh clone", async () => {
    openai.enqueue(
      { text: "Writing it.", toolCalls: [shell("printf 'hi\\n' > codex.txt && ls && pwd && env")] },
      { text: "Wrote codex.txt." },
    );
    const task = await h.run("codex", "Write codex.txt");
    const done = await h.waitFor(task.id, undefined, 60_000);
    expect(done.status, done.error ?? "").toBe("completed");
    expect(done.result).toBe("Wrote codex.txt.\n\nChanges: 1 file changed (+1 -0): codex.txt");
    expect(done.usage.input_tokens).toBe(20);
    expect(done.usage.tool_calls).toBe(1);

    const chunks = await h.allChunks(task.id);
    expect(chunks.find((c) => c.kind === "tool_call")?.text).toBe(
      "shell: printf 'hi\\n' > codex.txt && ls && pwd && env",
    );
    const result = chunks.find((c) => c.kind === "tool_result")?.text ?? "";
    expect(result).toContain("README.md");
    expect(result).toMatch(/\/bga-harness-[^/]+\/workspace\n/);
    expect(result).not.toContain(SENTINEL);
    expect(result).not.toContain("VITEST");
    expect(result).toMatch(/^CODEX_HOME=.*\/bga-harness-[^/]+\/home\/\.codex$/m);
    expect(
      chunks
        .filter((c) => c.kind === "text")
        .map((c) => c.text)
        .join(""),
    ).toBe("Writing it.\n\nWrote codex.txt.");

    // The provider the service defined: the Responses API at OPENAI_BASE_URL, with the tenant's key.
    expect(openai.requests[0]?.apiKey).toBe("sk-openai-test-key");
    expect(openai.requests[0]?.body.model).toBe("gpt-5.5");
    expect(openai.requests[0]?.body.reasoning).toEqual(expect.objectContaining({ effort: "low" }));
    expect(JSON.stringify(openai.requests[0]?.body.input)).toContain("Answer in one sentence.");

    const res = await h.request("GET", `/v1/tasks/${task.id}/changes`);
    expect(res.status).toBe(200);
    const changes = res.json as unknown as { files: unknown[]; patch: string };
    expect(changes.files).toEqual([{ path: "codex.txt", status: "added", additions: 1, deletions: 0 }]);
    const fresh = repo.clone();
    gitApply(fresh, changes.patch);
    expect(readFileSync(join(fresh, "codex.txt"), "utf8")).toBe("hi\n");
  }, 90_000);

  it("a failing model ends the task failed with the CLI's own message", async () => {
    openai.setFallback({
      failed: { code: "invalid_prompt", message: "scripted failure: the prompt was refused" },
    });
    const task = await h.run("codex", "Fail");
    const done = await h.waitFor(task.id, undefined, 60_000);
    expect(done.status).toBe("failed");
    expect(done.error).toContain("scripted failure: the prompt was refused");
  }, 90_000);

  it("stop mid-task ends the CLI's process group with no model request after it", async () => {
    openai.enqueue({ text: "Working.", toolCalls: [shell("echo started > s.txt && sleep 30")] });
    openai.setFallback({ text: "should never be asked" });
    const task = await h.run("codex", "Sleep");
    await h.waitFor(task.id, (t) => t.usage.tool_calls > 0 || isFinished(t.status), 60_000);
    expect((await h.getTask(task.id)).status).toBe("running");
    const stoppedAt = Date.now();
    expect((await h.request("POST", `/v1/tasks/${task.id}/stop`)).status).toBe(200);
    const pid = pids.get(task.id)!;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && alive(pid)) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
    await new Promise((r) => setTimeout(r, 1000));
    expect(openai.requests.every((r) => r.startedAt <= stoppedAt)).toBe(true);
    expect((await h.getTask(task.id)).status).toBe("stopped");
  }, 90_000);
});

function alive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
