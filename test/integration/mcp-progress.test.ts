import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { CallToolResultSchema, ErrorCode, McpError, type Progress } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeOpenAI } from "../support/fake-openai.js";
import { API_KEY, type Harness, startHarness } from "../support/harness.js";
import { mcpClient, textOf } from "../support/mcp-client.js";

// Progress while waiting (SPEC §11, issue 14): a client with a 5 s request time-out that resets
// on progress waits 20 s for a task, through wait_background_agents and through tasks/result,
// because the server sends notifications/progress (every 2 s) on the request's SSE stream.

const CLIENT_TIMEOUT_MS = 5000;
const HELD_MS = 20_000;

let fake: FakeOpenAI;
let h: Harness;
let client: Client;

beforeAll(async () => {
  fake = await new FakeOpenAI().start();
  h = await startHarness({ fake });
  client = await mcpClient(h, API_KEY);
});
afterAll(async () => {
  await client.close();
  await h.close();
  await fake.close();
});
beforeEach(() => fake.reset());

/** Starts a worker task whose model stops after its first line until release(). */
async function heldTask(firstLine: string) {
  let release = () => {};
  const hold = new Promise<void>((r) => {
    release = r;
  });
  fake.enqueue({ text: [`${firstLine}\n`, "done at last"], holdAfter: 1, hold });
  const task = await h.run("worker", "take your time");
  await h.waitFor(task.id, (t) => t.output_bytes > 0);
  return { id: task.id, release };
}

describe("progress notifications while an MCP request waits", () => {
  it("a 5 s client time-out with resetTimeoutOnProgress waits 20 s, via wait_background_agents and via tasks/result", async () => {
    const viaWait = await heldTask("working on the wait");
    const viaResult = await heldTask("working on the result");
    const order: string[] = [];
    const waitProgress: Progress[] = [];
    const resultProgress: Progress[] = [];
    const options = (into: Progress[]) => ({
      timeout: CLIENT_TIMEOUT_MS,
      resetTimeoutOnProgress: true,
      onprogress: (p: Progress) => into.push(p),
    });

    const waited = client
      .callTool(
        { name: "wait_background_agents", arguments: { task_ids: [viaWait.id], timeout: 120 } },
        CallToolResultSchema,
        options(waitProgress),
      )
      .finally(() => order.push("wait answered"));
    const result = client.experimental.tasks
      .getTaskResult(viaResult.id, CallToolResultSchema, options(resultProgress))
      .finally(() => order.push("result answered"));

    // The model is released only after 20 s: four times the client's time-out.
    await new Promise((r) => setTimeout(r, HELD_MS));
    order.push("released");
    viaWait.release();
    viaResult.release();

    const [w, r] = await Promise.all([waited, result]);
    expect(order[0]).toBe("released");
    expect(order.slice(1).sort()).toEqual(["result answered", "wait answered"]);

    const json = JSON.parse(textOf(w)) as { all_done: boolean; tasks: { status: string; output: string }[] };
    expect(json).toMatchObject({ all_done: true, timed_out: false });
    expect(json.tasks[0]).toMatchObject({ status: "completed", output: "working on the wait\ndone at last" });
    expect(r.isError).toBe(false);
    expect(textOf(r)).toContain("working on the result\ndone at last");

    // Progress came all along (every 2 s over 20 s), growing, with what the wait knew.
    for (const progress of [waitProgress, resultProgress]) {
      expect(progress.length).toBeGreaterThanOrEqual(5);
      for (let i = 1; i < progress.length; i++) {
        expect(progress[i]?.progress).toBeGreaterThan(progress[i - 1]?.progress ?? 0);
      }
    }
    expect(waitProgress[0]).toMatchObject({ message: "0 of 1 tasks done", total: 120 });
    expect(resultProgress[0]).toMatchObject({ message: "working on the result", total: 840 });
  }, 60_000);

  it("without resetTimeoutOnProgress the same 5 s time-out cuts the wait (the notifications are what keep it)", async () => {
    const task = await heldTask("slow");
    try {
      const err = await client.experimental.tasks
        .getTaskResult(task.id, CallToolResultSchema, { timeout: CLIENT_TIMEOUT_MS, onprogress: () => {} })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(McpError);
      expect((err as McpError).code).toBe(ErrorCode.RequestTimeout);
    } finally {
      task.release();
    }
    await h.waitFor(task.id);
  }, 30_000);

  it("a client that goes away ends the wait: the server stops reading the task", async () => {
    const task = await heldTask("nobody waits for me");
    const app = h.runtime.app;
    const server = await new Promise<ReturnType<typeof serve>>((done) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => done(s));
    });
    const reads = vi.spyOn(h.runtime.repo, "statuses");
    const readsOfTask = () => reads.mock.calls.filter(([, ids]) => ids.includes(task.id)).length;
    try {
      const aborter = new AbortController();
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${API_KEY}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-protocol-version": "2025-11-25",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tasks/result", params: { taskId: task.id } }),
        signal: aborter.signal,
      });
      expect(res.headers.get("content-type")).toContain("text/event-stream");
      await vi.waitFor(() => expect(readsOfTask()).toBeGreaterThanOrEqual(3));
      aborter.abort();
      // Settles: no read of the task over ten poll intervals.
      await vi.waitFor(
        async () => {
          const before = readsOfTask();
          await new Promise((r) => setTimeout(r, 300));
          expect(readsOfTask()).toBe(before);
        },
        { timeout: 5000, interval: 0 },
      );
      expect((await h.getTask(task.id)).status).toBe("running");
    } finally {
      reads.mockRestore();
      task.release();
      (server as Server).closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    }
    await h.waitFor(task.id);
  });

  it("without a progress token the answer is JSON, as before; with one it is an SSE stream", async () => {
    const task = await h.run("worker", "quick");
    await h.waitFor(task.id);
    const call = (meta: Record<string, unknown>) =>
      h.request(
        "POST",
        "/mcp",
        {
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: {
            name: "wait_background_agents",
            arguments: { task_ids: [task.id], timeout: 1 },
            ...meta,
          },
        },
        { accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" },
      );
    const plain = await call({});
    expect(plain.headers.get("content-type")).toContain("application/json");
    expect((plain.json as { result: { isError: boolean } }).result.isError).toBe(false);
    const streamed = await call({ _meta: { progressToken: "p1" } });
    expect(streamed.headers.get("content-type")).toContain("text/event-stream");
    const data = streamed.text
      .split("\n")
      .filter((l) => l.startsWith("data: "))
      .map((l) => JSON.parse(l.slice(6)) as { id?: number; result?: { isError: boolean } });
    expect(data.at(-1)).toMatchObject({ id: 1, result: { isError: false } });
  });
});
