import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { type Listener, listenOnLoopback } from "../../local/listen.js";
import { LocalExecutions } from "../../local/local-executions.js";
import { createLocalRuntime, type LocalRuntime } from "../../local/runtime.js";
import { isFinished, newTaskRecord, type TaskRecord } from "../../shared/domain/task.js";
import { HttpHarnessChannel, harnessPath } from "../../shared/harness/http-channel.js";
import { createLogger } from "../../shared/logger.js";
import type { Executions } from "../../shared/ports.js";
import { ServiceKeys } from "../../shared/security/service-secret.js";
import { TaskCapabilities } from "../../shared/security/task-capability.js";
import { HARNESS_ENV } from "../../shared/state-machine/definition.js";
import { ContainerProcesses } from "../support/container-process.js";
import { FakeAnthropic } from "../support/fake-anthropic.js";
import { bareRepo, gitApply } from "../support/git-fixture.js";

/**
 * A harness task as the cloud runs it (SPEC §9), with only ECS replaced by a process: the real
 * state machine definition (PrepareHarness mints the capability with the runner's step handler,
 * RunHarness's RunTask request is what a Fargate task would get), the container's entrypoint
 * (functions/harness/main.ts, exactly as the image runs it) as a child process whose environment
 * is the RunTask overrides and nothing of this process, reporting through the internal routes
 * of the API served over HTTP, the real Claude Code CLI against a scripted Anthropic API.
 */

const KEY = "container-key-0123456789abcdef";
const MODEL_KEY = "sk-ant-container-secret-77";
const GIT_TOKEN = "ghp_container-git-token-55";
const secret = ServiceKeys.generateSecret();
const capabilities = new TaskCapabilities(secret);

let runtime: LocalRuntime;
let listener: Listener;
let apiUrl: string;
let anthropic: FakeAnthropic;
let repo: ReturnType<typeof bareRepo>;
let containerHome: string;
let containers: ContainerProcesses;
beforeAll(async () => {
  anthropic = await new FakeAnthropic().start();
  repo = bareRepo();
  containerHome = mkdtempSync(join(tmpdir(), "bga-container-home-"));
  containers = new ContainerProcesses({
    apiUrl: () => apiUrl,
    home: containerHome,
    env: { BGA_HARNESS_FLUSH_MS: "100" },
  });
  let local: LocalExecutions | undefined;
  // The real local state machine, created once the runtime's step handler exists.
  const executions: Executions = {
    start: (input) => (local as LocalExecutions).start(input),
    stop: (input) => (local as LocalExecutions).stop(input),
    describe: (input) => (local as LocalExecutions).describe(input),
  };
  runtime = await createLocalRuntime({
    dynamodbEndpoint: inject("dynamodbEndpoint"),
    tableName: `bga-container-${randomUUID()}`,
    serviceSecret: secret,
    executions,
    defaultTenant: {
      apiKey: KEY,
      env: { ANTHROPIC_API_KEY: MODEL_KEY, GIT_TOKEN },
      limits: { max_running_tasks: 10, max_output_bytes: 100_000 },
      config: `
agents:
  root:
    model: openai/gpt-4o-mini
    sub_agents: [coder]
  coder:
    description: Claude Code in a container
    harness:
      type: claude-code
      env:
        ANTHROPIC_API_KEY: \${env.ANTHROPIC_API_KEY}
        ANTHROPIC_BASE_URL: ${anthropic.url}
      workspace:
        git: ${repo.path}
`,
    },
    retryIntervalMs: 20,
    log: createLogger("silent"),
  });
  local = new LocalExecutions({
    handler: runtime.stepHandler,
    harness: { handler: containers.handler, stop: (taskId) => containers.stop(taskId) },
    retryIntervalMs: 20,
  });
  listener = await listenOnLoopback(0, runtime.app.fetch);
  apiUrl = `http://127.0.0.1:${listener.port}/`;
}, 60_000);

afterAll(async () => {
  containers?.killAll();
  listener?.close();
  await runtime?.close();
  await anthropic?.close();
  repo?.cleanup();
  if (containerHome) rmSync(containerHome, { recursive: true, force: true });
});

beforeEach(() => anthropic.reset());

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(new URL(path.slice(1), apiUrl), {
    method,
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json", ...headers },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    json: (text ? JSON.parse(text) : null) as Record<string, unknown> & {
      error?: { code: string; message: string };
    },
  };
}

async function waitForTask(
  id: string,
  until: (t: TaskRecord) => boolean = (t) => isFinished(t.status),
  ms = 60_000,
) {
  const deadline = Date.now() + ms;
  for (;;) {
    const task = await runtime.repo.get("default", id, true);
    if (task && until(task)) return task;
    if (Date.now() > deadline) throw new Error(`task ${id} is ${task?.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const bash = (command: string) => ({ name: "Bash", input: JSON.stringify({ command, description: "run" }) });

describe("the harness container (functions/harness/main.ts) against the internal routes", () => {
  it("runs a Claude Code task to completion: output, usage and changes reported through the capability", async () => {
    anthropic.enqueue(
      { text: "Writing it.", toolCalls: [bash("printf 'from the container\\n' > out.txt && env")] },
      { text: "Done in the container." },
    );
    const created = await call("POST", "/v1/tasks", { agent: "coder", task: "Write out.txt" });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    const done = await waitForTask(id);
    const container = containers.runs.get(id);
    expect(done.status, `${done.error}\n${container?.output()}`).toBe("completed");
    expect(done.result).toMatch(/^Done in the container\.\n\nChanges: 1 file changed \(\+1 -0\): out\.txt$/);
    expect(done.usage.model_calls).toBe(2);
    expect(await container?.exit).toBe(0);

    const output = await call("GET", `/v1/tasks/${id}/output?after=0&limit=100`);
    const chunks = output.json.chunks as { kind: string; text: string }[];
    expect(chunks.find((c) => c.kind === "tool_call")?.text).toContain("printf 'from the container");
    // The CLI's environment: the agent's env, not the container's (no capability, no API URL).
    const env = chunks.find((c) => c.kind === "tool_result")?.text ?? "";
    expect(env).toContain(`ANTHROPIC_API_KEY=${MODEL_KEY}`);
    expect(env).not.toContain(HARNESS_ENV.capability);
    expect(env).not.toContain(HARNESS_ENV.apiUrl);

    const changes = await call("GET", `/v1/tasks/${id}/changes`);
    expect(changes.status).toBe(200);
    expect(changes.json.files).toEqual([{ path: "out.txt", status: "added", additions: 1, deletions: 0 }]);
    const fresh = repo.clone();
    gitApply(fresh, changes.json.patch as string);
  }, 120_000);

  it("gets no secret through the state machine: the RunTask request holds the task, the API URL and a capability only", async () => {
    expect(containers.requests.length).toBeGreaterThan(0);
    for (const request of containers.requests) {
      const text = JSON.stringify(request);
      expect(text).not.toContain(MODEL_KEY);
      expect(text).not.toContain(GIT_TOKEN);
      const env =
        (
          request as {
            Overrides: { ContainerOverrides: { Environment: { Name: string; Value: string }[] }[] };
          }
        ).Overrides.ContainerOverrides[0]?.Environment ?? [];
      expect(env.map((e) => e.Name).sort()).toEqual(Object.values(HARNESS_ENV).sort());
      const capability = env.find((e) => e.Name === HARNESS_ENV.capability)?.Value ?? "";
      const check = capabilities.verify(capability);
      const taskId = env.find((e) => e.Name === HARNESS_ENV.taskId)?.Value;
      expect(check).toMatchObject({ ok: true, grant: { tenantId: "default", taskId } });
      // Good for the task's max_task_seconds (the default 3600) + 600 s from PrepareHarness, no longer.
      const expiresAt = check.ok ? check.grant.expiresAt : 0;
      expect(expiresAt - Date.now() / 1000).toBeLessThanOrEqual(3600 + 600);
      expect(expiresAt - Date.now() / 1000).toBeGreaterThan(3600);
    }
    // Nor does the container write one to its log.
    for (const c of containers.runs.values()) {
      expect(c.output()).not.toContain(MODEL_KEY);
      const capability = (
        containers.requests[0] as {
          Overrides: { ContainerOverrides: { Environment: { Name: string; Value: string }[] }[] };
        }
      ).Overrides.ContainerOverrides[0]?.Environment.find((e) => e.Name === HARNESS_ENV.capability)?.Value;
      expect(c.output()).not.toContain(capability);
    }
  });

  it("is stopped by the stop (StopExecution stops the container): stopped, no model request after it", async () => {
    anthropic.enqueue({ text: Array.from({ length: 300 }, (_, i) => `w${i} `), delayMs: 50 });
    anthropic.setFallback({ text: "should never be asked" });
    const created = await call("POST", "/v1/tasks", { agent: "coder", task: "Talk slowly" });
    const id = created.json.id as string;
    await waitForTask(id, (t) => t.output_bytes > 0);
    expect((await call("POST", `/v1/tasks/${id}/stop`)).status).toBe(200);
    const stoppedAt = Date.now();
    const container = containers.runs.get(id);
    // The container ends within the 5 s of SPEC §9 (its CLI's process group with it).
    const code = await Promise.race([
      container?.exit,
      new Promise((r) => setTimeout(() => r("still running"), 5000)),
    ]);
    const exitedAt = Date.now();
    expect(code, container?.output()).toBe(0);
    const task = await waitForTask(id);
    expect(task.status).toBe("stopped");
    expect(exitedAt - stoppedAt).toBeLessThan(5000);
    // No model call once the container (and the CLI) is gone. A request may start in the moment
    // between the stop's answer and the SIGTERM reaching the CLI (as with ECS StopTask, longer).
    const requestsAtExit = anthropic.requests.length;
    expect(anthropic.requests.filter((r) => r.startedAt > exitedAt)).toEqual([]);
    const bytes = task.output_bytes;
    await new Promise((r) => setTimeout(r, 1000));
    expect(anthropic.requests.length).toBe(requestsAtExit);
    expect((await runtime.repo.get("default", id, true))?.output_bytes).toBe(bytes);
  }, 120_000);

  it("a container killed with SIGKILL ends its task failed (the state machine records it)", async () => {
    anthropic.enqueue({ text: Array.from({ length: 300 }, (_, i) => `k${i} `), delayMs: 50 });
    const created = await call("POST", "/v1/tasks", { agent: "coder", task: "Talk until killed" });
    const id = created.json.id as string;
    await waitForTask(id, (t) => t.output_bytes > 0);
    containers.runs.get(id)?.child.kill("SIGKILL");
    const task = await waitForTask(id);
    expect(task.status).toBe("failed");
    expect(task.error).toBe(
      "the harness container stopped before the task ended: Essential container in task exited (exit code 137)",
    );
  }, 120_000);
});

describe("the internal routes' capability", () => {
  let taskA: string;
  let taskB: string;

  beforeAll(async () => {
    // Two finished tasks of the default tenant: a capability for one is not good for the other.
    anthropic.setFallback({ text: "short" });
    taskA = (await call("POST", "/v1/tasks", { agent: "coder", task: "a" })).json.id as string;
    taskB = (await call("POST", "/v1/tasks", { agent: "coder", task: "b" })).json.id as string;
    await waitForTask(taskA);
    await waitForTask(taskB);
  }, 120_000);

  const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it("answers its own task", async () => {
    const capability = capabilities.mint({ tenantId: "default", taskId: taskA, expiresAt: inAnHour() });
    const res = await call("GET", harnessPath(taskA, "status"), undefined, bearer(capability));
    expect(res).toEqual({ status: 200, json: { status: "completed" } });
  });

  it("is refused (403) for another task, and for the same task ID under another tenant", async () => {
    const forA = capabilities.mint({ tenantId: "default", taskId: taskA, expiresAt: inAnHour() });
    for (const [method, action] of [
      ["POST", "claim"],
      ["POST", "flush"],
      ["GET", "status"],
      ["PUT", "changes"],
    ] as const) {
      const res = await call(
        method,
        harnessPath(taskB, action),
        method === "GET" ? undefined : {},
        bearer(forA),
      );
      expect(res.status, action).toBe(403);
      expect(res.json.error?.code).toBe("forbidden");
    }
    // Another tenant's capability for this task ID reads that tenant's task (none): never this one.
    const otherTenant = capabilities.mint({ tenantId: "acme", taskId: taskA, expiresAt: inAnHour() });
    const res = await call("GET", harnessPath(taskA, "status"), undefined, bearer(otherTenant));
    expect(res).toEqual({ status: 200, json: { status: null } });
  });

  it("is refused (401) when missing, garbled, forged, expired, or a tenant API key", async () => {
    const good = capabilities.mint({ tenantId: "default", taskId: taskA, expiresAt: inAnHour() });
    const forged = new TaskCapabilities(ServiceKeys.generateSecret()).mint({
      tenantId: "default",
      taskId: taskA,
      expiresAt: inAnHour(),
    });
    const expired = capabilities.mint({
      tenantId: "default",
      taskId: taskA,
      expiresAt: Math.floor(Date.now() / 1000) - 1,
    });
    for (const [name, headers] of [
      ["none", { authorization: "" }],
      ["garbled", bearer(`${good.slice(0, -4)}AAAA`)],
      ["truncated", bearer(good.slice(0, 20))],
      ["forged", bearer(forged)],
      ["expired", bearer(expired)],
      ["api key", bearer(KEY)],
    ] as const) {
      const res = await call("GET", harnessPath(taskA, "status"), undefined, headers);
      expect(res.status, name).toBe(401);
      expect(res.json.error?.code, name).toBe("unauthorized");
    }
    const res = await call("GET", harnessPath(taskA, "status"), undefined, bearer(expired));
    expect(res.json.error?.message).toContain("expired");
  });

  it("refuses bad bodies with 400 and writes nothing", async () => {
    const capability = capabilities.mint({ tenantId: "default", taskId: taskA, expiresAt: inAnHour() });
    const before = await runtime.repo.get("default", taskA, true);
    const usage = { input_tokens: 0, output_tokens: 0, model_calls: 0, tool_calls: 0 };
    for (const [action, method, body] of [
      ["flush", "POST", "{not json"],
      ["flush", "POST", { expectedLastSeq: -1, chunks: [], addOutputBytes: 0, usage }],
      [
        "flush",
        "POST",
        { expectedLastSeq: 0, chunks: [{ kind: "shout", text: "x" }], addOutputBytes: 1, usage },
      ],
      [
        "flush",
        "POST",
        { expectedLastSeq: 0, chunks: [{ kind: "text", text: "abc" }], addOutputBytes: 1, usage },
      ],
      ["flush", "POST", { expectedLastSeq: 0, chunks: [], addOutputBytes: 0, usage, tenantId: "acme" }],
      ["claim", "POST", { anything: true }],
      ["changes", "PUT", { base: "main", files: [], patch: "" }],
      [
        "changes",
        "PUT",
        { base: "4b825dc642cb6eb9a060e54bf8d69288fbee4904", files: [{ path: "" }], patch: "" },
      ],
    ] as const) {
      const res = await call(method, harnessPath(taskA, action), body, bearer(capability));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error?.code).toBe("invalid_request");
    }
    expect(await runtime.repo.get("default", taskA, true)).toEqual(before);
  });

  it("writes nothing to a task that has ended: a flush is answered not_running", async () => {
    const capability = capabilities.mint({ tenantId: "default", taskId: taskA, expiresAt: inAnHour() });
    const task = await runtime.repo.get("default", taskA, true);
    const res = await call(
      "POST",
      harnessPath(taskA, "flush"),
      {
        expectedLastSeq: task?.last_seq ?? 0,
        chunks: [{ kind: "text", text: "late" }],
        addOutputBytes: 4,
        usage: task?.usage,
      },
      bearer(capability),
    );
    expect(res).toEqual({ status: 200, json: { ok: false, reason: "not_running", status: "completed" } });
    // And a claim of a finished task gives no job (no secrets).
    const claim = await call("POST", harnessPath(taskA, "claim"), undefined, bearer(capability));
    expect(claim).toEqual({ status: 200, json: { job: null } });
  });
});

describe("the container's HTTP channel (shared/harness/http-channel.ts)", () => {
  const usage = { input_tokens: 1, output_tokens: 2, model_calls: 1, tool_calls: 0 };

  /** A task of the default tenant moved to running by the repository, with no execution. */
  async function runningTask(): Promise<string> {
    const record = newTaskRecord({ tenant_id: "default", agent: "coder", caller: "root", task: "by hand" });
    await runtime.repo.create({ record, maxRunningTasks: 10 });
    const moved = await runtime.repo.transition("default", record.id, "running");
    expect(moved.moved).toBe(true);
    return record.id;
  }

  /** A proxy to the API that cuts the connection after the API has answered the first flush. */
  async function lossyProxy(): Promise<{ url: string; flushes: () => number; close: () => void }> {
    let flushes = 0;
    const target = new URL(apiUrl);
    const server = createServer((req, res) => {
      const isFlush = req.url?.endsWith("/flush") ?? false;
      if (isFlush) flushes += 1;
      const drop = isFlush && flushes === 1;
      const up = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (upRes) => {
          if (drop) {
            // The API applied the write; its answer never reaches the container.
            upRes.resume();
            upRes.on("end", () => res.socket?.destroy());
            return;
          }
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      req.pipe(up);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      flushes: () => flushes,
      close: () => server.close(),
    };
  }

  it("sends a flush whose answer was lost again, and the table applies it once", async () => {
    const id = await runningTask();
    const proxy = await lossyProxy();
    try {
      const channel = new HttpHarnessChannel({
        apiUrl: proxy.url,
        taskId: id,
        capability: capabilities.mint({
          tenantId: "default",
          taskId: id,
          expiresAt: Math.floor(Date.now() / 1000) + 600,
        }),
        baseDelayMs: 10,
      });
      const outcome = await channel.flush({
        tenantId: "ignored",
        taskId: "ignored",
        expectedLastSeq: 0,
        chunks: [{ kind: "text", text: "exactly once" }],
        addOutputBytes: 12,
        usage,
        requestToken: randomUUID(),
        at: new Date(),
      });
      expect(proxy.flushes()).toBe(2);
      expect(outcome).toEqual({ ok: true, lastSeq: 1 });
      const chunks = await runtime.repo.chunksAfter("default", id, 0, 10);
      expect(chunks.map((c) => c.text)).toEqual(["exactly once"]);
      expect((await runtime.repo.get("default", id, true))?.output_bytes).toBe(12);
      expect(await channel.status()).toBe("running");
    } finally {
      proxy.close();
      await runtime.repo.transition("default", id, "stopped");
    }
  });

  it("refuses (403) output beyond the tenant's max_output_bytes, whatever the container's own writer does", async () => {
    const id = await runningTask();
    const capability = capabilities.mint({
      tenantId: "default",
      taskId: id,
      expiresAt: Math.floor(Date.now() / 1000) + 600,
    });
    const chunk = { kind: "text", text: "x".repeat(30_000) };
    const flush = (expectedLastSeq: number, chunks: unknown[]) =>
      call(
        "POST",
        harnessPath(id, "flush"),
        { expectedLastSeq, chunks, addOutputBytes: 30_000 * chunks.length, usage },
        { authorization: `Bearer ${capability}` },
      );
    expect((await flush(0, [chunk, chunk, chunk])).json).toEqual({ ok: true, lastSeq: 3 });
    const over = await flush(3, [chunk]);
    expect(over.status).toBe(403);
    expect(over.json.error?.message).toContain("max_output_bytes");
    const task = await runtime.repo.get("default", id, true);
    expect(task).toMatchObject({ output_bytes: 90_000, last_seq: 3 });
    await runtime.repo.transition("default", id, "stopped");
  });

  it("saves a patch larger than a request body may be (gzipped), as GET /changes then serves it", async () => {
    const id = await runningTask();
    const channel = new HttpHarnessChannel({
      apiUrl,
      taskId: id,
      capability: capabilities.mint({
        tenantId: "default",
        taskId: id,
        expiresAt: Math.floor(Date.now() / 1000) + 600,
      }),
    });
    const lines = Array.from({ length: 60_000 }, (_, i) => `+line ${i} of a generated file\n`).join("");
    const patch = `diff --git a/big.txt b/big.txt\nnew file mode 100644\n--- /dev/null\n+++ b/big.txt\n@@ -0,0 +1,60000 @@\n${lines}`;
    expect(Buffer.byteLength(patch)).toBeGreaterThan(1024 * 1024);
    const changes = {
      base: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
      files: [{ path: "big.txt", status: "added" as const, additions: 60_000, deletions: 0 }],
      patch,
    };
    await channel.saveChanges(changes);
    await runtime.repo.transition("default", id, "completed", { result: "ok" });
    const res = await call("GET", `/v1/tasks/${id}/changes`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual(changes);
    // Uncompressed, the same body is over the API's 1 MiB limit; broken gzip is a 400.
    const capability = capabilities.mint({
      tenantId: "default",
      taskId: id,
      expiresAt: Math.floor(Date.now() / 1000) + 600,
    });
    const plain = await call("PUT", harnessPath(id, "changes"), changes, {
      authorization: `Bearer ${capability}`,
    });
    expect(plain.status).toBe(413);
    const broken = await call("PUT", harnessPath(id, "changes"), "not gzip", {
      authorization: `Bearer ${capability}`,
      "content-encoding": "gzip",
    });
    expect(broken.status).toBe(400);
  });

  it("refuses to start without its environment, naming what is missing and no value", () => {
    const out = spawnSync(process.execPath, ["--import", "tsx", "functions/harness/main.ts"], {
      env: { PATH: process.env.PATH ?? "", [HARNESS_ENV.capability]: "bgacap1.secret-value.x" },
      encoding: "utf8",
    });
    expect(out.status).toBe(2);
    expect(out.stderr).toContain(HARNESS_ENV.apiUrl);
    expect(out.stderr).toContain(HARNESS_ENV.taskId);
    expect(out.stderr).not.toContain("secret-value");
  });
});
