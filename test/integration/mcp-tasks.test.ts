import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { ResponseMessage } from "@modelcontextprotocol/sdk/shared/responseMessage.js";
import {
  CallToolResultSchema,
  ErrorCode,
  McpError,
  RELATED_TASK_META_KEY,
  type Result,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type McpOptions, serveMcp } from "../../functions/api/mcp-server.js";
import { createLogger } from "../../shared/logger.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import { ADMIN_TOKEN, API_KEY, type Harness, startHarness, testConfig } from "../support/harness.js";
import { mcpClient, textOf } from "../support/mcp-client.js";

// MCP Tasks (SPEC §11) with the official SDK client's `client.experimental.tasks` against the
// real app: the task state is the table's, so each request is its own stateless server.

let fake: FakeOpenAI;
let h: Harness;
let client: Client;
let otherKey = "";

beforeAll(async () => {
  fake = await new FakeOpenAI().start();
  h = await startHarness({ fake, limits: { max_running_tasks: 20 } });
  client = await mcpClient(h, API_KEY);
  const created = await h.request(
    "POST",
    "/v1/admin/tenants",
    { id: "other", config: testConfig(fake.url) },
    { authorization: `Bearer ${ADMIN_TOKEN}` },
  );
  expect(created.status, created.text).toBe(201);
  otherKey = String(created.json.api_key);
}, 60_000);
afterAll(async () => {
  await client.close();
  await h.close();
  await fake.close();
});
beforeEach(() => fake.reset());

/** A model reply that stops after `before` deltas until release() is called. */
function held(text: string[], before: number) {
  let release = () => {};
  const hold = new Promise<void>((r) => {
    release = r;
  });
  fake.enqueue({ text, holdAfter: before, hold });
  return release;
}

async function collect<T extends Result>(
  stream: AsyncGenerator<ResponseMessage<T>>,
): Promise<ResponseMessage<T>[]> {
  const out: ResponseMessage<T>[] = [];
  for await (const m of stream) out.push(m);
  return out;
}

/** The JSON-RPC error a call fails with. */
async function rpcError(call: Promise<unknown>): Promise<McpError> {
  const err = await call.then(
    () => {
      throw new Error("expected an error");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpError);
  return err as McpError;
}

async function view(id: string): Promise<string> {
  return textOf(await client.callTool({ name: "view_background_agent", arguments: { task_id: id } }));
}

describe("MCP Tasks: capabilities and tool metadata", () => {
  it("declares tasks for tools/call (with list and cancel); only run_background_agent takes one, optionally", async () => {
    expect(client.getServerCapabilities()?.tasks).toEqual({
      list: {},
      cancel: {},
      requests: { tools: { call: {} } },
    });
    const { tools } = await client.listTools();
    const execution = Object.fromEntries(tools.map((t) => [t.name, t.execution]));
    expect(execution).toEqual({
      run_background_agent: { taskSupport: "optional" },
      list_background_agents: undefined,
      view_background_agent: undefined,
      stop_background_agent: undefined,
      wait_background_agents: undefined,
    });
  });
});

describe("MCP Tasks: create, poll, result", () => {
  it("callToolStream: the task ID is ours, it works, completes, and the result is view's text", async () => {
    fake.enqueue({ text: ["The answer ", "is 42."] });
    const messages = await collect(
      client.experimental.tasks.callToolStream(
        { name: "run_background_agent", arguments: { agent: "worker", task: "answer" } },
        CallToolResultSchema,
        { task: {} },
      ),
    );
    const created = messages[0];
    if (created?.type !== "taskCreated") throw new Error(`first message: ${JSON.stringify(created)}`);
    const id = created.task.taskId;
    expect(id).toMatch(/^agent_task_/);
    expect(created.task).toMatchObject({ status: "working", ttl: expect.any(Number), pollInterval: 2000 });
    expect(Date.parse(created.task.createdAt)).not.toBeNaN();
    // The same task on REST, as run_background_agent would have started it.
    const task = await h.getTask(id);
    expect(task).toMatchObject({ agent: "worker", task: "answer", caller: "root", status: "completed" });

    const statuses = messages.filter((m) => m.type === "taskStatus").map((m) => m.task.status);
    expect(statuses.at(-1)).toBe("completed");
    const last = messages.at(-1);
    if (last?.type !== "result") throw new Error(`last message: ${JSON.stringify(last)}`);
    expect(last.result.isError).toBe(false);
    expect(textOf(last.result)).toBe(await view(id));
    expect(textOf(last.result)).toContain("The answer is 42.");
    expect(last.result._meta?.[RELATED_TASK_META_KEY]).toEqual({ taskId: id });
    expect(last.result.structuredContent).toMatchObject({
      id,
      status: "completed",
      result: "The answer is 42.",
    });

    const got = await client.experimental.tasks.getTask(id);
    expect(got).toMatchObject({ taskId: id, status: "completed", createdAt: task.created_at });
    expect(got.lastUpdatedAt).toBe(task.ended_at);
    expect(got.pollInterval).toBeUndefined();
  });

  it("the CreateTaskResult carries the plain call's text as model-immediate-response (raw JSON-RPC)", async () => {
    const raw = await h.request(
      "POST",
      "/mcp",
      {
        jsonrpc: "2.0",
        id: 3,
        method: "tools/call",
        params: {
          name: "run_background_agent",
          arguments: { agent: "worker", task: "raw" },
          task: { ttl: 1000 },
        },
      },
      { accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" },
    );
    expect(raw.status).toBe(200);
    expect(raw.headers.get("content-type")).toContain("application/json");
    const result = (
      raw.json as { result: { task: { taskId: string; ttl: number }; _meta: Record<string, unknown> } }
    ).result;
    expect(result.task.taskId).toMatch(/^agent_task_/);
    // The requested ttl is overridden: tasks are kept for the tenant's retention after they end.
    expect(result.task.ttl).toBeGreaterThan(1000);
    expect(result._meta["io.modelcontextprotocol/model-immediate-response"]).toBe(
      `Background agent task started with ID: ${result.task.taskId}\nAgent: worker\nTask: raw`,
    );
    await h.waitFor(result.task.taskId);
  });

  it("while it runs: working, statusMessage the last line of output; tasks/result waits for the end", async () => {
    const release = held(["Reading the files\n", "Now checking line 3", " and the rest."], 2);
    const created = await collectFirst("worker", "inspect");
    const id = created.taskId;
    await h.waitFor(id, (t) => t.output_bytes >= "Reading the files\nNow checking line 3".length);
    const running = await client.experimental.tasks.getTask(id);
    expect(running).toMatchObject({ taskId: id, status: "working", statusMessage: "Now checking line 3" });

    const order: string[] = [];
    const result = client.experimental.tasks
      .getTaskResult(id, CallToolResultSchema)
      .finally(() => order.push("result"));
    await h.waitFor(id, (t) => t.status === "running");
    order.push("release");
    release();
    const final = await result;
    // It waited for the end: it answered after the release, with the words sent after it.
    expect(order).toEqual(["release", "result"]);
    expect(final.isError).toBe(false);
    expect(textOf(final)).toBe(await view(id));
    expect(textOf(final)).toContain("Reading the files\nNow checking line 3 and the rest.");
    expect(final._meta?.[RELATED_TASK_META_KEY]).toEqual({ taskId: id });
  });

  it("a failed task: status failed with its error as statusMessage; the result isError with view's text", async () => {
    fake.enqueue({ status: 400 });
    const created = await collectFirst("worker", "fail");
    await h.waitFor(created.taskId);
    const got = await client.experimental.tasks.getTask(created.taskId);
    expect(got.status).toBe("failed");
    expect(got.statusMessage).toBe((await h.getTask(created.taskId)).error);
    const result = await client.experimental.tasks.getTaskResult(created.taskId, CallToolResultSchema);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(await view(created.taskId));
    expect(textOf(result)).toContain("<task failed>\nError: ");
  });
});

describe("MCP Tasks: cancel", () => {
  it("tasks/cancel stops the task (REST says stopped); a second cancel is -32602; the result says so", async () => {
    const release = held(["partial output\n", "never sent"], 1);
    const created = await collectFirst("worker", "be cancelled");
    const id = created.taskId;
    await h.waitFor(id, (t) => t.output_bytes > 0);
    const cancelled = await client.experimental.tasks.cancelTask(id);
    expect(cancelled).toMatchObject({ taskId: id, status: "cancelled" });
    expect((await h.getTask(id)).status).toBe("stopped");
    release();
    expect((await client.experimental.tasks.getTask(id)).status).toBe("cancelled");

    const again = await rpcError(client.experimental.tasks.cancelTask(id));
    expect(again.code).toBe(ErrorCode.InvalidParams);
    expect(again.message).toContain("Cannot cancel task in terminal status: cancelled");

    const result = await client.experimental.tasks.getTaskResult(id, CallToolResultSchema);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(await view(id));
    expect(textOf(result)).toMatch(/partial output\n+<task was stopped>$/);
  });
});

describe("MCP Tasks: list", () => {
  it("lists the tenant's tasks, newest first, as MCP tasks; a cursor that is not ours is -32602", async () => {
    const a = await collectFirst("worker", "first");
    const b = await collectFirst("worker", "second");
    await h.waitFor(a.taskId);
    await h.waitFor(b.taskId);
    const { tasks } = await client.experimental.tasks.listTasks();
    const ids = tasks.map((t) => t.taskId);
    expect(ids.indexOf(b.taskId)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(b.taskId)).toBeLessThan(ids.indexOf(a.taskId));
    expect(tasks.find((t) => t.taskId === a.taskId)).toMatchObject({
      status: "completed",
      ttl: expect.any(Number),
    });
    const rest = (await h.request("GET", "/v1/tasks?limit=100")).json as { tasks: { id: string }[] };
    expect(ids).toEqual(rest.tasks.map((t) => t.id));

    const bad = await rpcError(client.experimental.tasks.listTasks("not-a-cursor"));
    expect(bad.code).toBe(ErrorCode.InvalidParams);
    expect(bad.message).toContain("cursor is not valid");
  });

  it("pages with our list cursor (nextCursor until the last page)", async () => {
    const small = await clientWith({ listPageSize: 2 });
    try {
      for (const task of ["one", "two", "three"])
        await h.waitFor((await collectFirst("worker", task)).taskId);
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await small.experimental.tasks.listTasks(cursor);
        expect(page.tasks.length).toBeLessThanOrEqual(2);
        seen.push(...page.tasks.map((t) => t.taskId));
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      const rest = (await h.request("GET", "/v1/tasks?limit=100")).json as { tasks: { id: string }[] };
      expect(seen).toEqual(rest.tasks.map((t) => t.id));
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(seen.length / 2));
    } finally {
      await small.close();
    }
  });
});

describe("MCP Tasks: the bound of tasks/result", () => {
  it("a task still running at the bound: -32001 saying to ask again; the next tasks/result gets the end", async () => {
    const release = held(["slow\n", "finally"], 1);
    const id = (await collectFirst("worker", "outlast the bound")).taskId;
    await h.waitFor(id, (t) => t.output_bytes > 0);
    const bounded = await clientWith({ resultWaitSeconds: 1 });
    try {
      const err = await rpcError(bounded.experimental.tasks.getTaskResult(id, CallToolResultSchema));
      expect(err.code).toBe(ErrorCode.RequestTimeout);
      expect(err.message).toContain(`task ${id} is still running after 1 s: call tasks/result again`);
      expect((await h.getTask(id)).status).toBe("running");
      release();
      await h.waitFor(id);
      const result = await bounded.experimental.tasks.getTaskResult(id, CallToolResultSchema);
      expect(textOf(result)).toContain("slow\nfinally");
    } finally {
      release();
      await bounded.close();
    }
  });
});

describe("MCP Tasks: tenants", () => {
  it("another tenant's task is not found (-32602) for get, result and cancel, and not in its list", async () => {
    const release = held(["mine\n", "still mine"], 1);
    const created = await collectFirst("worker", "private");
    const id = created.taskId;
    const other = await mcpClient(h, otherKey);
    try {
      for (const call of [
        () => other.experimental.tasks.getTask(id),
        () => other.experimental.tasks.getTaskResult(id, CallToolResultSchema),
        () => other.experimental.tasks.cancelTask(id),
      ]) {
        const err = await rpcError(call());
        expect(err.code).toBe(ErrorCode.InvalidParams);
        expect(err.message).toMatch(/Task not found/);
      }
      const listed = await other.experimental.tasks.listTasks();
      expect(listed.tasks.map((t) => t.taskId)).not.toContain(id);
      // Untouched: still working for its own tenant.
      expect((await client.experimental.tasks.getTask(id)).status).toBe("working");
    } finally {
      release();
      await other.close();
    }
    await h.waitFor(id);
  });

  it("an ID that is no task at all is -32602 too", async () => {
    const err = await rpcError(client.experimental.tasks.getTask("agent_task_AAAAAAAAAAAAAAAAAAAAAA"));
    expect(err.code).toBe(ErrorCode.InvalidParams);
    const junk = await rpcError(client.experimental.tasks.getTaskResult("../etc", CallToolResultSchema));
    expect(junk.code).toBe(ErrorCode.InvalidParams);
  });
});

describe("MCP Tasks: refusals", () => {
  it("a task-augmented call of a tool without task support is -32601", async () => {
    const messages = await collect(
      client.experimental.tasks.callToolStream(
        { name: "list_background_agents", arguments: {} },
        CallToolResultSchema,
        {
          task: {},
        },
      ),
    );
    const err = messages[0];
    if (err?.type !== "error") throw new Error(`expected an error: ${JSON.stringify(err)}`);
    expect(err.error.code).toBe(ErrorCode.MethodNotFound);
  });

  it("bad arguments or an agent not allowed: -32602 with the tool's one-line message, and no task", async () => {
    const before = (await h.request("GET", "/v1/tasks?limit=100")).json as { tasks: unknown[] };
    for (const [args, message] of [
      [
        { agent: "ghost", task: "x" },
        'agent "ghost" is not in the sub-agents list. Available: worker, thinker',
      ],
      [{ agent: "worker" }, "invalid arguments for run_background_agent"],
    ] as const) {
      const messages = await collect(
        client.experimental.tasks.callToolStream(
          { name: "run_background_agent", arguments: args },
          CallToolResultSchema,
          {
            task: {},
          },
        ),
      );
      const err = messages[0];
      if (err?.type !== "error") throw new Error(`expected an error: ${JSON.stringify(err)}`);
      expect(err.error.code).toBe(ErrorCode.InvalidParams);
      expect(err.error.message).toContain(message);
    }
    const after = (await h.request("GET", "/v1/tasks?limit=100")).json as { tasks: unknown[] };
    expect(after.tasks.length).toBe(before.tasks.length);
  });
});

describe("plain tools/call is unchanged", () => {
  it("run_background_agent without a task answers with its text at once, as JSON", async () => {
    const result = await client.callTool({
      name: "run_background_agent",
      arguments: { agent: "worker", task: "plain" },
    });
    expect(result.isError).toBe(false);
    expect(textOf(result)).toMatch(
      /^Background agent task started with ID: agent_task_\S+\nAgent: worker\nTask: plain$/,
    );
    expect(result).not.toHaveProperty("task");
    const id = (result.structuredContent as { id: string }).id;
    await h.waitFor(id);

    const raw = await h.request(
      "POST",
      "/mcp",
      {
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: { name: "view_background_agent", arguments: { task_id: id } },
      },
      { accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" },
    );
    expect(raw.status).toBe(200);
    expect(raw.headers.get("content-type")).toContain("application/json");
    expect((raw.json as { result: { content: { text: string }[] } }).result.content[0]?.text).toBe(
      await view(id),
    );
  });
});

/**
 * A client of serveMcp itself with other options (the route always uses the defaults: a page of
 * 50, a tasks/result bound of 840 s), as the default tenant.
 */
async function clientWith(options: McpOptions): Promise<Client> {
  const tenant = (await h.runtime.tenants.authenticate(API_KEY))?.tenant;
  if (!tenant) throw new Error("no default tenant");
  const deps = {
    service: h.runtime.service,
    tenants: h.runtime.tenants,
    log: createLogger("silent"),
    ssePollMs: 30,
    version: "test",
  };
  return mcpClient(h, API_KEY, {
    fetch: async (req) => {
      const body: unknown = await req
        .clone()
        .json()
        .catch(() => undefined);
      return serveMcp(req, body, { tenant, caller: "root" }, deps, options);
    },
  });
}

/** Starts a worker task as an MCP task and returns the task as created (stream left at once). */
async function collectFirst(agent: string, task: string) {
  const stream = client.experimental.tasks.callToolStream(
    { name: "run_background_agent", arguments: { agent, task } },
    CallToolResultSchema,
    { task: {} },
  );
  const first = await stream.next();
  await stream.return(undefined);
  const m = first.value;
  if (m?.type !== "taskCreated") throw new Error(`expected taskCreated: ${JSON.stringify(m)}`);
  return m.task;
}
