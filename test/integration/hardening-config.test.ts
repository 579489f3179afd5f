import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { createLocalRuntime, type LocalRuntime } from "../../local/runtime.js";
import { createTenants, openTable, serviceKeysFromSecret } from "../../shared/composition.js";
import { InvalidConfigError } from "../../shared/domain/errors.js";
import type { Task } from "../../shared/domain/task.js";
import { createLogger } from "../../shared/logger.js";
import type { Executions } from "../../shared/ports.js";
import { ServiceKeys } from "../../shared/security/service-secret.js";
import { callTool } from "../../shared/tools/call-tool.js";
import { FakeOpenAI, type RecordedRequest } from "../support/fake-openai.js";
import { ADMIN_TOKEN, type Harness, startHarness } from "../support/harness.js";

// Issue 11 (hardening): what a config may say, what the admin API may change, and the tools'
// bounds for nested agents and stopped tasks.

let fake: FakeOpenAI;
let h: Harness;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

beforeAll(async () => {
  fake = await new FakeOpenAI().start();
  h = await startHarness({ fake });
});
afterAll(async () => {
  await h.close();
  await fake.close();
});
beforeEach(() => fake.reset());

type Problems = { path: string; reason: string }[];

function problemsOf(res: { json: unknown }): Problems {
  return ((res.json as { error?: { details?: Problems } }).error?.details ?? []) as Problems;
}

const withModelUrl = (url: string) => `
models:
  m: { provider: openai, model: gpt-4o, base_url: "${url}" }
agents:
  root: { model: m, sub_agents: [x] }
  x: { model: m }
`;

const withMcpUrl = (url: string) => `
agents:
  root: { model: openai/gpt-4o, sub_agents: [x] }
  x:
    model: openai/gpt-4o
    toolsets:
      - type: think
      - type: mcp
        remote: { url: "${url}" }
`;

describe("private URLs are refused when a config is written (private networks not allowed)", () => {
  let cloud: LocalRuntime;
  const adminRequest = async (method: string, path: string, body: unknown) => {
    const res = await cloud.app.request(path, {
      method,
      headers: { ...admin, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as unknown };
  };

  beforeAll(async () => {
    // As in the cloud: BGA_ALLOW_PRIVATE_NETWORK false for the runner and the admin API alike.
    cloud = await createLocalRuntime({
      dynamodbEndpoint: inject("dynamodbEndpoint"),
      tableName: `bga-private-${randomUUID()}`,
      adminToken: ADMIN_TOKEN,
      allowPrivateNetwork: false,
      log: createLogger("silent"),
    });
  });
  afterAll(async () => {
    await cloud.close();
  });

  it("a model base_url or an MCP remote.url on a refused IP literal or localhost is 422 naming the path", async () => {
    const refused = [
      "http://127.0.0.1:11434/v1",
      "http://[::1]:8080/v1",
      "http://10.0.0.5/v1",
      "http://192.168.1.10/v1",
      "http://169.254.169.254/latest",
      "http://0.0.0.0:9/v1",
      "http://[::ffff:127.0.0.1]/v1",
      "http://[fd00::1]/v1",
      "http://0x7f.1/v1", // WHATWG URL reads it as 127.0.0.1
      "http://localhost:8080/v1",
      "http://LOCALHOST./v1",
      "https://api.localhost/v1",
    ];
    for (const [i, url] of refused.entries()) {
      const res = await adminRequest("POST", "/v1/admin/tenants", {
        id: `p-${i}`,
        config: withModelUrl(url),
      });
      expect(res.status, url).toBe(422);
      expect(res.json).toMatchObject({ error: { code: "invalid_config" } });
      const problems = problemsOf(res);
      expect(
        problems.map((p) => p.path),
        url,
      ).toEqual(["models.m.base_url"]);
      expect(problems[0]?.reason, url).toMatch(
        /^host .+ is a loopback( name|, private or link-local address); refused: .*BGA_ALLOW_PRIVATE_NETWORK is false/,
      );

      const mcp = await adminRequest("POST", "/v1/admin/tenants", { id: `q-${i}`, config: withMcpUrl(url) });
      expect(mcp.status, url).toBe(422);
      expect(
        problemsOf(mcp).map((p) => p.path),
        url,
      ).toEqual(["agents.x.toolsets.1.remote.url"]);
    }
    const res = await adminRequest("POST", "/v1/admin/tenants", {
      id: "p-msg",
      config: withModelUrl("http://10.1.2.3/v1"),
    });
    expect((res.json as { error: { message: string } }).error.message).toBe(
      "invalid agent config: models.m.base_url: host 10.1.2.3 is a loopback, private or link-local address; refused: this service does not connect to loopback, private or link-local addresses (BGA_ALLOW_PRIVATE_NETWORK is false)",
    );
  });

  it("replacing a config is held to the same rule", async () => {
    const created = await adminRequest("POST", "/v1/admin/tenants", {
      id: "replaced",
      config: withModelUrl("https://api.openai.com/v1"),
    });
    expect(created.status).toBe(201);
    const res = await adminRequest("PUT", "/v1/admin/tenants/replaced/config", {
      config: withMcpUrl("http://172.16.0.1/mcp"),
    });
    expect(res.status).toBe(422);
    expect(problemsOf(res).map((p) => p.path)).toEqual(["agents.x.toolsets.1.remote.url"]);
  });

  it("public addresses, names that need DNS (checked at connect time), ${env.NAME} hosts and ignored toolsets pass", async () => {
    const accepted = [
      withModelUrl("https://8.8.8.8/v1"),
      withModelUrl("https://[2606:4700:4700::1111]/v1"),
      // Not resolved when written: the network guard checks each address when a task connects.
      withModelUrl("https://models.internal.example.com/v1"),
      withModelUrl("http://${env.MODEL_HOST}/v1"),
      withModelUrl("${env.MODEL_URL}"),
      withMcpUrl("https://${env.MCP_HOST}:8443/mcp"),
      // The orchestrator's own toolsets are never run here: ignored, so not checked.
      `
agents:
  root:
    model: openai/gpt-4o
    sub_agents: [x]
    toolsets: [{ type: mcp, remote: { url: "http://127.0.0.1:8787/mcp" } }]
  x: { model: openai/gpt-4o }
`,
    ];
    for (const [i, config] of accepted.entries()) {
      const res = await adminRequest("POST", "/v1/admin/tenants", { id: `ok-${i}`, config });
      expect(res.status, `${config}\n${JSON.stringify(res.json)}`).toBe(201);
    }
  });

  it("the composition root gives the admin use case the cloud's default: private networks refused", async () => {
    // As functions/api/handler.ts would build it without the setting.
    const table = openTable({
      connection: { kind: "dynamodb-local", endpoint: inject("dynamodbEndpoint") },
      tableName: `bga-private-${randomUUID()}`,
    });
    const { admin: tenantAdmin } = createTenants(table, {
      serviceKeys: serviceKeysFromSecret(ServiceKeys.generateSecret()),
    });
    const err = await tenantAdmin
      .create({ id: "t1", config: withModelUrl("http://127.0.0.1:1/v1") })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidConfigError);
    expect((err as InvalidConfigError).problems.map((p) => p.path)).toEqual(["models.m.base_url"]);
  });
});

describe("MCP URLs are http(s), in any config", () => {
  it("another scheme is 422 naming the path, even where private networks are allowed", async () => {
    for (const url of [
      "ws://mcp.example.com/mcp",
      "file:///etc/passwd",
      "ftp://mcp.example.com/",
      "wss://${env.MCP_HOST}/mcp",
      "mcp.example.com/mcp",
    ]) {
      const res = await h.request(
        "POST",
        "/v1/admin/tenants",
        { id: "schemes", config: withMcpUrl(url) },
        admin,
      );
      expect(res.status, url).toBe(422);
      const problems = problemsOf(res);
      expect(
        problems.map((p) => p.path),
        url,
      ).toEqual(["agents.x.toolsets.1.remote.url"]);
      expect(problems[0]?.reason, url).toMatch(/^not an http\(s\) URL/);
    }
    // Locally (private networks allowed) a loopback MCP server is fine.
    const res = await h.request(
      "POST",
      "/v1/admin/tenants",
      { id: "schemes", config: withMcpUrl("http://127.0.0.1:9/mcp") },
      admin,
    );
    expect(res.status, res.text).toBe(201);
  });
});

describe("the process-environment tenant is not changeable through the admin API", () => {
  it("its config and secrets are 403, saying it is configured by BGA_CONFIG; its limits and keys may change", async () => {
    const before = await h.request("GET", "/v1/admin/tenants", undefined, admin);
    const configBefore = (before.json.tenants as { id: string; config: string }[]).find(
      (t) => t.id === "default",
    )?.config;
    expect(configBefore).toBeDefined();

    const config = await h.request(
      "PUT",
      "/v1/admin/tenants/default/config",
      { config: withModelUrl("https://api.openai.com/v1") },
      admin,
    );
    expect(config.status, config.text).toBe(403);
    expect(config.json.error?.code).toBe("forbidden");
    expect(config.json.error?.message).toContain("configured by BGA_CONFIG");
    expect(config.json.error?.message).toContain("its config cannot be changed through the admin API");

    const secrets = await h.request(
      "PUT",
      "/v1/admin/tenants/default/secrets",
      { OPENAI_API_KEY: "x" },
      admin,
    );
    expect(secrets.status, secrets.text).toBe(403);
    expect(secrets.json.error?.code).toBe("forbidden");
    expect(secrets.json.error?.message).toContain("configured by BGA_CONFIG");

    // Another tenant named like it: it exists already.
    const again = await h.request(
      "POST",
      "/v1/admin/tenants",
      { id: "default", config: withModelUrl("https://api.openai.com/v1") },
      admin,
    );
    expect(again.status).toBe(409);
    expect(again.json.error?.code).toBe("tenant_exists");

    const after = await h.request("GET", "/v1/admin/tenants", undefined, admin);
    expect(
      (after.json.tenants as { id: string; config: string }[]).find((t) => t.id === "default")?.config,
    ).toBe(configBefore);

    // What reads nothing of the environment stays open.
    const limits = await h.request(
      "PATCH",
      "/v1/admin/tenants/default/limits",
      { max_running_tasks: 30 },
      admin,
    );
    expect(limits.status, limits.text).toBe(200);
    const key = await h.request("POST", "/v1/admin/tenants/default/keys", {}, admin);
    expect(key.status, key.text).toBe(201);
  });

  it("other tenants' configs and secrets still change", async () => {
    const created = await h.request(
      "POST",
      "/v1/admin/tenants",
      { id: "changeable", config: withModelUrl("https://api.openai.com/v1") },
      admin,
    );
    expect(created.status, created.text).toBe(201);
    const config = await h.request(
      "PUT",
      "/v1/admin/tenants/changeable/config",
      { config: withMcpUrl("https://mcp.example.com/mcp") },
      admin,
    );
    expect(config.status, config.text).toBe(200);
    const secrets = await h.request("PUT", "/v1/admin/tenants/changeable/secrets", { A: "b" }, admin);
    expect(secrets.status, secrets.text).toBe(200);
  });
});

describe("a YAML alias bomb", () => {
  it("is refused saying it has too many aliases", async () => {
    const names = "abcdefghi";
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < names.length; i++) {
      const prev = names[i - 1];
      lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${prev}`).join(",")}]`);
    }
    const bomb = `${lines.join("\n")}\nagents:\n  root: { model: openai/gpt-4o }\n`;
    const res = await h.request("POST", "/v1/admin/tenants", { id: "laughs", config: bomb }, admin);
    expect(res.status, res.text).toBe(422);
    const [problem] = problemsOf(res);
    expect(problem?.path).toBe("(root)");
    expect(problem?.reason).toMatch(
      /^not valid YAML: too many aliases \(aliases may expand at most 100 nodes/,
    );
    // Aliases as real configs use them still load.
    const anchored = `models:\n  m: &m { provider: openai, model: gpt-4o }\n  n: *m\nagents:\n  root: { model: m, sub_agents: [w] }\n  w: { model: n }\n`;
    const fine = await h.request("POST", "/v1/admin/tenants", { id: "anchored", config: anchored }, admin);
    expect(fine.status, fine.text).toBe(201);
  });
});

describe("agent names", () => {
  it("with a control, format or space character are 422 naming the agent", async () => {
    const cases: [string, string, string][] = [
      ['"evil\\u202Etxt"', "agents.evil\\u202Etxt", "U+202E"],
      ['"nul\\0x"', "agents.nul\\u0000x", "U+0000"],
      ['"zero\\u200Bwidth"', "agents.zero\\u200Bwidth", "U+200B"],
      ['"new\\nline"', "agents.new\\u000Aline", "U+000A"],
      ['"two words"', "agents.two\\u0020words", "U+0020"],
    ];
    for (const [key, path, code] of cases) {
      const config = `agents:\n  root: { model: openai/gpt-4o, sub_agents: [ok] }\n  ok: { model: openai/gpt-4o }\n  ${key}: { model: openai/gpt-4o }\n`;
      const res = await h.request("POST", "/v1/admin/tenants", { id: "names", config }, admin);
      expect(res.status, key).toBe(422);
      expect(problemsOf(res), key).toEqual([
        {
          path,
          reason: `agent name holds ${code}, a control, format or space character; use letters, digits, _, - and .`,
        },
      ]);
    }
  });

  it("ordinary names pass: letters of any script, digits, _, - and .", async () => {
    const config = `agents:\n  root: { model: openai/gpt-4o, sub_agents: [web-researcher_2.v1, Écrivain, 研究员] }\n  web-researcher_2.v1: { model: openai/gpt-4o }\n  Écrivain: { model: openai/gpt-4o }\n  研究员: { model: openai/gpt-4o }\n`;
    const res = await h.request("POST", "/v1/admin/tenants", { id: "good-names", config }, admin);
    expect(res.status, res.text).toBe(201);
    expect(res.json.tenant).toMatchObject({ agents: ["root", "web-researcher_2.v1", "Écrivain", "研究员"] });
  });
});

describe("view_background_agent of a stopped task", () => {
  async function view(id: string): Promise<string> {
    const res = await h.request("POST", "/v1/tools/view_background_agent", { task_id: id });
    return (res.json.content as { text: string }[])[0]?.text ?? "";
  }

  it("shows the output it kept, then <task was stopped>", async () => {
    let release = () => {};
    const hold = new Promise<void>((r) => {
      release = r;
    });
    fake.enqueue({ text: ["first words ", "more words", " never sent"], holdAfter: 2, hold });
    const task = await h.run("worker", "talk, then be stopped");
    await h.waitFor(task.id, (t) => t.output_bytes >= "first words more words".length);
    const stop = await h.request("POST", `/v1/tasks/${task.id}/stop`);
    expect(stop.json.status).toBe("stopped");
    release();
    const text = await view(task.id);
    expect(text).toMatch(
      new RegExp(
        `^Task ID: ${task.id}\\nAgent: worker\\nStatus: stopped\\nRuntime: .+\\n--- Output ---\\nfirst words more words\\n<task was stopped>$`,
      ),
    );
  });

  it("bounds what it shows as for a running task: the newest 32 KiB, saying what it left out", async () => {
    let release = () => {};
    const hold = new Promise<void>((r) => {
      release = r;
    });
    const parts = ["a".repeat(20_000), "b".repeat(20_000), "c".repeat(10_000)];
    fake.enqueue({ text: [...parts, "never sent"], holdAfter: 3, hold });
    const task = await h.run("worker", "talk a lot, then be stopped");
    await h.waitFor(task.id, (t) => t.output_bytes >= 50_000);
    await h.request("POST", `/v1/tasks/${task.id}/stop`);
    release();
    const text = await view(task.id);
    const body = text.slice(text.indexOf("--- Output ---\n") + "--- Output ---\n".length);
    expect(body).toMatch(
      new RegExp(
        `^\\[\\d+ bytes of earlier output left out; GET /v1/tasks/${task.id}/output has all of it\\]\\na+b{20000}c{10000}\\n<task was stopped>$`,
      ),
    );
    const shown = body.slice(body.indexOf("\n") + 1, body.lastIndexOf("\n"));
    expect(Buffer.byteLength(shown)).toBeLessThanOrEqual(32 * 1024);
    const omitted = Number(/^\[(\d+) bytes/.exec(body)?.[1]);
    expect(omitted + Buffer.byteLength(shown)).toBe(50_000);
  });

  it("with no output still says only <task was stopped>", async () => {
    let release = () => {};
    const hold = new Promise<void>((r) => {
      release = r;
    });
    fake.enqueue({ text: ["never sent"], holdAfter: 0, hold });
    const task = await h.run("worker", "be stopped at once");
    await h.waitFor(task.id, (t) => t.status === "running");
    await h.request("POST", `/v1/tasks/${task.id}/stop`);
    release();
    expect(await view(task.id)).toMatch(/\n--- Output ---\n<task was stopped>$/);
  });
});

describe("a nested wait_background_agents", () => {
  const nested = (url: string) => `
models:
  mgr: { provider: openai, model: m-manager, base_url: "${url}" }
  wrk: { provider: openai, model: m-worker, base_url: "${url}" }
agents:
  root: { model: mgr, sub_agents: [manager, worker] }
  manager:
    model: mgr
    sub_agents: [worker]
    toolsets: [{ type: background_agents }]
  worker: { model: wrk }
`;
  const as = { authorization: "" };

  async function run(agent: string, task: string): Promise<Task> {
    const res = await h.request("POST", "/v1/tasks", { agent, task }, as);
    if (res.status !== 201) throw new Error(res.text);
    return res.json as unknown as Task;
  }

  /** The tenant's task once `done` holds (the harness's poll, with this tenant's key). */
  const until = (id: string, done: (t: Task) => boolean) => h.waitFor(id, done, 20_000, as);

  function lastToolText(req: RecordedRequest): string {
    const messages = req.body.messages as { role: string; content: string }[];
    return [...messages].reverse().find((m) => m.role === "tool")?.content ?? "";
  }

  beforeAll(async () => {
    const created = await h.request(
      "POST",
      "/v1/admin/tenants",
      { id: "nested", config: nested(fake.url) },
      admin,
    );
    expect(created.status, created.text).toBe(201);
    as.authorization = `Bearer ${String(created.json.api_key)}`;
  });

  it("refuses a task that is not the agent's own child as `task not found`", async () => {
    fake.enqueueFor("m-worker", { text: "someone else's result" });
    const other = await run("worker", "not the manager's");
    await until(other.id, (t) => t.status === "completed");
    fake.enqueueFor(
      "m-manager",
      {
        toolCalls: [{ name: "wait_background_agents", arguments: JSON.stringify({ task_ids: [other.id] }) }],
      },
      (req) => ({ text: `manager saw: ${lastToolText(req)}` }),
    );
    const manager = await run("manager", "wait on another task");
    const done = await until(manager.id, (t) => t.status === "completed");
    expect(done.result).toBe(`manager saw: task not found: ${other.id}`);
  });

  it("is capped by what is left of the step's budget", async () => {
    const tenant = await h.runtime.tenants.get("nested");
    if (!tenant) throw new Error("no tenant");
    let release = () => {};
    const hold = new Promise<void>((r) => {
      release = r;
    });
    fake.enqueueFor("m-manager", { text: ["managing", "..."], holdAfter: 1, hold });
    fake.enqueueFor("m-worker", { text: ["working", "..."], holdAfter: 1, hold });
    const parent = await run("manager", "the parent");
    const ctx = {
      tenant,
      caller: "manager",
      service: h.runtime.service,
      parent: { id: parent.id, depth: 1 },
      maxWaitSeconds: 1,
    };
    const started = await callTool("run_background_agent", { agent: "worker", task: "a child" }, ctx);
    const childId = String((started.structuredContent as { id: string }).id);
    await until(childId, (t) => t.status === "running");
    const t0 = Date.now();
    const waited = await callTool("wait_background_agents", { task_ids: [childId], timeout: 840 }, ctx);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(waited.isError).toBe(false);
    expect(waited.structuredContent).toMatchObject({
      all_done: false,
      timed_out: true,
      tasks: [{ task_id: childId, status: "running", done: false }],
    });
    // Its own child it may wait on; another task of the tenant it may not, like another tenant's.
    const foreign = await callTool("wait_background_agents", { task_ids: [childId, parent.id] }, ctx);
    expect(foreign).toMatchObject({ isError: true, content: [{ text: `task not found: ${parent.id}` }] });
    await h.request("POST", `/v1/tasks/${parent.id}/stop`, undefined, as);
    release();
  });
});

describe("resuming after a restart", () => {
  const started: string[] = [];
  const recorder = {
    start: async ({ taskId }: { taskId: string }) => {
      started.push(taskId);
    },
    stop: async () => {},
    describe: async () => "missing" as const,
  } satisfies Partial<Executions>;
  let runtime: LocalRuntime;

  beforeAll(async () => {
    // Executions that only record: the tasks stay pending, as after a crash.
    runtime = await createLocalRuntime({
      dynamodbEndpoint: inject("dynamodbEndpoint"),
      tableName: `bga-resume-${randomUUID()}`,
      defaultTenant: {
        config: withModelUrl("https://api.openai.com/v1"),
        apiKey: "resume-key-0123456789",
        limits: { max_running_tasks: 5000 },
        env: {},
      },
      executions: recorder,
      log: createLogger("silent"),
    });
  });
  afterAll(async () => {
    await runtime.close();
  });

  async function startTasks(count: number): Promise<string[]> {
    const tenant = await runtime.tenants.get("default");
    if (!tenant) throw new Error("no tenant");
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < count) {
          next++;
          const { task } = await runtime.service.run({ tenant, caller: "root", agent: "x", task: "t" });
          ids.push(task.id);
        }
      }),
    );
    return ids;
  }

  it("starts every pending and running task again, page after page", async () => {
    const ids = await startTasks(7);
    for (const id of ids.slice(0, 3)) await runtime.repo.transition("default", id, "running");
    started.length = 0;
    const resumed = await runtime.resumeInterrupted({ pageSize: 2 });
    expect([...resumed].sort()).toEqual([...ids].sort());
    expect([...started].sort()).toEqual([...ids].sort());
  });

  it("resumes more than 1 000 tasks of one tenant", async () => {
    const before = await runtime.resumeInterrupted();
    const ids = await startTasks(1001); // all pending: one status holds more than 1 000
    started.length = 0;
    const resumed = await runtime.resumeInterrupted();
    expect(resumed).toHaveLength(before.length + 1001);
    expect(new Set(resumed)).toEqual(new Set([...before, ...ids]));
  }, 120_000);
});
