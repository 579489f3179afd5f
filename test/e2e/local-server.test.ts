import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort } from "../../local/embedded-dynamodb.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import { testConfig } from "../support/harness.js";
import { serverEnv } from "../support/server-process.js";

const KEY = "e2e-key-0123456789abcdef";
let fake: FakeOpenAI;
let server: ChildProcess | undefined;
let base = "";
let env: NodeJS.ProcessEnv;

/** Starts `npm start`'s entry (local/server.ts) as its own process, as a user would. */
async function startServer(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "local/server.ts"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const deadline = Date.now() + 30_000;
  while (!out.includes("listening on")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

async function stopServer(signal: NodeJS.Signals): Promise<void> {
  const child = server;
  if (!child || child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

async function connect(): Promise<Client> {
  const client = new Client({ name: "e2e-orchestrator", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${KEY}` } },
    }),
  );
  return client;
}

function textOf(result: unknown): string {
  const content = (result as { content: { type: string; text: string }[] }).content;
  return content.map((c) => c.text).join("");
}

async function rest(path: string, init: RequestInit = {}) {
  const res = await fetch(`${base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  fake = await new FakeOpenAI().start();
  const dir = mkdtempSync(join(tmpdir(), "bga-e2e-"));
  const configPath = join(dir, "agents.yaml");
  writeFileSync(configPath, testConfig(fake.url));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  env = serverEnv({
    PORT: String(port),
    BGA_CONFIG: configPath,
    BGA_API_KEY: KEY,
    BGA_DATA_DIR: join(dir, "data"),
    BGA_DYNAMODB_ENDPOINT: inject("dynamodbEndpoint"),
    BGA_TABLE_NAME: `bga-e2e-${randomUUID()}`,
  });
  server = await startServer();
});

afterAll(async () => {
  await stopServer("SIGTERM");
  await fake.close();
});

describe("npm start, driven by the official MCP SDK client", () => {
  it("lists the five tools, runs a task, shows live output, waits, views, stops and lists", async () => {
    const client = await connect();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      [
        "list_background_agents",
        "run_background_agent",
        "stop_background_agent",
        "view_background_agent",
        "wait_background_agents",
      ].sort(),
    );

    fake.enqueue({ text: Array.from({ length: 30 }, (_, i) => `word${i} `), delayMs: 40 });
    const started = await client.callTool({
      name: "run_background_agent",
      arguments: { agent: "worker", task: "write" },
    });
    const id = /started with ID: (\S+)/.exec(textOf(started))?.[1] ?? "";
    expect(id).toMatch(/^agent_task_/);

    // Live output while it runs.
    let live = "";
    for (let i = 0; i < 100 && !live.includes("word"); i++) {
      live = textOf(await client.callTool({ name: "view_background_agent", arguments: { task_id: id } }));
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(live).toContain("Status: running");
    expect(live).toContain("word0");
    expect(live.endsWith("[still running...]")).toBe(true);

    const waited = JSON.parse(
      textOf(
        await client.callTool({ name: "wait_background_agents", arguments: { task_ids: [id], timeout: 30 } }),
      ),
    );
    expect(waited).toMatchObject({
      all_done: true,
      timed_out: false,
      tasks: [{ task_id: id, status: "completed" }],
    });
    const final = textOf(
      await client.callTool({ name: "view_background_agent", arguments: { task_id: id } }),
    );
    expect(final).toContain("Status: completed");
    expect(final).toContain("word29");

    fake.enqueue({ text: Array.from({ length: 200 }, (_, i) => `slow${i} `), delayMs: 50 });
    const slow = textOf(
      await client.callTool({ name: "run_background_agent", arguments: { agent: "worker", task: "slow" } }),
    );
    const slowId = /started with ID: (\S+)/.exec(slow)?.[1] ?? "";
    await new Promise((r) => setTimeout(r, 300));
    const stopped = await client.callTool({ name: "stop_background_agent", arguments: { task_id: slowId } });
    expect(textOf(stopped)).toBe(`Background agent task ${slowId} stopped.`);
    expect(
      textOf(await client.callTool({ name: "view_background_agent", arguments: { task_id: slowId } })),
    ).toContain("<task was stopped>");

    const list = textOf(await client.callTool({ name: "list_background_agents", arguments: {} }));
    expect(list).toContain(`ID: ${slowId}\nAgent: worker\nStatus: stopped`);
    expect(list).toContain(`ID: ${id}\nAgent: worker\nStatus: completed`);
    expect(list.indexOf(slowId)).toBeLessThan(list.indexOf(id));

    const bad = await client.callTool({
      name: "run_background_agent",
      arguments: { agent: "ghost", task: "x" },
    });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toBe('agent "ghost" is not in the sub-agents list. Available: worker, thinker');
    await client.close();
  });

  it("a task running when the server is killed resumes at the next start and completes", async () => {
    fake.enqueue(
      { text: Array.from({ length: 100 }, (_, i) => `a${i} `), delayMs: 50 },
      { text: "finished after restart" },
    );
    const created = await rest("/v1/tasks", {
      method: "POST",
      body: JSON.stringify({ agent: "worker", task: "long" }),
    });
    expect(created.status).toBe(201);
    const id = String(created.json.id);
    for (let i = 0; i < 100; i++) {
      const t = await rest(`/v1/tasks/${id}`);
      if (Number(t.json.last_seq) >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await stopServer("SIGKILL"); // a crash: no clean shutdown at all
    server = await startServer();

    let task: Record<string, unknown> = {};
    for (let i = 0; i < 200; i++) {
      task = (await rest(`/v1/tasks/${id}`)).json;
      if (task.status === "completed" || task.status === "failed") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(task.status).toBe("completed");
    expect(task.result).toBe("finished after restart");
    const out = await rest(`/v1/tasks/${id}/output?limit=1000`);
    const chunks = out.json.chunks as { seq: number; text: string }[];
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i + 1));
    expect(chunks.some((c) => c.text.includes("interrupted mid-turn"))).toBe(true);
    expect(chunks[chunks.length - 1]?.text).toBe("finished after restart");
  });
});
