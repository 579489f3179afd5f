import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createLocalRuntime, type LocalRuntime } from "../../local/runtime.js";
import { INTERRUPTED_HARNESS_ERROR } from "../../shared/harness/repository-channel.js";
import { createLogger } from "../../shared/logger.js";
import type { Executions } from "../../shared/ports.js";

/**
 * A restart of `npm start` (SPEC §9): a harness task that was running when the server stopped
 * ends failed with a clear error (a coding CLI's run is not resumed); model tasks are resumed.
 */

const config = `
agents:
  root:
    model: openai/gpt-4o-mini
    sub_agents: [coder, worker]
  coder:
    harness: {type: claude-code}
  worker:
    model: openai/gpt-4o-mini
`;
const tableName = `bga-test-${randomUUID()}`;
const started: { taskId: string; kind?: string | undefined }[] = [];
const recording: Executions = {
  start: async (input) => {
    started.push({ taskId: input.taskId, kind: input.kind });
  },
  stop: async () => {},
  describe: async () => "missing",
};
let first: LocalRuntime;
let second: LocalRuntime;

const runtime = (executions?: Executions) =>
  createLocalRuntime({
    dynamodbEndpoint: inject("dynamodbEndpoint"),
    tableName,
    defaultTenant: { config, apiKey: "restart-key-0123456789abcdef", env: {} },
    log: createLogger("silent"),
    ...(executions ? { executions } : {}),
  });

beforeAll(async () => {
  first = await runtime(recording);
}, 60_000);

afterAll(async () => {
  await first?.close();
  await second?.close();
});

describe("a restart", () => {
  it("fails a harness task cut off while running, and starts executions with the agent kind", async () => {
    const run = (agent: string) =>
      first.app.request("/v1/tasks", {
        method: "POST",
        headers: { authorization: "Bearer restart-key-0123456789abcdef", "content-type": "application/json" },
        body: JSON.stringify({ agent, task: "do it" }),
      });
    const coder = (await (await run("coder")).json()) as { id: string };
    const worker = (await (await run("worker")).json()) as { id: string };
    // The execution input carries the agent kind, where the state machine branches on it.
    expect(started).toEqual([
      { taskId: coder.id, kind: "harness" },
      { taskId: worker.id, kind: "model" },
    ]);
    // Both were running when the server stopped (kill -9: nothing ended them).
    await first.repo.transition("default", coder.id, "running");
    await first.repo.transition("default", worker.id, "running");

    started.length = 0;
    second = await runtime(recording);
    const resumed = await second.resumeInterrupted();
    expect(resumed).toEqual([worker.id]);
    expect(started).toEqual([{ taskId: worker.id, kind: "model" }]);
    const task = await second.repo.get("default", coder.id, true);
    expect(task?.status).toBe("failed");
    expect(task?.error).toBe(INTERRUPTED_HARNESS_ERROR);
  }, 60_000);
});
