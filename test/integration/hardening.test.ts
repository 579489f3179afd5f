import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeOpenAI } from "../support/fake-openai.js";
import { ADMIN_TOKEN, API_KEY, type Harness, startHarness } from "../support/harness.js";

// Issue 11: bad input that got a 500, each answered with a clear 4xx now (SPEC §4: never a 500).
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

describe("bad input is a clear 4xx, never a 500", () => {
  it("metadata keys named like Object.prototype members are plain keys", async () => {
    for (const key of ["constructor", "toString", "hasOwnProperty"]) {
      const res = await h.request("POST", "/v1/tasks", {
        agent: "worker",
        task: "x",
        metadata: JSON.parse(`{"${key}": "z"}`),
      });
      expect(res.status, `${key}: ${res.text}`).toBe(201);
      expect((res.json as { metadata: Record<string, string> }).metadata).toEqual(
        JSON.parse(`{"${key}": "z"}`),
      );
    }
  });

  it("a `__proto__` name (metadata key, secret name) is refused by name, not dropped without a word", async () => {
    const task = await h.request("POST", "/v1/tasks", {
      agent: "worker",
      task: "x",
      metadata: JSON.parse('{"__proto__": "z"}'),
    });
    expect(task.status).toBe(400);
    expect(task.text).toContain("__proto__ is not allowed as a name");
    const secrets = await h.request(
      "PUT",
      "/v1/admin/tenants/default/secrets",
      JSON.parse('{"__proto__": "v", "OK": "w"}'),
      admin,
    );
    expect(secrets.status).toBe(400);
    expect(secrets.text).toContain("__proto__ is not allowed as a name");
  });

  it("a tenant config whose stored form would pass DynamoDB's 400 KB item limit is refused, bytes counted", async () => {
    // 200 000 characters of "é": within a character limit, 400 000 bytes of UTF-8.
    const instruction = "é".repeat(200_000);
    const config = `agents:\n  root:\n    model: openai/gpt-4o\n    instruction: "${instruction}"\n`;
    const res = await h.request("POST", "/v1/admin/tenants", { id: "huge", config }, admin);
    expect(res.status, res.text).toBe(413);
    expect(res.json).toMatchObject({ error: { code: "config_too_large" } });
    expect((res.json as { error: { message: string } }).error.message).toMatch(/at most 358400 bytes fit/);
    // The same for a config replaced later, and for a YAML with thousands of agents. (Not the
    // default tenant's: BGA_CONFIG sets that one, and the admin API may not change it.)
    const small = "agents:\n  root: { model: openai/gpt-4o }\n";
    const later = await h.request("POST", "/v1/admin/tenants", { id: "huge-later", config: small }, admin);
    expect(later.status, later.text).toBe(201);
    const agents = Array.from({ length: 6000 }, (_, i) => `  a${i}: { model: openai/gpt-4o }`);
    const many = `agents:\n  root: { model: openai/gpt-4o }\n${agents.join("\n")}\n`;
    const replaced = await h.request("PUT", "/v1/admin/tenants/huge-later/config", { config: many }, admin);
    expect(replaced.status, replaced.text).toBe(413);
  });
});

describe("a request body over 1 MiB", () => {
  it("gets 413 with Connection: close, and the client's next requests on new connections all succeed", async () => {
    const { serve } = await import("@hono/node-server");
    const server = await new Promise<ReturnType<typeof serve>>((done) => {
      const s = serve({ fetch: h.runtime.app.fetch, port: 0, hostname: "127.0.0.1" }, () => done(s));
    });
    const { port } = server.address() as import("node:net").AddressInfo;
    const base = `http://127.0.0.1:${port}`;
    try {
      const big = await fetch(`${base}/v1/tasks`, {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ agent: "worker", task: "x".repeat(2 * 1024 * 1024) }),
      });
      expect(big.status).toBe(413);
      expect(big.headers.get("connection")).toBe("close");
      await big.text();
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await fetch(`${base}/healthz`)).status);
      expect(statuses).toEqual(Array(20).fill(200));
    } finally {
      server.close();
    }
  });
});
