import { describe, expect, it } from "vitest";
import { TasksClient } from "../../cli/client.js";
import { ApiError, ConnectionError } from "../../cli/errors.js";
import { followTask } from "../../cli/follow.js";
import type { Task } from "../../shared/domain/task.js";
import { COMPLETED_TASK } from "../support/task-fixture.js";

const task = COMPLETED_TASK;

const noop = { onChunk: () => {}, onStatus: () => {} };

describe("followTask's give-up rules (no server: fetch is scripted)", () => {
  it("does not retry a 4xx: the error body is thrown as ApiError", async () => {
    let calls = 0;
    const client = new TasksClient({
      endpoint: "http://bga.invalid",
      token: "k",
      fetch: async () => {
        calls++;
        return Response.json(
          { error: { code: "task_not_found", message: "task not found: x" } },
          { status: 404 },
        );
      },
    });
    const err = await followTask(client, "x", noop, { retryDelayMs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404, code: "task_not_found", message: "task not found: x" });
    expect(calls).toBe(1);
  });

  it("retries a refused connection and gives up after maxRetries with a ConnectionError", async () => {
    let calls = 0;
    const client = new TasksClient({
      endpoint: "http://bga.invalid",
      token: "k",
      fetch: async () => {
        calls++;
        throw new TypeError("fetch failed", {
          cause: Object.assign(new Error("refused"), { code: "ECONNREFUSED" }),
        });
      },
    });
    const err = await followTask(client, "x", noop, { retryDelayMs: 1, maxRetries: 3 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectionError);
    expect(String((err as Error).message)).toContain("ECONNREFUSED");
    expect(calls).toBe(4);
  });

  it("reconnects with Last-Event-ID when a stream ends before the task did, skipping repeats", async () => {
    const sent: (string | null)[] = [];
    const running = { ...task, status: "running" as const, runtime_ms: null, ended_at: null, result: null };
    const chunk = (seq: number, text: string) =>
      `id: ${seq}\nevent: chunk\ndata: ${JSON.stringify({ seq, kind: "text", text, at: task.created_at })}\n\n`;
    const status = (t: Task) => `event: status\ndata: ${JSON.stringify({ status: t.status, task: t })}\n\n`;
    const bodies = [
      status(running) + chunk(1, "a") + chunk(2, "b"),
      status(running) + chunk(2, "b") + chunk(3, "c") + status({ ...task, last_seq: 3 }),
    ];
    const client = new TasksClient({
      endpoint: "http://bga.invalid",
      token: "k",
      fetch: async (_url, init) => {
        sent.push(new Headers(init?.headers).get("last-event-id"));
        return new Response(bodies.shift() ?? "", { headers: { "content-type": "text/event-stream" } });
      },
    });
    const texts: string[] = [];
    const final = await followTask(
      client,
      "x",
      { ...noop, onChunk: (c) => texts.push(c.text) },
      { retryDelayMs: 1 },
    );
    expect(final.status).toBe("completed");
    expect(texts).toEqual(["a", "b", "c"]);
    expect(sent).toEqual([null, "2"]);
  });
});
