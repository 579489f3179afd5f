import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeOpenAI } from "../support/fake-openai.js";
import { ADMIN_TOKEN, API_KEY, type Harness, startHarness, testConfig } from "../support/harness.js";

let fake: FakeOpenAI;
let h: Harness;

beforeAll(async () => {
  fake = await new FakeOpenAI().start();
  h = await startHarness({ fake });
});
afterAll(async () => {
  await h.close();
  await fake.close();
});
beforeEach(() => fake.reset());

const admin = (method: string, path: string, body?: unknown) =>
  h.request(method, path, body, { authorization: `Bearer ${ADMIN_TOKEN}` });

async function newTenant(id: string, config = testConfig(fake.url), limits?: Record<string, number>) {
  const res = await admin("POST", "/v1/admin/tenants", { id, config, ...(limits ? { limits } : {}) });
  expect(res.status, res.text).toBe(201);
  return String(res.json.api_key);
}

const as = (key: string, extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${key}`,
  ...extra,
});

describe("admin API", () => {
  it("is guarded by the admin token: none → 401, a tenant key → 403", async () => {
    expect((await h.request("GET", "/v1/admin/tenants", undefined, { authorization: "" })).status).toBe(401);
    const tenantKey = await h.request("GET", "/v1/admin/tenants");
    expect(tenantKey.status).toBe(403);
    expect(tenantKey.json.error?.code).toBe("forbidden");
    expect(
      (await h.request("GET", "/v1/admin/tenants", undefined, as("wrong-token-0123456789"))).status,
    ).toBe(401);
    expect((await admin("GET", "/v1/admin/tenants")).status).toBe(200);
  });

  it("creates tenants, lists every config problem (422), changes config, limits, secrets and keys", async () => {
    const created = await admin("POST", "/v1/admin/tenants", { id: "acme", config: testConfig(fake.url) });
    expect(created.status).toBe(201);
    expect(created.json.api_key).toMatch(/^bga_/);
    expect(created.json.tenant).toMatchObject({ id: "acme", agents: ["root", "worker", "thinker"] });
    expect(
      (await admin("POST", "/v1/admin/tenants", { id: "acme", config: testConfig(fake.url) })).json.error
        ?.code,
    ).toBe("tenant_exists");

    const bad = await admin("PUT", "/v1/admin/tenants/acme/config", {
      config: "agents:\n  root:\n    model: openai/x\n    sub_agents: [ghost]\n  w:\n    model: nope\n",
    });
    expect(bad.status).toBe(422);
    expect(bad.json.error?.code).toBe("invalid_config");
    expect((bad.json.error as unknown as { details: unknown[] }).details).toEqual([
      { path: "agents.root.sub_agents.0", reason: 'names no agent: "ghost"' },
      { path: "agents.w.model", reason: expect.stringContaining('unknown model "nope"') },
    ]);

    await admin("PATCH", "/v1/admin/tenants/acme/limits", { max_task_seconds: 120 });
    const limits = await admin("PATCH", "/v1/admin/tenants/acme/limits", { max_running_tasks: 3 });
    // A PATCH changes only what it names.
    expect(limits.json.tenant).toMatchObject({ limits: { max_running_tasks: 3, max_task_seconds: 120 } });
    expect((await admin("PATCH", "/v1/admin/tenants/acme/limits", { max_running_tasks: 0 })).status).toBe(
      400,
    );
    expect((await admin("PATCH", "/v1/admin/tenants/acme/limits", { bogus: 1 })).status).toBe(400);
    expect((await admin("PATCH", "/v1/admin/tenants/nobody/limits", { max_running_tasks: 2 })).status).toBe(
      404,
    );

    const secrets = await admin("PUT", "/v1/admin/tenants/acme/secrets", {
      TOKEN: "s3cr3t-value",
      OTHER: "x",
    });
    expect(secrets.json).toEqual({ names: ["OTHER", "TOKEN"] });
    const listed = await admin("GET", "/v1/admin/tenants");
    expect(listed.text).not.toContain("s3cr3t-value");

    const plain = await admin("POST", "/v1/admin/tenants/acme/keys");
    expect(plain.status, plain.text).toBe(201);
    expect(plain.json.callers).toBeNull();
    const key = await admin("POST", "/v1/admin/tenants/acme/keys", { callers: ["root"] });
    expect(key.status).toBe(201);
    expect(key.json.callers).toEqual(["root"]);
    const keys = await admin("GET", "/v1/admin/tenants/acme/keys");
    const ids = (keys.json.keys as { key_id: string }[]).map((k) => k.key_id);
    expect(ids).toContain(key.json.key_id);
    expect(keys.text).not.toContain(String(key.json.api_key));
    expect((await h.request("GET", "/v1/tasks", undefined, as(String(key.json.api_key)))).status).toBe(200);
    expect((await admin("DELETE", `/v1/admin/tenants/acme/keys/${key.json.key_id}`)).status).toBe(204);
    // Revocation takes effect at once on the instance that made it (other instances: once their
    // short cache expires, see tenant-directory.test.ts).
    expect((await h.request("GET", "/v1/tasks", undefined, as(String(key.json.api_key)))).status).toBe(401);
    expect((await admin("DELETE", `/v1/admin/tenants/acme/keys/${key.json.key_id}`)).status).toBe(404);
  });
});

describe("caller rules", () => {
  it("a key bound to callers serves only them; run starts only the caller's sub_agents", async () => {
    const config = `
models:
  fake: { provider: openai, model: m, base_url: "${fake.url}" }
agents:
  root: { model: fake, sub_agents: [planner] }
  planner: { model: fake, sub_agents: [coder] }
  coder: { model: fake }
`;
    await newTenant("callers", config);
    const key = await admin("POST", "/v1/admin/tenants/callers/keys", { callers: ["planner"] });
    const bound = String(key.json.api_key);
    // With one bound caller, that caller is the default.
    const ok = await h.request("POST", "/v1/tasks", { agent: "coder", task: "x" }, as(bound));
    expect(ok.status, ok.text).toBe(201);
    expect(ok.json.caller).toBe("planner");
    const other = await h.request(
      "POST",
      "/v1/tasks",
      { agent: "planner", task: "x" },
      as(bound, { "x-caller-agent": "root" }),
    );
    expect(other.status).toBe(403);
    expect(other.json.error?.message).toContain("bound to the callers planner");
    const notSub = await h.request(
      "POST",
      "/v1/tools/run_background_agent",
      { agent: "planner", task: "x" },
      as(bound),
    );
    expect(notSub.json.content).toEqual([
      { type: "text", text: 'agent "planner" is not in the sub-agents list. Available: coder' },
    ]);
  });
});

describe("isolation between tenants", () => {
  it("another tenant's task is answered exactly like a missing one on every route, tool and stream", async () => {
    const otherKey = await newTenant("globex");
    const mine = await h.run("worker", "private work");
    await h.waitForStatus(mine.id, "completed");
    const missing = "agent_task_AAAAAAAAAAAAAAAAAAAAAA";
    const asOther = as(otherKey);

    for (const id of [mine.id, missing]) {
      for (const [method, path, body] of [
        ["GET", `/v1/tasks/${id}`, undefined],
        ["GET", `/v1/tasks/${id}/output`, undefined],
        ["GET", `/v1/tasks/${id}/events`, undefined],
        ["POST", `/v1/tasks/${id}/stop`, undefined],
      ] as const) {
        const res = await h.request(method, path, body, asOther);
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.json).toEqual({ error: { code: "task_not_found", message: `task not found: ${id}` } });
      }
      for (const tool of ["view_background_agent", "stop_background_agent"]) {
        const res = await h.request("POST", `/v1/tools/${tool}`, { task_id: id }, asOther);
        expect(res.json).toMatchObject({ isError: true, content: [{ text: `task not found: ${id}` }] });
      }
      const wait = await h.request(
        "POST",
        "/v1/tools/wait_background_agents",
        { task_ids: [id], timeout: 1 },
        asOther,
      );
      expect(wait.json).toMatchObject({ isError: true, content: [{ text: `task not found: ${id}` }] });
    }
    const list = await h.request("GET", "/v1/tasks?limit=100", undefined, asOther);
    expect(list.json.tasks).toEqual([]);
    const listTool = await h.request("POST", "/v1/tools/list_background_agents", {}, asOther);
    expect(listTool.json.content).toEqual([{ type: "text", text: "No background agent tasks found." }]);
    // A cursor from one tenant's listing does not page another's.
    const page = await h.request("GET", "/v1/tasks?limit=1");
    if (page.json.next_cursor) {
      const res = await h.request("GET", `/v1/tasks?cursor=${page.json.next_cursor}`, undefined, asOther);
      expect(res.status).toBe(400);
    }
    // Same via MCP.
    const mcp = await h.runtime.app.request("/mcp", {
      method: "POST",
      headers: {
        ...asOther,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "view_background_agent", arguments: { task_id: mine.id } },
      }),
    });
    const rpc = (await mcp.json()) as { result: { isError: boolean; content: { text: string }[] } };
    expect(rpc.result.isError).toBe(true);
    expect(rpc.result.content[0]?.text).toBe(`task not found: ${mine.id}`);
  });

  it("no tenant config can read the server's environment", async () => {
    process.env.BGA_TEST_SERVER_ONLY = "http://127.0.0.1:1/leak";
    const config = testConfig("${env.BGA_TEST_SERVER_ONLY}");
    const key = await newTenant("envprobe", config);
    const res = await h.request("POST", "/v1/tasks", { agent: "worker", task: "x" }, as(key));
    const id = String(res.json.id);
    let task = res.json;
    for (let i = 0; i < 200 && task.status !== "failed" && task.status !== "completed"; i++) {
      await new Promise((r) => setTimeout(r, 20));
      task = (await h.request("GET", `/v1/tasks/${id}`, undefined, as(key))).json;
    }
    expect(task.status).toBe("failed");
    expect(task.error).toBe(
      "the agent config uses ${env.BGA_TEST_SERVER_ONLY}, which is not among the tenant's secrets",
    );
    // Once the tenant stores that secret itself, it resolves from there.
    // The instance that stored them reads them at once.
    await admin("PUT", "/v1/admin/tenants/envprobe/secrets", { BGA_TEST_SERVER_ONLY: fake.url });
    fake.enqueue({ text: "via the tenant's own secret" });
    const again = await h.request("POST", "/v1/tasks", { agent: "worker", task: "y" }, as(key));
    const againId = String(again.json.id);
    for (let i = 0; i < 200; i++) {
      task = (await h.request("GET", `/v1/tasks/${againId}`, undefined, as(key))).json;
      if (task.status === "completed" || task.status === "failed") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(task.result).toBe("via the tenant's own secret");
    delete process.env.BGA_TEST_SERVER_ONLY;
  });
});

describe("max_running_tasks under concurrent runs", () => {
  it("admits exactly the cap, then frees slots when tasks are stopped or fail", async () => {
    const key = await newTenant("racer", testConfig(fake.url), { max_running_tasks: 4 });
    fake.setFallback({ text: Array.from({ length: 400 }, () => "z "), delayMs: 25 });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        h.request("POST", "/v1/tasks", { agent: "worker", task: `t${i}` }, as(key)),
      ),
    );
    const admitted = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 429);
    expect(admitted).toHaveLength(4);
    expect(refused).toHaveLength(26);
    expect(refused[0]?.json.error?.message).toBe(
      "maximum concurrent background agent tasks (4) reached; stop or wait for existing tasks to complete",
    );
    expect(refused[0]?.headers.get("retry-after")).toBe("5");
    // The admin list counts each tenant's running slots (the console's admin view shows them).
    const tenants = (await admin("GET", "/v1/admin/tenants")).json.tenants as {
      id: string;
      running_tasks?: number;
    }[];
    expect(tenants.find((t) => t.id === "racer")?.running_tasks).toBe(4);

    // A stop frees a slot.
    await h.request("POST", `/v1/tasks/${admitted[0]?.json.id}/stop`, undefined, as(key));
    const afterStop = await h.request("POST", "/v1/tasks", { agent: "worker", task: "after stop" }, as(key));
    expect(afterStop.status).toBe(201);
    expect((await h.request("POST", "/v1/tasks", { agent: "worker", task: "over" }, as(key))).status).toBe(
      429,
    );

    // A failure frees a slot: the next model answer is an auth error.
    fake.setFallback({ status: 401 });
    const toFail = admitted[1]?.json.id;
    await h.request("POST", `/v1/tasks/${toFail}/stop`, undefined, as(key)); // free one to start a failing task
    const failing = await h.request("POST", "/v1/tasks", { agent: "worker", task: "will fail" }, as(key));
    expect(failing.status).toBe(201);
    let status = "";
    for (let i = 0; i < 200 && status !== "failed"; i++) {
      await new Promise((r) => setTimeout(r, 20));
      status = String(
        (await h.request("GET", `/v1/tasks/${failing.json.id}`, undefined, as(key))).json.status,
      );
    }
    expect(status).toBe("failed");
    expect(
      (await h.request("POST", "/v1/tasks", { agent: "worker", task: "after failure" }, as(key))).status,
    ).toBe(201);

    // Clean up: stop the rest so the fake model stops streaming.
    const running = await h.request("GET", "/v1/tasks?status=running&limit=100", undefined, as(key));
    for (const t of running.json.tasks as { id: string }[]) {
      await h.request("POST", `/v1/tasks/${t.id}/stop`, undefined, as(key));
    }
  });
});

void API_KEY;
