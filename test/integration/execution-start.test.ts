import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createLocalRuntime, type LocalRuntime } from "../../local/runtime.js";
import { createLogger } from "../../shared/logger.js";
import { API_KEY, testConfig } from "../support/harness.js";

let runtime: LocalRuntime;
let starts = 0;

beforeAll(async () => {
  runtime = await createLocalRuntime({
    dynamodbEndpoint: inject("dynamodbEndpoint"),
    tableName: `bga-start-${randomUUID()}`,
    defaultTenant: {
      config: testConfig("http://127.0.0.1:9/v1"),
      apiKey: API_KEY,
      limits: { max_running_tasks: 1 },
      env: {},
    },
    log: createLogger("silent"),
    executions: {
      start: async () => {
        starts += 1;
        throw new Error("ThrottlingException: rate exceeded (after the SDK's retries)");
      },
      stop: async () => {},
      describe: async () => "missing" as const,
    },
  });
});
afterAll(() => runtime.close());

describe("a task whose execution cannot be started", () => {
  it("ends failed with a clear error and frees its slot — never stays pending", async () => {
    const post = () =>
      runtime.app.request("/v1/tasks", {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ agent: "worker", task: "x" }),
      });
    const res = await post();
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("execution_start_failed");
    const id = /task (agent_task_\S+) could not be started/.exec(body.error.message)?.[1] ?? "";
    const task = await runtime.repo.get("default", id);
    expect(task).toMatchObject({
      status: "failed",
      error: "the task's execution could not be started; please try again",
    });
    // The one slot (max_running_tasks: 1) was freed: the next run is admitted, not 429.
    expect(await runtime.repo.runningCount("default")).toBe(0);
    expect((await post()).status).toBe(503);
    expect(starts).toBe(2);
  });
});
