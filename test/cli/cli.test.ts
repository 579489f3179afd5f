import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort } from "../../local/embedded-dynamodb.js";
import type { Task } from "../../shared/domain/task.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import { testConfig } from "../support/harness.js";
import { serverEnv } from "../support/server-process.js";

/**
 * The `bga` CLI as a person runs it: bin/bga.js as its own process against `npm start`'s entry
 * (local/server.ts) as another, on DynamoDB Local; only the model provider is a fake.
 */

const KEY = "cli-key-0123456789abcdef";
const ADMIN_TOKEN = "cli-admin-token-0123456789abcdef";
const BIN = resolve("bin/bga.js");
const MISSING = "agent_task_doesnotexist0000000000";

let fake: FakeOpenAI;
let server: ChildProcess | undefined;
let base = "";
let dir = "";
let configPath = "";

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface BgaOptions {
  env?: Record<string, string | undefined>;
  endpoint?: string;
}

function cliEnv(options: BgaOptions): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    BGA_ENDPOINT: options.endpoint ?? base,
    BGA_API_KEY: KEY,
    ...options.env,
  };
}

/** Starts `bga …`; `output()` is what it has printed so far. */
function startBga(args: string[], options: BgaOptions = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: cliEnv(options),
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
  const done = new Promise<Outcome>((resolveDone) => {
    child.on("close", (code) => resolveDone({ code, stdout, stderr }));
  });
  return { child, done, output: () => stdout };
}

function bga(args: string[], options: BgaOptions = {}): Promise<Outcome> {
  return startBga(args, options).done;
}

async function rest(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json() };
}

async function createTask(task: string): Promise<Task> {
  const res = await rest("POST", "/v1/tasks", { agent: "worker", task });
  expect(res.status).toBe(201);
  return res.json as Task;
}

async function waitForTask(id: string, done: (t: Task) => boolean, timeoutMs = 20_000): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = (await rest("GET", `/v1/tasks/${id}`)).json as Task;
    if (done(t)) return t;
    if (Date.now() > deadline) throw new Error(`timed out waiting on ${id}: ${JSON.stringify(t)}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

const finished = (t: Task) => ["completed", "failed", "stopped"].includes(t.status);

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const words = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i} `);

/** The text between the `--- Output ---` line and the blank line before the closing `--- … ---` line. */
function outputSection(stdout: string): string {
  const start = stdout.indexOf("--- Output ---\n");
  const body = start === -1 ? stdout : stdout.slice(start + "--- Output ---\n".length);
  return body.slice(0, body.search(/\n\n--- (Result|Failed|Stopped)/));
}

async function startServer(): Promise<ChildProcess> {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ["--import", "tsx", "local/server.ts"], {
    env: serverEnv({
      PORT: String(port),
      BGA_CONFIG: configPath,
      BGA_API_KEY: KEY,
      BGA_ADMIN_TOKEN: ADMIN_TOKEN,
      BGA_DATA_DIR: join(dir, "data"),
      BGA_DYNAMODB_ENDPOINT: inject("dynamodbEndpoint"),
      BGA_TABLE_NAME: `bga-cli-${randomUUID()}`,
    }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  await until(() => out.includes("listening on") || child.exitCode !== null, "the server", 30_000);
  if (child.exitCode !== null) throw new Error(`server did not start: ${out}`);
  return child;
}

/**
 * A TCP proxy in front of the server that cuts the first connection carrying SSE chunk events
 * right after it forwarded the first of them, and records every Last-Event-ID sent through it.
 */
async function startDroppingProxy(target: string) {
  const port = Number(new URL(target).port);
  const lastEventIds: number[] = [];
  let cut = false;
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    sockets.add(client).add(upstream);
    client.on("data", (data: Buffer) => {
      const m = /last-event-id: *(\d+)/i.exec(data.toString());
      if (m) lastEventIds.push(Number(m[1]));
      upstream.write(data);
    });
    upstream.on("data", (data: Buffer) => {
      if (!cut && data.toString().includes("event: chunk")) {
        cut = true;
        client.write(data, () => {
          client.destroy();
          upstream.destroy();
        });
        return;
      }
      client.write(data);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
  const address = proxy.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  return {
    url,
    lastEventIds,
    wasCut: () => cut,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        proxy.close(() => r());
      }),
  };
}

beforeAll(async () => {
  fake = await new FakeOpenAI().start();
  dir = mkdtempSync(join(tmpdir(), "bga-cli-"));
  configPath = join(dir, "agents.yaml");
  writeFileSync(configPath, testConfig(fake.url));
  server = await startServer();
});

afterAll(async () => {
  const child = server;
  if (child && child.exitCode === null) {
    await new Promise<void>((r) => {
      child.once("exit", () => r());
      child.kill("SIGTERM");
    });
  }
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("bga, for people and scripts", () => {
  it("run prints the task ID; --json prints the task object", async () => {
    const plain = await bga(["run", "worker", "say", "hello"]);
    expect(plain).toMatchObject({ code: 0, stderr: "" });
    expect(plain.stdout).toMatch(/^agent_task_[A-Za-z0-9_-]{22}\n$/);

    const json = await bga([
      "run",
      "worker",
      "summarise this",
      "--expected-output",
      "one line",
      "--metadata",
      "ticket=42",
      "--metadata",
      "team=core",
      "--json",
    ]);
    expect(json.code).toBe(0);
    const task = JSON.parse(json.stdout) as Task;
    expect(task).toMatchObject({
      agent: "worker",
      caller: "root",
      task: "summarise this",
      expected_output: "one line",
      metadata: { ticket: "42", team: "core" },
    });
    expect(["pending", "running", "completed"]).toContain(task.status);
    await waitForTask(task.id, finished);
    await waitForTask(plain.stdout.trim(), finished);
  });

  it("run answers the server's message for an agent outside sub_agents", async () => {
    const res = await bga(["run", "ghost", "boo"]);
    expect(res).toEqual({
      code: 1,
      stdout: "",
      stderr: 'bga: agent "ghost" is not in the sub-agents list. Available: worker, thinker\n',
    });
  });

  it("list shows a table, pages with --all, and --json parses", async () => {
    const a = await createTask("first");
    const b = await createTask("second");
    await Promise.all([waitForTask(a.id, finished), waitForTask(b.id, finished)]);

    const [table, one, all, byStatus] = await Promise.all([
      bga(["list"]),
      bga(["list", "--limit", "1", "--json"]),
      bga(["list", "--all", "--limit", "1", "--json"]),
      bga(["list", "--status", "completed", "--agent", "worker"]),
    ]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID\s+AGENT\s+STATUS\s+RUNTIME\s+CREATED$/);
    expect(lines[1]).toMatch(
      new RegExp(`^${b.id}\\s+worker\\s+completed\\s+\\S+\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d$`),
    );
    expect(table.stdout.indexOf(b.id)).toBeLessThan(table.stdout.indexOf(a.id));

    const page = JSON.parse(one.stdout) as { tasks: Task[]; next_cursor: string | null };
    expect(page.tasks.map((t) => t.id)).toEqual([b.id]);
    expect(page.next_cursor).toEqual(expect.any(String));

    const every = JSON.parse(all.stdout) as { tasks: Task[]; next_cursor: string | null };
    expect(every.next_cursor).toBeNull();
    expect(every.tasks.length).toBeGreaterThanOrEqual(4);
    expect(new Set(every.tasks.map((t) => t.id)).size).toBe(every.tasks.length);
    expect(every.tasks.map((t) => t.id)).toEqual(expect.arrayContaining([a.id, b.id]));

    expect(byStatus.code).toBe(0);
    expect(byStatus.stdout).toContain(a.id);
    expect(byStatus.stdout).not.toContain("running");
  });

  it("view shows a completed task: details, output and the result; --json is {task, chunks}", async () => {
    fake.enqueue({ text: ["The answer ", "is 42."] });
    const task = await createTask("what is the answer?");
    await waitForTask(task.id, finished);

    const [text, json] = await Promise.all([bga(["view", task.id]), bga(["view", task.id, "--json"])]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      `Task ID:   ${task.id}\nAgent:     worker\nCaller:    root\nStatus:    completed\n`,
    );
    expect(text.stdout).toContain("Task:      what is the answer?\n");
    expect(outputSection(text.stdout)).toBe("The answer is 42.");
    expect(text.stdout).toMatch(/\n\n--- Result \(completed in \S+\) ---\nThe answer is 42\.\n$/);

    const parsed = JSON.parse(json.stdout) as { task: Task; chunks: { seq: number; text: string }[] };
    expect(parsed.task).toMatchObject({ id: task.id, status: "completed", result: "The answer is 42." });
    expect(parsed.chunks.map((c) => c.seq)).toEqual(parsed.chunks.map((_, i) => i + 1));
    expect(parsed.chunks.map((c) => c.text).join("")).toBe("The answer is 42.");
  });

  it("view --follow prints the chunks live, in order, then the result, and exits 0", async () => {
    const deltas = words(50, "w");
    fake.enqueue({ text: deltas, delayMs: 50 });
    const task = await createTask("write slowly");
    const follow = startBga(["view", task.id, "--follow"]);

    await until(() => follow.output().includes("w0 "), "the first chunk on stdout");
    const meanwhile = (await rest("GET", `/v1/tasks/${task.id}`)).json as Task;
    expect(meanwhile.status).toBe("running"); // printed while the task still runs

    const res = await follow.done;
    expect(res.code).toBe(0);
    expect(res.stderr).toBe("");
    expect(res.stdout.startsWith(`Task ID:   ${task.id}\n`)).toBe(true);
    expect(outputSection(res.stdout)).toBe(deltas.join(""));
    expect(res.stdout).toMatch(/\n\n--- Result \(completed in \S+\) ---\nw0 w1 .* w49 \n$/);
  });

  it("run --follow resumes with Last-Event-ID after the connection drops, without gaps or repeats", async () => {
    const proxy = await startDroppingProxy(base);
    try {
      const deltas = words(30, "r");
      fake.enqueue({ text: deltas, delayMs: 50 });
      const res = await bga(["run", "worker", "resume me", "--follow"], { endpoint: proxy.url });
      expect(proxy.wasCut()).toBe(true);
      expect(proxy.lastEventIds.length).toBeGreaterThanOrEqual(1);
      expect(proxy.lastEventIds[0]).toBeGreaterThanOrEqual(1);
      expect(res.code).toBe(0);
      expect(res.stderr).toMatch(/^Started agent_task_\S+ \(worker\)\n$/);
      expect(res.stdout.slice(0, res.stdout.indexOf("\n\n--- Result"))).toBe(deltas.join(""));
    } finally {
      await proxy.close();
    }
  });

  it("view --follow --json prints one JSON event per line", async () => {
    fake.enqueue({ text: ["a", "b", "c"] });
    const task = await createTask("json events");
    const res = await bga(["view", task.id, "--follow", "--json"]);
    expect(res.code).toBe(0);
    const events = res.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { event: string; data: { status?: string; text?: string } });
    // The stream opens with the current status; a task that ended by then has no later status event.
    expect(events[0]?.event).toBe("status");
    expect(events.filter((e) => e.event === "status").at(-1)).toMatchObject({
      data: { status: "completed" },
    });
    expect(
      events
        .filter((e) => e.event === "chunk")
        .map((e) => e.data.text)
        .join(""),
    ).toBe("abc");
  });

  it("stop stops a running task; stopping it again is the server's 409 message; follow exits 3", async () => {
    fake.enqueue({ text: words(200, "s"), delayMs: 50 });
    const task = await createTask("never ends");
    await waitForTask(task.id, (t) => t.status === "running" || finished(t));

    const stopped = await bga(["stop", task.id]);
    expect(stopped).toEqual({ code: 0, stdout: `Stopped ${task.id}.\n`, stderr: "" });

    const [again, followed, json] = await Promise.all([
      bga(["stop", task.id]),
      bga(["view", task.id, "--follow"]),
      bga(["view", task.id, "--json"]),
    ]);
    expect(again).toEqual({
      code: 1,
      stdout: "",
      stderr: `bga: task ${task.id} is not running (status: stopped)\n`,
    });
    expect(followed.code).toBe(3);
    expect(followed.stdout).toMatch(/--- Stopped after \S+ ---\n$/);
    expect((JSON.parse(json.stdout) as { task: Task }).task.status).toBe("stopped");
  });

  it("wait: 0 when all completed, 1 when one failed, 4 when it timed out (tasks keep running)", async () => {
    const ok = await createTask("quick");
    const done = await bga(["wait", ok.id, "--timeout", "30"]);
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(new RegExp(`^ID\\s+STATUS\\s+RESULT\\n${ok.id}\\s+completed\\s+ok\\n$`));

    fake.enqueue({ status: 400 });
    const bad = await createTask("will fail");
    const failed = await bga(["wait", ok.id, bad.id, "--json"]);
    expect(failed.code).toBe(1);
    const result = JSON.parse(failed.stdout) as {
      all_done: boolean;
      tasks: { task_id: string; status: string }[];
    };
    expect(result.all_done).toBe(true);
    expect(result.tasks.map((t) => [t.task_id, t.status])).toEqual([
      [ok.id, "completed"],
      [bad.id, "failed"],
    ]);

    fake.enqueue({ text: words(200, "t"), delayMs: 50 });
    const slow = await createTask("slow");
    const timedOut = await bga(["wait", slow.id, "--timeout", "1"]);
    expect(timedOut.code).toBe(4);
    expect(timedOut.stdout).toMatch(new RegExp(`${slow.id}\\s+(pending|running)`));
    expect(timedOut.stderr).toBe("timed out after 1s: 1 of 1 not done (they keep running)\n");
    expect(["pending", "running"]).toContain(
      ((await rest("GET", `/v1/tasks/${slow.id}`)).json as Task).status,
    );
    await rest("POST", `/v1/tasks/${slow.id}/stop`);
  });

  it("an unknown task ID is `bga: task not found: …`, exit 1", async () => {
    const results = await Promise.all([
      bga(["view", MISSING]),
      bga(["view", MISSING, "--follow"]),
      bga(["stop", MISSING]),
      bga(["wait", MISSING, "--timeout", "0"]),
    ]);
    for (const res of results) {
      expect(res).toEqual({ code: 1, stdout: "", stderr: `bga: task not found: ${MISSING}\n` });
    }
  });

  it("the binary exits 2 on bad usage and 0 on --help (the rest of usage: usage.test.ts, in process)", async () => {
    const [none, noTask, help] = await Promise.all([bga([]), bga(["run", "worker"]), bga(["run", "--help"])]);
    expect(none).toMatchObject({ code: 2, stdout: "" });
    expect(none.stderr).toMatch(/^bga: missing command\nUsage: bga <command> \[options\]\n/);
    expect(noTask).toMatchObject({ code: 2, stdout: "" });
    expect(noTask.stderr).toContain("bga: missing <task>\nUsage: bga run <agent> <task…>");
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toContain("Usage: bga run <agent> <task…>");
  });

  it("a wrong key is the server's 401 message, exit 1", async () => {
    const wrongKey = await bga(["list", "--key", "wrong-key-0123456789abcdef"]);
    expect(wrongKey).toMatchObject({ code: 1, stdout: "" });
    expect(wrongKey.stderr).toMatch(/^bga: a valid API key is required/);
  });

  it("--caller acts as another orchestrating agent", async () => {
    const res = await bga(["run", "worker", "x", "--caller", "worker"]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^bga: agent "worker" is not in the sub-agents list/);
  });
});

describe("bga admin", () => {
  const admin = (args: string[], env: Record<string, string | undefined> = {}) =>
    bga(["admin", ...args], { env: { BGA_API_KEY: undefined, BGA_ADMIN_TOKEN: ADMIN_TOKEN, ...env } });

  it("creates a tenant and keys, lists them, changes limits, config and secrets, revokes a key", async () => {
    const id = `team-${randomUUID().slice(0, 8)}`;
    const created = await admin([
      "tenants",
      "create",
      id,
      "--config",
      configPath,
      "--limits",
      '{"max_running_tasks":3}',
    ]);
    expect(created.code).toBe(0);
    const apiKey = /API key \(shown once\): (\S+)/.exec(created.stdout)?.[1] ?? "";
    expect(created.stdout).toContain(`Created tenant ${id}.`);
    expect(apiKey.length).toBeGreaterThan(16);

    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "agents:\n  root:\n    model: fake\n    sub_agents: [ghost]\n");
    const [tenants, tenantsJson, again, own, key] = await Promise.all([
      admin(["tenants", "list"]),
      admin(["tenants", "list", "--json"]),
      admin(["tenants", "create", id, "--config", configPath]),
      bga(["list"], { env: { BGA_API_KEY: apiKey } }),
      admin(["keys", "create", id, "--callers", "root,worker", "--json"]),
    ]);
    expect(tenants.stdout).toMatch(
      new RegExp(`^ID\\s+AGENTS\\s+MAX RUNNING\\s+CREATED\\n[\\s\\S]*${id}\\s+root,worker,thinker\\s+3\\s`),
    );
    expect(
      (JSON.parse(tenantsJson.stdout) as { tenants: { id: string }[] }).tenants.map((t) => t.id),
    ).toContain(id);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^bga: .*team-/);
    // The new tenant's key works for the tenant commands and sees only its own (no) tasks.
    expect(own).toEqual({ code: 0, stdout: "No tasks.\n", stderr: "" });
    expect(key.code).toBe(0);
    const { key_id, api_key } = JSON.parse(key.stdout) as { key_id: string; api_key: string };

    const [keys, limits, secrets, badConfig, goodConfig] = await Promise.all([
      admin(["keys", "list", id]),
      admin(["tenants", "limits", id, "max_running_tasks=5", "max_task_seconds=600"]),
      admin(["tenants", "secrets", id, "TOKEN=s3cret", "FROM_ENV"], { FROM_ENV: "x" }),
      admin(["tenants", "config", id, "--config", bad]),
      admin(["tenants", "config", id, "--config", configPath]),
    ]);
    expect(keys.stdout).toMatch(new RegExp(`${key_id}\\s+root,worker\\s`));
    expect(keys.stdout).not.toContain(api_key);
    expect(limits.code).toBe(0);
    expect(limits.stdout).toContain("max_running_tasks=5");
    expect(limits.stdout).toContain("max_task_seconds=600");
    expect(secrets).toEqual({ code: 0, stdout: `Stored 2 secrets for ${id}: FROM_ENV, TOKEN\n`, stderr: "" });
    expect(badConfig.code).toBe(1);
    expect(badConfig.stderr).toMatch(/^bga: invalid agent config: .*ghost/);
    expect(goodConfig).toMatchObject({
      code: 0,
      stdout: `Updated the config of ${id} (agents: root, worker, thinker).\n`,
    });

    const revoked = await admin(["keys", "revoke", id, key_id]);
    expect(revoked).toEqual({ code: 0, stdout: `Revoked key ${key_id} of ${id}.\n`, stderr: "" });
    const refused = await bga(["list"], { env: { BGA_API_KEY: api_key } });
    expect(refused.code).toBe(1);
  });

  it("refuses a tenant key as the admin token", async () => {
    const tenantKey = await admin(["tenants", "list", "--admin-token", KEY]);
    expect(tenantKey.code).toBe(1);
    expect(tenantKey.stderr).toMatch(/^bga: .+\n$/);
  });
});
