import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../support/harness.js";

/** GET /v1/agents (SPEC §4): the agents the caller may run, which the console's Run form offers. */
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

describe("GET /v1/agents", () => {
  it("lists the caller's sub_agents with their description and kind", async () => {
    const res = await h.request("GET", "/v1/agents");
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      agents: [
        { name: "worker", description: "does one thing", kind: "model" },
        { name: "thinker", description: "", kind: "model" },
      ],
    });
  });

  it("answers for the caller of X-Caller-Agent: an agent with no sub_agents may run none", async () => {
    const res = await h.request("GET", "/v1/agents", undefined, { "x-caller-agent": "worker" });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ agents: [] });
  });

  it("needs a key, and is GET only", async () => {
    const anonymous = await h.runtime.app.request("/v1/agents");
    expect(anonymous.status).toBe(401);
    const post = await h.request("POST", "/v1/agents", {});
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET");
  });

  it("is described in the OpenAPI document", async () => {
    const res = await h.request("GET", "/openapi.json");
    const paths = (res.json as { paths: Record<string, unknown> }).paths;
    expect(Object.keys(paths["/v1/agents"] as object)).toEqual(["get"]);
  });
});
