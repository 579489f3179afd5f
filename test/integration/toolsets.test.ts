import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { createLocalRuntime } from "../../local/runtime.js";
import { PermanentError } from "../../shared/domain/errors.js";
import { isFinished, type Task } from "../../shared/domain/task.js";
import { createLogger } from "../../shared/logger.js";
import { callTool } from "../../shared/tools/call-tool.js";
import { openMcpToolset } from "../../shared/toolsets/mcp.js";
import { FakeOpenAI, type RecordedRequest } from "../support/fake-openai.js";
import { ADMIN_TOKEN, type Harness, startHarness } from "../support/harness.js";
import { startMcpServer } from "../support/mcp-server.js";

let fake: FakeOpenAI;
let h: Harness;
let mcp: Awaited<ReturnType<typeof startMcpServer>>;
let key = "";

const config = (fakeUrl: string, mcpUrl: string) => `
models:
  boss: { provider: openai, model: m-boss, base_url: "${fakeUrl}" }
  mgr: { provider: openai, model: m-manager, base_url: "${fakeUrl}" }
  wrk: { provider: openai, model: m-worker, base_url: "${fakeUrl}" }
agents:
  root: { model: boss, sub_agents: [tooler, manager] }
  tooler:
    model: boss
    toolsets:
      - type: mcp
        remote:
          url: "${mcpUrl}"
          transport_type: streamable
          headers:
            Authorization: "Bearer \${env.MCP_TOKEN}"
  manager:
    model: mgr
    sub_agents: [worker]
    toolsets:
      - type: background_agents
  worker: { model: wrk }
`;

const as = { authorization: "" };

async function run(agent: string, task: string): Promise<Task> {
  const res = await h.request("POST", "/v1/tasks", { agent, task }, as);
  if (res.status !== 201) throw new Error(res.text);
  return res.json as unknown as Task;
}

/** The tenant's task once `done` holds (the harness's poll, with this tenant's key). */
const until = (id: string, done: (t: Task) => boolean = (t) => isFinished(t.status)) =>
  h.waitFor(id, done, 10_000, as);

function lastToolText(req: RecordedRequest): string {
  const messages = req.body.messages as { role: string; content: string }[];
  return [...messages].reverse().find((m) => m.role === "tool")?.content ?? "";
}

beforeAll(async () => {
  fake = await new FakeOpenAI().start();
  mcp = await startMcpServer({ token: "mcp-secret-token" });
  h = await startHarness({ fake });
  const created = await h.request(
    "POST",
    "/v1/admin/tenants",
    { id: "toolsets", config: config(fake.url, mcp.url) },
    { authorization: `Bearer ${ADMIN_TOKEN}` },
  );
  expect(created.status, created.text).toBe(201);
  key = String(created.json.api_key);
  as.authorization = `Bearer ${key}`;
  await h.request(
    "PUT",
    "/v1/admin/tenants/toolsets/secrets",
    { MCP_TOKEN: "mcp-secret-token" },
    {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    },
  );
});
afterAll(async () => {
  await h.close();
  await mcp.close();
  await fake.close();
});
beforeEach(() => fake.reset());

describe("mcp toolset (a real MCP server on loopback)", () => {
  it("lists and calls the remote tools, with headers from the tenant's secrets", async () => {
    fake.enqueueFor(
      "m-boss",
      { toolCalls: [{ name: "add", arguments: '{"a":2,"b":3}' }] },
      {
        toolCalls: [
          { name: "fail", arguments: "{}" },
          { name: "boom", arguments: "{}" },
        ],
      },
      { text: "2 + 3 = 5" },
    );
    const task = await run("tooler", "add two numbers");
    const done = await until(task.id);
    expect(done.status).toBe("completed");
    expect(done.result).toBe("2 + 3 = 5");
    expect(done.usage.tool_calls).toBe(3);

    const tools = ((fake.requests[0]?.body.tools ?? []) as { function: { name: string } }[]).map(
      (t) => t.function.name,
    );
    expect(tools.sort()).toEqual(["add", "boom", "fail"]);
    expect(lastToolText(fake.requests[1] as RecordedRequest)).toBe("5");
    // A failing remote tool goes back to the model as a tool error; the task goes on.
    const third = fake.requests[2]?.body.messages as { role: string; content: string }[];
    const toolMessages = third.filter((m) => m.role === "tool").map((m) => m.content);
    expect(toolMessages).toContain("error: the database is down");
    expect(toolMessages.some((m) => m.startsWith("error:") && m.includes("kaboom"))).toBe(true);

    const out = await h.request("GET", `/v1/tasks/${task.id}/output?limit=100`, undefined, as);
    const chunks = out.json.chunks as { kind: string; text: string }[];
    expect(chunks.filter((c) => c.kind === "tool_call").map((c) => c.text)).toEqual([
      'add({"a":2,"b":3})',
      "fail({})",
      "boom({})",
    ]);
    expect(chunks.find((c) => c.kind === "tool_result")?.text).toBe("5");
    expect(mcp.seen.every((s) => s.authorization === "Bearer mcp-secret-token")).toBe(true);
  });

  it("refuses an MCP server on a private address unless private networks are allowed", async () => {
    const secrets = { get: (n: string) => (n === "MCP_TOKEN" ? "mcp-secret-token" : undefined) };
    const remote = { url: mcp.url, headers: { Authorization: "Bearer ${env.MCP_TOKEN}" } };
    const opts = { remote, secrets, timeoutMs: 5000 };
    await expect(openMcpToolset({ ...opts, allowPrivateNetwork: false })).rejects.toThrow(
      /^refused to connect to http:\/\/127\.0\.0\.1:\d+\/mcp: it resolves to 127\.0\.0\.1/,
    );
    const allowed = await openMcpToolset({ ...opts, allowPrivateNetwork: true });
    expect(allowed.definitions.map((d) => d.name).sort()).toEqual(["add", "boom", "fail"]);
    await allowed.close();
  });

  it("a refused MCP credential fails at once (not retried), and a secret in the URL never shows in the error", async () => {
    const secrets = { get: (n: string) => (n === "S1" ? "sup3r-secret-in-url" : undefined) };
    const remote = { url: `${mcp.url}?token=\${env.S1}`, headers: { Authorization: "Bearer wrong" } };
    const err = await openMcpToolset({ remote, secrets, timeoutMs: 5000, allowPrivateNetwork: true }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(String(err)).toMatch(
      /^PermanentError: MCP server http:\/\/127\.0\.0\.1:\d+\/mcp refused the connection/,
    );
    expect(String(err)).not.toContain("sup3r-secret-in-url");
    expect(String(err)).not.toContain("token=");
  });

  it("in the cloud (private networks refused) a model or MCP URL on a private address fails the task", async () => {
    const runtime = await createLocalRuntime({
      dynamodbEndpoint: inject("dynamodbEndpoint"),
      tableName: `bga-guard-${randomUUID()}`,
      defaultTenant: {
        config: config(fake.url, mcp.url),
        apiKey: "guard-key-0123456789",
        env: { MCP_TOKEN: "x" },
      },
      allowPrivateNetwork: false,
      log: createLogger("silent"),
    });
    try {
      const res = await runtime.app.request("/v1/tasks", {
        method: "POST",
        headers: { authorization: "Bearer guard-key-0123456789", "content-type": "application/json" },
        body: JSON.stringify({ agent: "tooler", task: "x" }),
      });
      const id = ((await res.json()) as { id: string }).id;
      let task = await runtime.repo.get("default", id);
      for (let i = 0; i < 200 && task && !isFinished(task.status); i++) {
        await new Promise((r) => setTimeout(r, 20));
        task = await runtime.repo.get("default", id);
      }
      expect(task?.status).toBe("failed");
      expect(task?.error).toMatch(
        /^refused to connect to http:\/\/127\.0\.0\.1:\d+\/v1: it resolves to 127\.0\.0\.1/,
      );
      expect(fake.requests).toHaveLength(0);
    } finally {
      await runtime.close();
    }
  });
});

describe("background_agents toolset (nested dispatch)", () => {
  it("a sub-agent starts its own sub-agent, waits for it and uses its result", async () => {
    fake.enqueueFor("m-worker", { text: "child result: 42", delayMs: 20 });
    fake.enqueueFor(
      "m-manager",
      {
        toolCalls: [
          { name: "run_background_agent", arguments: '{"agent":"worker","task":"find the answer"}' },
        ],
      },
      (req) => {
        const id = /started with ID: (\S+)/.exec(lastToolText(req))?.[1] ?? "";
        return {
          toolCalls: [
            { name: "wait_background_agents", arguments: JSON.stringify({ task_ids: [id], timeout: 30 }) },
          ],
        };
      },
      (req) => ({ text: `manager saw: ${JSON.parse(lastToolText(req)).tasks[0].output}` }),
    );
    const parent = await run("manager", "delegate");
    const done = await until(parent.id);
    expect(done.status).toBe("completed");
    expect(done.result).toBe("manager saw: child result: 42");

    const view = await h.request("POST", "/v1/tools/view_background_agent", { task_id: parent.id }, as);
    const text = (view.json.content as { text: string }[])[0]?.text ?? "";
    const childId = /Children: (agent_task_\S+) \(worker, completed\)/.exec(text)?.[1];
    expect(childId).toBeDefined();
    const child = (await h.request("GET", `/v1/tasks/${childId}`, undefined, as)).json;
    expect(child).toMatchObject({
      agent: "worker",
      caller: "manager",
      status: "completed",
      result: "child result: 42",
    });
  });

  it("stopping a parent stops its children", async () => {
    fake.enqueueFor("m-worker", { text: Array.from({ length: 500 }, () => "w "), delayMs: 20 });
    fake.enqueueFor(
      "m-manager",
      { toolCalls: [{ name: "run_background_agent", arguments: '{"agent":"worker","task":"long"}' }] },
      { text: Array.from({ length: 500 }, () => "m "), delayMs: 20 },
    );
    const parent = await run("manager", "delegate and talk");
    const withChild = await until(parent.id, (t) => t.usage.tool_calls >= 1);
    expect(withChild.status).toBe("running");
    const view = await h.request("POST", "/v1/tools/view_background_agent", { task_id: parent.id }, as);
    const childId =
      /Children: (agent_task_\S+)/.exec((view.json.content as { text: string }[])[0]?.text ?? "")?.[1] ?? "";
    await until(childId, (t) => t.status === "running");

    const stopped = await h.request("POST", `/v1/tasks/${parent.id}/stop`, undefined, as);
    expect(stopped.json.status).toBe("stopped");
    const child = await until(childId);
    expect(child.status).toBe("stopped");
    expect(child.error).toBe("stopped with its parent task");
  });

  it("a sub-agent sees only its own children, and nesting stops at depth 3", async () => {
    const tenant = await h.runtime.tenants.get("toolsets");
    if (!tenant) throw new Error("no tenant");
    const other = await run("tooler", "someone else's task");
    const asChild = {
      tenant,
      caller: "manager",
      service: h.runtime.service,
      parent: { id: "agent_task_parentAAAAAAAAAAAAAAAA", depth: 1 },
    };
    const view = await callTool("view_background_agent", { task_id: other.id }, asChild);
    expect(view).toMatchObject({ isError: true, content: [{ text: `task not found: ${other.id}` }] });
    const list = await callTool("list_background_agents", {}, asChild);
    expect(list.content[0]?.text).toBe("No background agent tasks found.");
    const deep = await callTool(
      "run_background_agent",
      { agent: "worker", task: "too deep" },
      { ...asChild, parent: { id: other.id, depth: 3 } },
    );
    expect(deep).toMatchObject({
      isError: true,
      content: [
        { text: "maximum nesting depth (3) reached: a background agent at this depth cannot start another" },
      ],
    });
    await until(other.id);
  });
});
