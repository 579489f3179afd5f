import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeAnthropic } from "../support/fake-anthropic.js";
import { bareRepo, gitApply } from "../support/git-fixture.js";
import { ADMIN_TOKEN, type Harness, startHarness } from "../support/harness.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

/**
 * Harness agents (SPEC §9) with the real Claude Code CLI from npm against a scripted Anthropic
 * Messages API: the CLI runs its own Bash tool in a clone of a local repository, and the task
 * keeps its changes.
 */

const SENTINEL = "server-only-sentinel-4f1c";
let h: Harness;
let anthropic: FakeAnthropic;
let repo: ReturnType<typeof bareRepo>;
const pids = new Map<string, number>();

beforeAll(async () => {
  process.env.BGA_HARNESS_TEST_SENTINEL = SENTINEL;
  anthropic = await new FakeAnthropic().start();
  repo = bareRepo();
  h = await startHarness({
    tenantEnv: { ANTHROPIC_API_KEY: "sk-ant-test-key" },
    limits: { max_running_tasks: 10 },
    config: () => `
agents:
  root:
    model: openai/gpt-4o-mini
    sub_agents: [coder, quick, empty]
  coder:
    description: Claude Code in a clone
    instruction: You are a careful senior engineer.
    harness:
      type: claude-code
      effort: low
      config: {includeCoAuthoredBy: false}
      env:
        ANTHROPIC_API_KEY: \${env.ANTHROPIC_API_KEY}
        ANTHROPIC_BASE_URL: ${anthropic.url}
      workspace:
        git: ${repo.path}
  quick:
    harness:
      type: claude-code
      timeout: 8s
      env:
        ANTHROPIC_API_KEY: \${env.ANTHROPIC_API_KEY}
        ANTHROPIC_BASE_URL: ${anthropic.url}
  empty:
    harness:
      type: claude-code
      env:
        ANTHROPIC_API_KEY: \${env.ANTHROPIC_API_KEY}
        ANTHROPIC_BASE_URL: ${anthropic.url}
`,
    harnessRunner: { onSpawn: ({ pid, taskId }) => pids.set(taskId, pid) },
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await anthropic?.close();
  repo?.cleanup();
  delete process.env.BGA_HARNESS_TEST_SENTINEL;
});

beforeEach(() => anthropic.reset());

const bash = (command: string) => ({ name: "Bash", input: JSON.stringify({ command, description: "run" }) });

describe("claude-code harness", () => {
  it("GET /v1/agents says which agents are harness agents", async () => {
    const res = await h.request("GET", "/v1/agents");
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      agents: [
        { name: "coder", description: "Claude Code in a clone", kind: "harness" },
        { name: "quick", description: "", kind: "harness" },
        { name: "empty", description: "", kind: "harness" },
      ],
    });
  });

  it("writes a file with its Bash tool in a clone of the repository; the changes apply to a fresh clone", async () => {
    anthropic.enqueue(
      {
        text: "I will write the file.",
        toolCalls: [bash("printf 'hello\\n' > hello.txt && echo more >> README.md && ls && pwd && env")],
      },
      { text: ["All", " done."] },
    );
    const task = await h.run("coder", "Write hello.txt");
    const done = await h.waitFor(task.id, undefined, 60_000);
    expect(done.status, done.error ?? "").toBe("completed");
    expect(done.result).toMatch(
      /^All done\.\n\nChanges: 2 files changed \(\+2 -0\): (README\.md, hello\.txt|hello\.txt, README\.md)$/,
    );
    expect(done.usage.model_calls).toBe(2);
    expect(done.usage.tool_calls).toBe(1);
    expect(done.usage.input_tokens).toBeGreaterThan(0);

    const chunks = await h.allChunks(task.id);
    const call = chunks.find((c) => c.kind === "tool_call");
    expect(call?.text).toContain("Bash: printf 'hello\\n' > hello.txt");
    const result = chunks.find((c) => c.kind === "tool_result")?.text ?? "";
    // The workspace is the clone: its README is there, and pwd is the task's own workspace.
    expect(result).toContain("README.md");
    expect(result).toMatch(/\/bga-harness-[^/]+\/workspace\n/);
    // The CLI's environment holds nothing of the server's.
    expect(result).not.toContain(SENTINEL);
    expect(result).not.toContain("BGA_HARNESS_TEST_SENTINEL");
    expect(result).not.toContain("VITEST");
    expect(result).toMatch(/^HOME=.*\/bga-harness-[^/]+\/home$/m);
    expect(result).toContain("ANTHROPIC_API_KEY=sk-ant-test-key");
    expect(chunks.map((c) => c.text).join("")).toContain("I will write the file.");

    // The instruction went into the CLI's system prompt; the key and the path of the API as Claude Code uses them.
    expect(JSON.stringify(anthropic.requests[0]?.body.system)).toContain(
      "You are a careful senior engineer.",
    );
    expect(anthropic.requests[0]?.apiKey).toBe("sk-ant-test-key");

    const res = await h.request("GET", `/v1/tasks/${task.id}/changes`);
    expect(res.status).toBe(200);
    const changes = res.json as unknown as { base: string; files: unknown[]; patch: string };
    expect(changes.base).toMatch(/^[0-9a-f]{40}$/);
    expect(changes.files).toEqual(
      expect.arrayContaining([
        { path: "hello.txt", status: "added", additions: 1, deletions: 0 },
        { path: "README.md", status: "modified", additions: 1, deletions: 0 },
      ]),
    );
    const fresh = repo.clone();
    gitApply(fresh, changes.patch);
    expect(readFileSync(join(fresh, "hello.txt"), "utf8")).toBe("hello\n");
    expect(execFileSync("git", ["status", "--porcelain"], { cwd: fresh, encoding: "utf8" })).toContain(
      "A  hello.txt",
    );

    // view_background_agent ends with the same line.
    const view = await h.request("POST", "/v1/tools/view_background_agent", { task_id: task.id });
    const text = (view.json as { content: { text: string }[] }).content[0]?.text ?? "";
    expect(text).toMatch(/Changes: 2 files changed \(\+2 -0\)/);
  }, 90_000);

  it("a task without a workspace starts in an empty directory; a task that changed nothing has no changes (404)", async () => {
    anthropic.enqueue({ toolCalls: [bash("ls -A; git log --oneline | wc -l")] }, { text: "empty" });
    const task = await h.run("empty", "Look around");
    const done = await h.waitFor(task.id, undefined, 60_000);
    expect(done.status, done.error ?? "").toBe("completed");
    const result = (await h.allChunks(task.id)).find((c) => c.kind === "tool_result")?.text ?? "";
    expect(result.trim().split("\n")[0]).toBe(".git");
    const res = await h.request("GET", `/v1/tasks/${task.id}/changes`);
    expect(res.status).toBe(404);
    expect(res.json.error?.code).toBe("task_not_found");
  }, 90_000);

  it("a failing model ends the task failed with the CLI's own message", async () => {
    anthropic.setFallback({ status: 403, errorMessage: "scripted refusal: this key may not use the model" });
    const task = await h.run("empty", "Fail please");
    const done = await h.waitFor(task.id, undefined, 60_000);
    expect(done.status).toBe("failed");
    expect(done.error).toContain("scripted refusal: this key may not use the model");
  }, 90_000);

  it("stop mid-stream ends the CLI: status stopped, no model request after it, changes kept", async () => {
    anthropic.enqueue(
      { toolCalls: [bash("echo partial > partial.txt")] },
      { text: Array.from({ length: 200 }, (_, i) => `word${i} `), delayMs: 50 },
    );
    anthropic.setFallback({ text: "should never be asked" });
    const task = await h.run("coder", "Write slowly");
    await h.waitFor(task.id, (t) => t.output_bytes > 0 && anthropic.requests.length >= 2, 60_000);
    const stoppedAt = Date.now();
    const res = await h.request("POST", `/v1/tasks/${task.id}/stop`);
    expect(res.status).toBe(200);
    const pid = pids.get(task.id);
    expect(pid).toBeDefined();
    // The whole process group is gone within 5 s.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && alive(pid!)) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid!)).toBe(false);
    const requestsAtStop = anthropic.requests.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(anthropic.requests.length).toBe(requestsAtStop);
    expect(anthropic.requests.every((r) => r.startedAt <= stoppedAt)).toBe(true);
    const t = await h.getTask(task.id);
    expect(t.status).toBe("stopped");
    const bytes = t.output_bytes;
    await new Promise((r) => setTimeout(r, 500));
    expect((await h.getTask(task.id)).output_bytes).toBe(bytes);
    // Its changes are kept, whatever the status.
    await expect
      .poll(async () => (await h.request("GET", `/v1/tasks/${task.id}/changes`)).status, { timeout: 10_000 })
      .toBe(200);
  }, 90_000);

  it("kill -9 of the CLI ends the task failed", async () => {
    anthropic.enqueue({ text: Array.from({ length: 400 }, (_, i) => `w${i} `), delayMs: 50 });
    const task = await h.run("empty", "Talk a lot");
    await h.waitFor(task.id, (t) => t.output_bytes > 0, 60_000);
    process.kill(pids.get(task.id)!, "SIGKILL");
    const done = await h.waitFor(task.id, undefined, 30_000);
    expect(done.status).toBe("failed");
    expect(done.error).toContain("killed by SIGKILL");
  }, 90_000);

  it("a task that outlives its harness timeout ends failed saying so", async () => {
    anthropic.enqueue({ toolCalls: [bash("echo x > slow.txt && sleep 30")] });
    const task = await h.run("quick", "Sleep");
    const done = await h.waitFor(task.id, undefined, 30_000);
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/^timeout: the claude-code CLI ran longer than 8 s/);
    const changes = await h.request("GET", `/v1/tasks/${task.id}/changes`);
    expect(changes.status).toBe(200);
    expect((changes.json as unknown as { files: { path: string }[] }).files.map((f) => f.path)).toEqual([
      "slow.txt",
    ]);
  }, 90_000);

  it("a harness task's end is pushed to the tenant's webhook, signed, with its Changes line", async () => {
    const receiver = await new WebhookReceiver().start();
    try {
      const put = await h.request(
        "PUT",
        "/v1/admin/tenants/default/webhook",
        { url: receiver.url },
        { authorization: `Bearer ${ADMIN_TOKEN}` },
      );
      expect(put.status, put.text).toBe(200);
      receiver.useSecret(String(put.json.secret));
      anthropic.enqueue({ toolCalls: [bash("echo pushed > pushed.txt")] }, { text: "Pushed." });
      const task = await h.run("coder", "Write pushed.txt");
      expect((await h.waitFor(task.id, undefined, 60_000)).status).toBe("completed");
      await expect.poll(() => receiver.received.length, { timeout: 10_000 }).toBe(1);
      const [delivery] = receiver.received;
      // Verified with the standardwebhooks package against the secret the PUT returned.
      expect(delivery?.payload?.type).toBe("task.completed");
      expect(delivery?.payload?.data).toMatchObject({ id: task.id, agent: "coder", status: "completed" });
      expect(String(delivery?.payload?.data.result)).toMatch(
        /\n\nChanges: 1 file changed \(\+1 -0\): pushed\.txt$/,
      );
    } finally {
      await h.request("DELETE", "/v1/admin/tenants/default/webhook", undefined, {
        authorization: `Bearer ${ADMIN_TOKEN}`,
      });
      await receiver.close();
    }
  }, 90_000);

  it("three harness tasks at once, each in its own workspace", async () => {
    anthropic.setFallback({ text: "done" });
    // Each CLI's first request gets a Bash call that writes ws.txt and prints the workspace's path.
    anthropic.setResponder((r) =>
      JSON.stringify(r.body.messages).includes("tool_result")
        ? undefined
        : { toolCalls: [bash("echo $PWD > ws.txt && pwd")] },
    );
    const tasks = await Promise.all(["alpha", "beta", "gamma"].map((name) => h.run("coder", `make ${name}`)));
    const done = await Promise.all(tasks.map((t) => h.waitFor(t.id, undefined, 90_000)));
    const dirs = new Set<string>();
    for (const d of done) {
      expect(d.status, d.error ?? "").toBe("completed");
      const result = (await h.allChunks(d.id)).find((c) => c.kind === "tool_result")?.text.trim() ?? "";
      dirs.add(result);
      const changes = (await h.request("GET", `/v1/tasks/${d.id}/changes`)).json as unknown as {
        files: { path: string }[];
      };
      expect(changes.files.map((f) => f.path)).toEqual(["ws.txt"]);
    }
    expect(dirs.size).toBe(3);
  }, 120_000);
});

function alive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("claude-code harness limits", () => {
  it("max_output_bytes ends the task failed and ends the CLI", async () => {
    await h.runtime.tenantAdmin.patchLimits("default", { max_output_bytes: 200 });
    try {
      anthropic.enqueue({ text: Array.from({ length: 300 }, (_, i) => `word${i} `), delayMs: 20 });
      const task = await h.run("empty", "Talk too much");
      const done = await h.waitFor(task.id, undefined, 60_000);
      expect(done.status).toBe("failed");
      expect(done.error).toContain("output limit reached");
      expect(done.output_bytes).toBeLessThanOrEqual(200);
      const pid = pids.get(task.id)!;
      const deadline = Date.now() + 6000;
      while (Date.now() < deadline && alive(pid)) await new Promise((r) => setTimeout(r, 50));
      expect(alive(pid)).toBe(false);
    } finally {
      await h.runtime.tenantAdmin.patchLimits("default", { max_output_bytes: 10 * 1024 * 1024 });
    }
  }, 90_000);
});
