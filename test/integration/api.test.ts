import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeOpenAI } from "../support/fake-openai.js";
import { API_KEY, type Harness, startHarness } from "../support/harness.js";

let fake: FakeOpenAI;
let h: Harness;

beforeAll(async () => {
  fake = await new FakeOpenAI().start();
  h = await startHarness({ fake, limits: { max_task_bytes: 2048 } });
});
afterAll(async () => {
  await h.close();
  await fake.close();
});
beforeEach(() => fake.reset());

describe("REST API", () => {
  it("needs a valid key on every route but /healthz and /openapi.json", async () => {
    for (const [method, path] of [
      ["GET", "/v1/tasks"],
      ["POST", "/v1/tasks"],
      ["GET", "/v1/tools"],
      ["POST", "/mcp"],
      ["GET", "/v1/tasks/agent_task_x/events"],
    ] as const) {
      const res = await h.runtime.app.request(path, {
        method,
        headers: { authorization: "Bearer nope-nope-nope" },
      });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: "unauthorized" } });
    }
    expect((await h.runtime.app.request("/v1/tasks")).status).toBe(401);
    expect((await h.runtime.app.request("/healthz")).status).toBe(200);
    expect((await h.runtime.app.request("/openapi.json")).status).toBe(200);
  });

  it("creates, gets, lists (newest first, filtered, paged) and reads output", async () => {
    const a = await h.run("worker", "first", { metadata: { ticket: "T-1" } });
    await h.waitForStatus(a.id, "completed");
    const b = await h.run("worker", "second");
    await h.waitForStatus(b.id, "completed");
    const c = await h.run("thinker", "third");
    await h.waitForStatus(c.id, "completed");

    const got = await h.request("GET", `/v1/tasks/${a.id}`);
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({
      id: a.id,
      agent: "worker",
      caller: "root",
      task: "first",
      metadata: { ticket: "T-1" },
    });
    expect(Object.keys(got.json).sort()).toEqual(
      [
        "id",
        "agent",
        "caller",
        "task",
        "expected_output",
        "status",
        "created_at",
        "started_at",
        "ended_at",
        "runtime_ms",
        "result",
        "error",
        "usage",
        "output_bytes",
        "last_seq",
        "metadata",
      ].sort(),
    );

    const all = await h.request("GET", "/v1/tasks?limit=100");
    const ids = (all.json.tasks as { id: string }[]).map((t) => t.id);
    expect(ids.indexOf(c.id)).toBeLessThan(ids.indexOf(b.id));
    expect(ids.indexOf(b.id)).toBeLessThan(ids.indexOf(a.id));

    const thinkers = await h.request("GET", "/v1/tasks?agent=thinker&status=completed");
    expect(thinkers.status, thinkers.text).toBe(200);
    expect((thinkers.json.tasks as { id: string }[]).map((t) => t.id)).toContain(c.id);
    expect((thinkers.json.tasks as { agent: string }[]).every((t) => t.agent === "thinker")).toBe(true);

    const page1 = await h.request("GET", "/v1/tasks?limit=2");
    expect(page1.json.tasks).toHaveLength(2);
    expect(page1.json.next_cursor).toEqual(expect.any(String));
    const page2 = await h.request("GET", `/v1/tasks?limit=2&cursor=${page1.json.next_cursor}`);
    const seen = [...(page1.json.tasks as { id: string }[]), ...(page2.json.tasks as { id: string }[])].map(
      (t) => t.id,
    );
    expect(new Set(seen).size).toBe(seen.length);

    const out = await h.request("GET", `/v1/tasks/${a.id}/output?after=0&limit=10`);
    expect(out.status).toBe(200);
    expect(out.json).toMatchObject({ status: "completed", next_after: 1 });
    expect(out.json.chunks).toEqual([{ seq: 1, kind: "text", text: "ok", at: expect.any(String) }]);
    const none = await h.request("GET", `/v1/tasks/${a.id}/output?after=1`);
    expect(none.json).toMatchObject({ chunks: [], next_after: 1 });
  });

  it("answers bad input with a clear 4xx and the error format", async () => {
    const cases: [string, string, unknown, number, string][] = [
      ["POST", "/v1/tasks", { agent: "worker" }, 400, "invalid_request"],
      ["POST", "/v1/tasks", { agent: "worker", task: "x", extra: 1 }, 400, "invalid_request"],
      ["POST", "/v1/tasks", "{not json", 400, "invalid_request"],
      ["POST", "/v1/tasks", { agent: "nobody", task: "x" }, 403, "agent_not_allowed"],
      ["POST", "/v1/tasks", { agent: "worker", task: "x".repeat(3000) }, 413, "task_too_large"],
      ["GET", "/v1/tasks?limit=0", undefined, 400, "invalid_request"],
      ["GET", "/v1/tasks?limit=101", undefined, 400, "invalid_request"],
      ["GET", "/v1/tasks?status=sleeping", undefined, 400, "invalid_request"],
      ["GET", "/v1/tasks?cursor=garbage", undefined, 400, "invalid_request"],
      ["GET", "/v1/tasks/agent_task_doesnotexist0000000", undefined, 404, "task_not_found"],
      ["GET", "/v1/tasks/whatever/output?after=-1", undefined, 400, "invalid_request"],
      ["POST", "/v1/tasks/agent_task_doesnotexist0000000/stop", undefined, 404, "task_not_found"],
      ["GET", "/v1/nothing", undefined, 404, "not_found"],
      ["DELETE", "/v1/tasks", undefined, 405, "method_not_allowed"],
      ["PUT", "/v1/tools/run_background_agent", {}, 405, "method_not_allowed"],
      ["POST", "/v1/tools/no_such_tool", {}, 404, "not_found"],
      ["POST", "/v1/tools/run_background_agent", { agent: 1 }, 400, "invalid_arguments"],
      ["POST", "/v1/tools/wait_background_agents", { task_ids: ["a", "a"] }, 400, "invalid_arguments"],
      [
        "POST",
        "/v1/tools/wait_background_agents",
        { task_ids: ["a"], timeout: 841 },
        400,
        "invalid_arguments",
      ],
    ];
    for (const [method, path, body, status, code] of cases) {
      const res = await h.request(method, path, body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 40)}`).toBe(status);
      expect(res.json.error?.code, `${method} ${path}`).toBe(code);
      expect(res.json.error?.message.length).toBeGreaterThan(5);
    }
    // every problem, each with its path (zod's own format)
    const missing = await h.request("POST", "/v1/tasks", { agent: 7 });
    expect(missing.json.error?.message).toBe(
      "invalid request body:\n✖ Invalid input: expected string, received number\n  → at agent\n✖ Invalid input: expected string, received undefined\n  → at task",
    );
    const denied = await h.request("POST", "/v1/tasks", { agent: "nobody", task: "x" });
    expect(denied.json.error?.message).toBe(
      'agent "nobody" is not in the sub-agents list. Available: worker, thinker',
    );
  });

  it("refuses bodies over 1 MiB with 413", async () => {
    const res = await h.request("POST", "/v1/tasks", { agent: "worker", task: "x".repeat(1024 * 1024 + 10) });
    expect(res.status).toBe(413);
    expect(res.json.error?.code).toBe("payload_too_large");
  });

  it("starts only the caller's sub-agents (X-Caller-Agent)", async () => {
    const res = await h.request(
      "POST",
      "/v1/tasks",
      { agent: "worker", task: "x" },
      { "x-caller-agent": "worker" },
    );
    expect(res.status).toBe(403);
    expect(res.json.error?.message).toBe('agent "worker" is not in the sub-agents list. Available: (none)');
  });

  it("Idempotency-Key: same key and body → the same task (200); another body → 409", async () => {
    const first = await h.request(
      "POST",
      "/v1/tasks",
      { agent: "worker", task: "once" },
      { "idempotency-key": "k-1" },
    );
    expect(first.status).toBe(201);
    const again = await h.request(
      "POST",
      "/v1/tasks",
      { agent: "worker", task: "once" },
      { "idempotency-key": "k-1" },
    );
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(first.json.id);
    const other = await h.request(
      "POST",
      "/v1/tasks",
      { agent: "worker", task: "twice" },
      { "idempotency-key": "k-1" },
    );
    expect(other.status).toBe(409);
    expect(other.json.error?.code).toBe("idempotency_conflict");
    await h.waitForStatus(String(first.json.id), "completed");
  });

  it("streams events over SSE: chunks with id = seq, status changes, resumes after Last-Event-ID", async () => {
    fake.enqueue({ text: ["one ", "two ", "three"], delayMs: 150 });
    const task = await h.run("worker", "sse please");
    const res = await h.runtime.app.request(`/v1/tasks/${task.id}/events`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = parseSse(await res.text());
    const chunks = events.filter((e) => e.event === "chunk");
    expect(chunks.map((e) => Number(e.id))).toEqual(chunks.map((_, i) => i + 1));
    expect(chunks.map((e) => JSON.parse(e.data).text).join("")).toBe("one two three");
    const statuses = events.filter((e) => e.event === "status").map((e) => JSON.parse(e.data).status);
    expect(statuses[statuses.length - 1]).toBe("completed");
    expect(statuses).toContain("running");

    const resumed = await h.runtime.app.request(`/v1/tasks/${task.id}/events`, {
      headers: { authorization: `Bearer ${API_KEY}`, "last-event-id": "1" },
    });
    const later = parseSse(await resumed.text()).filter((e) => e.event === "chunk");
    expect(later.map((e) => Number(e.id))).toEqual(chunks.slice(1).map((e) => Number(e.id)));

    const missing = await h.request("GET", "/v1/tasks/agent_task_doesnotexist0000000/events");
    expect(missing.status).toBe(404);
  });

  it("keeps a quiet SSE stream alive with comment lines", async () => {
    fake.enqueue({ text: ["late"], delayMs: 800 });
    const task = await h.run("worker", "say something late");
    const res = await h.runtime.app.request(`/v1/tasks/${task.id}/events`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    const body = await res.text();
    expect(body).toContain(": keepalive\n\n");
    expect(body.indexOf(": keepalive")).toBeLessThan(body.indexOf("event: chunk"));
  });

  it("serves an OpenAPI 3.1 document of the routes", async () => {
    const res = await h.runtime.app.request("/openapi.json");
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        "/healthz",
        "/mcp",
        "/v1/agents",
        "/v1/tasks",
        "/v1/tasks/{id}",
        "/v1/tasks/{id}/changes",
        "/v1/tasks/{id}/events",
        "/v1/tasks/{id}/output",
        "/v1/tasks/{id}/stop",
        "/v1/tools",
        "/v1/tools/{name}",
        "/v1/admin/tenants",
        "/v1/admin/tenants/{id}/config",
        "/v1/admin/tenants/{id}/limits",
        "/v1/admin/tenants/{id}/secrets",
        "/v1/admin/tenants/{id}/keys",
        "/v1/admin/tenants/{id}/keys/{key_id}",
        "/v1/admin/tenants/{id}/webhook",
        "/v1/admin/tenants/{id}/webhook/deliveries",
      ].sort(),
    );
    expect(Object.keys(doc.paths["/v1/tasks"] ?? {}).sort()).toEqual(["get", "post"]);
    // Named schemas are components, referenced where they are used; parameters come from the schemas.
    const full = doc as unknown as {
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
      paths: Record<string, Record<string, { parameters?: unknown[]; responses: Record<string, unknown> }>>;
    };
    expect(Object.keys(full.components.schemas)).toEqual(expect.arrayContaining(["Task", "Chunk", "Error"]));
    expect(Object.keys(full.components.schemas.Task?.properties ?? {})).toContain("status");
    const getTask = full.paths["/v1/tasks/{id}"]?.get;
    expect(getTask?.parameters).toEqual([
      { name: "id", in: "path", required: true, schema: expect.objectContaining({ type: "string" }) },
    ]);
    expect(getTask?.responses["200"]).toEqual({
      description: "The task",
      content: { "application/json": { schema: { $ref: "#/components/schemas/Task" } } },
    });
    const listParams = full.paths["/v1/tasks"]?.get?.parameters as { name: string; required: boolean }[];
    expect(listParams.map((p) => [p.name, p.required])).toEqual([
      ["status", false],
      ["agent", false],
      ["limit", false],
      ["cursor", false],
    ]);
  });
});

describe("tool gateway", () => {
  it("lists the five tools with strict JSON Schemas", async () => {
    const res = await h.request("GET", "/v1/tools");
    const tools = res.json.tools as { name: string; input_schema: Record<string, unknown> }[];
    expect(tools.map((t) => t.name)).toEqual([
      "run_background_agent",
      "list_background_agents",
      "view_background_agent",
      "stop_background_agent",
      "wait_background_agents",
    ]);
    for (const t of tools) {
      expect(t.input_schema.type).toBe("object");
      expect(t.input_schema.additionalProperties).toBe(false);
    }
    expect(tools[0]?.input_schema.required).toEqual(["agent", "task"]);
    expect(tools[4]?.input_schema.required).toEqual(["task_ids"]);
  });

  it("runs the tools with the texts of the contract", async () => {
    const empty = await startHarness({ fake });
    try {
      const none = await empty.request("POST", "/v1/tools/list_background_agents", {});
      expect(none.json.content).toEqual([{ type: "text", text: "No background agent tasks found." }]);
    } finally {
      await empty.close();
    }
    fake.enqueue({ text: "the result" });
    const run = await h.request("POST", "/v1/tools/run_background_agent", { agent: "worker", task: "do it" });
    expect(run.status).toBe(200);
    expect(run.json.isError).toBe(false);
    const text = (run.json.content as { text: string }[])[0]?.text ?? "";
    const id = /^Background agent task started with ID: (agent_task_\S+)\nAgent: worker\nTask: do it$/.exec(
      text,
    )?.[1];
    expect(id).toBeDefined();
    expect((run.json.structuredContent as { id: string }).id).toBe(id);

    const wait = await h.request("POST", "/v1/tools/wait_background_agents", { task_ids: [id], timeout: 20 });
    const waited = JSON.parse((wait.json.content as { text: string }[])[0]?.text ?? "");
    expect(waited).toEqual({
      all_done: true,
      timed_out: false,
      tasks: [
        { task_id: id, status: "completed", done: true, output: "the result", error: null, truncated: false },
      ],
    });

    const view = await h.request("POST", "/v1/tools/view_background_agent", { task_id: id });
    const viewText = (view.json.content as { text: string }[])[0]?.text ?? "";
    expect(viewText).toMatch(
      new RegExp(
        `^Task ID: ${id}\\nAgent: worker\\nStatus: completed\\nRuntime: .+\\n--- Output ---\\nthe result$`,
      ),
    );

    const list = await h.request("POST", "/v1/tools/list_background_agents", {});
    const listText = (list.json.content as { text: string }[])[0]?.text ?? "";
    expect(listText.startsWith("Background Agent Tasks:\n")).toBe(true);
    expect(listText).toContain(`ID: ${id}\nAgent: worker\nStatus: completed\nRuntime: `);

    const stop = await h.request("POST", "/v1/tools/stop_background_agent", { task_id: id });
    expect(stop.status).toBe(200);
    expect(stop.json.isError).toBe(true);
    expect(stop.json.content).toEqual([
      { type: "text", text: `task ${id} is not running (status: completed)` },
    ]);

    const missing = await h.request("POST", "/v1/tools/view_background_agent", {
      task_id: "agent_task_nope",
    });
    expect(missing.json).toMatchObject({
      isError: true,
      content: [{ text: "task not found: agent_task_nope" }],
    });

    const denied = await h.request("POST", "/v1/tools/run_background_agent", { agent: "ghost", task: "x" });
    expect(denied.json.content).toEqual([
      { type: "text", text: 'agent "ghost" is not in the sub-agents list. Available: worker, thinker' },
    ]);
  });

  it("wait times out without stopping the tasks; view shows live output while running", async () => {
    fake.enqueue({ text: Array.from({ length: 40 }, (_, i) => `p${i} `), delayMs: 50 });
    const task = await h.run("worker", "slow one");
    await h.waitFor(task.id, (t) => t.last_seq > 0);
    const view = await h.request("POST", "/v1/tools/view_background_agent", { task_id: task.id });
    const text = (view.json.content as { text: string }[])[0]?.text ?? "";
    expect(text).toContain("Status: running");
    expect(text).toMatch(/--- Output ---\np0 .*\n\[still running\.\.\.\]$/s);

    const wait = await h.request("POST", "/v1/tools/wait_background_agents", {
      task_ids: [task.id],
      timeout: 0,
    });
    const waited = JSON.parse((wait.json.content as { text: string }[])[0]?.text ?? "");
    expect(waited).toMatchObject({
      all_done: false,
      timed_out: true,
      tasks: [{ status: "running", done: false }],
    });
    const done = await h.waitForStatus(task.id, "completed");
    expect(done.result).toContain("p39");
  });
});

function parseSse(body: string): { event?: string; id?: string; data: string }[] {
  return body
    .split("\n\n")
    .filter((block) => block.trim())
    .map((block) => {
      const e: { event?: string; id?: string; data: string } = { data: "" };
      for (const line of block.split("\n")) {
        const i = line.indexOf(":");
        const field = line.slice(0, i);
        const value = line.slice(i + 1).replace(/^ /, "");
        if (field === "event") e.event = value;
        else if (field === "id") e.id = value;
        else if (field === "data") e.data += value;
      }
      return e;
    });
}

describe("hosts and origins (DNS rebinding, SPEC §8)", () => {
  const init = (headers: Record<string, string>) => ({
    method: "POST",
    headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json", ...headers },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
  });

  it("refuses a foreign Host with 403 before anything else, MCP included", async () => {
    const res = await h.runtime.app.request("http://evil.example/mcp", init({}));
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      error: { code: "forbidden_host", message: "this service does not answer to the host evil.example" },
    });
    const health = await h.runtime.app.request("http://evil.example:8787/healthz");
    expect(health.status).toBe(403);
  });

  it("refuses a browser Origin other than the service's own", async () => {
    const res = await h.runtime.app.request(
      "http://127.0.0.1:8787/mcp",
      init({ origin: "http://evil.example" }),
    );
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden_origin");
  });

  it("serves the loopback names, the service's own origin, and requests without an Origin", async () => {
    for (const [url, origin] of [
      ["http://127.0.0.1:8787/healthz", undefined],
      ["http://localhost:8787/healthz", "http://localhost:8787"],
      ["http://[::1]:8787/healthz", "http://[::1]:8787"],
    ] as const) {
      const res = await h.runtime.app.request(url, origin ? { headers: { origin } } : {});
      expect(res.status, url).toBe(200);
    }
  });
});
