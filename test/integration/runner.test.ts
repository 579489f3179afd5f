import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { INTERRUPTED_TURN_NOTICE } from "../../shared/use-cases/run-agent.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import { type Harness, startHarness } from "../support/harness.js";

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

function expectContiguous(chunks: { seq: number }[]) {
  expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i + 1));
}

describe("a sub-agent run through the local state machine", () => {
  it("streams text into batched chunks, counts usage and ends with the last assistant message", async () => {
    fake.enqueue({
      text: Array.from({ length: 20 }, (_, i) => `w${i} `),
      delayMs: 25,
      usage: { prompt_tokens: 42, completion_tokens: 20 },
    });
    const task = await h.run("worker", "say twenty words", { expected_output: "twenty words" });
    expect(task.status).toBe("pending");
    expect(task.id).toMatch(/^agent_task_[A-Za-z0-9_-]{22}$/);

    // Live output while the model still speaks.
    const live = await h.waitFor(task.id, (t) => t.last_seq > 0);
    expect(live.status).toBe("running");

    const done = await h.waitForStatus(task.id, "completed");
    const expected = Array.from({ length: 20 }, (_, i) => `w${i} `).join("");
    expect(done.result).toBe(expected);
    expect(done.usage).toEqual({ input_tokens: 42, output_tokens: 20, model_calls: 1, tool_calls: 0 });
    expect(done.runtime_ms).toBeGreaterThan(0);
    expect(done.started_at).not.toBeNull();
    expect(done.ended_at).not.toBeNull();

    const chunks = await h.allChunks(task.id);
    expectContiguous(chunks);
    expect(chunks.map((c) => c.text).join("")).toBe(expected);
    // 20 deltas over ~500 ms with a 100 ms flush interval: batched, never a chunk per token.
    expect(chunks.length).toBeLessThan(20);
    expect(done.output_bytes).toBe(Buffer.byteLength(expected));
    expect(done.last_seq).toBe(chunks.length);

    // The prompt: the agent's instruction, then the task and the expected output.
    const sent = fake.requests[0]?.body.messages as { role: string; content: string }[];
    expect(sent[0]).toEqual({ role: "system", content: "You are a worker." });
    expect(sent[1]?.content).toContain("say twenty words");
    expect(sent[1]?.content).toContain("Expected output: twenty words");
    expect(fake.requests[0]?.body.stream).toBe(true);
  });

  it("runs tool calls (think) and shows them as tool_call / tool_result chunks", async () => {
    fake.enqueue(
      { text: "Let me think.", toolCalls: [{ name: "think", arguments: '{"thought":"plan the answer"}' }] },
      { text: "The answer is 42." },
    );
    const task = await h.run("thinker", "what is the answer?");
    const done = await h.waitForStatus(task.id, "completed");
    expect(done.result).toBe("The answer is 42.");
    expect(done.usage.model_calls).toBe(2);
    expect(done.usage.tool_calls).toBe(1);

    const chunks = await h.allChunks(task.id);
    expectContiguous(chunks);
    expect(chunks.map((c) => c.kind)).toEqual(["text", "tool_call", "tool_result", "text"]);
    expect(chunks[1]?.text).toBe('think({"thought":"plan the answer"})');
    expect(chunks[2]?.text).toBe("Thought recorded.");

    expect(fake.requests).toHaveLength(2);
    const tools = fake.requests[0]?.body.tools as { function: { name: string } }[];
    expect(tools.map((t) => t.function.name)).toEqual(["think"]);
    const second = fake.requests[1]?.body.messages as { role: string; tool_call_id?: string }[];
    expect(second.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool"]);
    expect(second[3]?.tool_call_id).toBe("call_1_0");
  });

  it("fails the task with the provider's message when the model rejects the request", async () => {
    fake.enqueue({ status: 400 });
    const task = await h.run("worker", "bad request");
    const done = await h.waitForStatus(task.id, "failed");
    expect(done.error).toContain("model provider answered 400");
    expect(done.ended_at).not.toBeNull();
    // A permanent error is not retried.
    expect(fake.requests).toHaveLength(1);
  });

  it("retries a provider 5xx through the state machine, then fails with a clear error", async () => {
    fake.setFallback({ status: 503 });
    const task = await h.run("worker", "server keeps failing");
    const done = await h.waitForStatus(task.id, "failed", 30_000);
    expect(done.error).toContain("model provider answered 503");
    // SDK retries are off in the harness: 1 attempt + the definition's 6 step retries.
    expect(fake.requests).toHaveLength(7);
  });

  it("a crashed step is retried and goes on without duplicate or missing chunks", async () => {
    fake.enqueue(
      // turn 1 finishes and is checkpointed
      { text: "step one. ", toolCalls: [{ name: "think", arguments: '{"thought":"next"}' }] },
      // turn 2 crashes mid-stream after some output was flushed
      { text: ["partial ", "output ", "then ", "crash"], delayMs: 150, dropAfter: 3 },
      // the retried step runs turn 2 again from the checkpoint
      { text: "final answer" },
    );
    const task = await h.run("thinker", "survive a crash");
    const done = await h.waitForStatus(task.id, "completed");
    expect(done.result).toBe("final answer");

    const chunks = await h.allChunks(task.id);
    expectContiguous(chunks);
    expect(new Set(chunks.map((c) => c.seq)).size).toBe(chunks.length);
    const texts = chunks.map((c) => c.text);
    expect(texts).toContain(INTERRUPTED_TURN_NOTICE);
    // The output the crashed turn had already streamed is kept exactly once, before the notice.
    const notice = texts.indexOf(INTERRUPTED_TURN_NOTICE);
    expect(texts.slice(0, notice).join("")).toContain("partial output then");
    expect(texts.slice(notice + 1).join("")).toBe("final answer");

    // The retried turn resent the checkpointed conversation, not a duplicate of it.
    expect(fake.requests).toHaveLength(3);
    expect(fake.requests[2]?.body.messages).toEqual(fake.requests[1]?.body.messages);
    expect(done.usage.model_calls).toBe(3);
  });

  it("stop mid-stream: recorded first, no chunk after it, the model call aborted, no further call", async () => {
    fake.enqueue({ text: Array.from({ length: 400 }, (_, i) => `t${i} `), delayMs: 20 });
    const task = await h.run("worker", "talk for a long time");
    await h.waitFor(task.id, (t) => t.last_seq >= 2);
    const stop = await h.request("POST", `/v1/tasks/${task.id}/stop`);
    expect(stop.status).toBe(200);
    expect(stop.json.status).toBe("stopped");
    // Chunks are appended only while the task is running: what the stop recorded is the last seq.
    const seqAtStop = Number(stop.json.last_seq);
    expect(seqAtStop).toBeGreaterThanOrEqual(2);

    // The step notices the stop at its next flush, halts its writer and aborts the model call:
    // the request ends cut off (400 deltas were scripted), not finished.
    await vi.waitFor(() => expect(fake.requests[0]?.endedAt).toBeDefined(), { timeout: 15_000 });
    expect(fake.requests[0]?.aborted).toBe(true);
    const after = await h.getTask(task.id);
    expect(after.status).toBe("stopped");
    expect(after.last_seq).toBe(seqAtStop);
    expect(after.ended_at).toBe(stop.json.ended_at);
    expect(fake.requests).toHaveLength(1);
    const chunks = await h.allChunks(task.id);
    expect(chunks).toHaveLength(seqAtStop);
    expectContiguous(chunks);

    // A finished task never changes again.
    const again = await h.request("POST", `/v1/tasks/${task.id}/stop`);
    expect(again.status).toBe(409);
    expect(again.json.error?.code).toBe("task_not_running");
    expect(again.json.error?.message).toBe(`task ${task.id} is not running (status: stopped)`);
  });

  it("notices a stop while the model is silent (no output to flush)", async () => {
    // two deltas 3 s apart: a call that ran to its end would finish, not be aborted
    fake.enqueue({ text: ["slow start", " never"], delayMs: 3000 });
    const task = await h.run("worker", "think silently");
    await h.waitForStatus(task.id, "running");
    await vi.waitFor(() => expect(fake.requests).toHaveLength(1));
    const stop = await h.request("POST", `/v1/tasks/${task.id}/stop`);
    expect(stop.json.status).toBe("stopped");
    await vi.waitFor(() => expect(fake.requests[0]?.endedAt).toBeDefined(), { timeout: 15_000 });
    expect(fake.requests[0]?.aborted).toBe(true);
    expect(fake.requests).toHaveLength(1);
    const after = await h.getTask(task.id);
    expect(after.status).toBe("stopped");
    expect(after.last_seq).toBe(0);
    expect(await h.allChunks(task.id)).toEqual([]);
  });
});

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("first output of a turn", () => {
  it("is written at once, not at the next timed flush: each turn's first text is readable while the model still holds the rest", async () => {
    // Timed flushes a minute apart: only the first-text flush can make a chunk readable mid-turn.
    const slow = await startHarness({ fake, runner: { flushIntervalMs: 60_000 } });
    try {
      const turn1 = gate();
      const turn2 = gate();
      fake.enqueue(
        {
          text: ["first ", "words"],
          holdAfter: 1,
          hold: turn1.promise,
          toolCalls: [{ name: "think", arguments: '{"thought":"t"}' }],
        },
        { text: ["second ", "turn"], holdAfter: 1, hold: turn2.promise },
      );
      const task = await slow.run("thinker", "two turns");
      await vi.waitFor(async () =>
        expect((await slow.allChunks(task.id)).map((c) => c.text)).toEqual(["first "]),
      );
      turn1.resolve();
      await vi.waitFor(async () => expect((await slow.allChunks(task.id)).at(-1)?.text).toBe("second "));
      expect((await slow.getTask(task.id)).status).toBe("running");
      turn2.resolve();
      const done = await slow.waitForStatus(task.id, "completed");
      expect(done.result).toBe("second turn");
      const texts = (await slow.allChunks(task.id)).filter((c) => c.kind === "text").map((c) => c.text);
      expect(texts).toEqual(["first ", "words", "second ", "turn"]);
    } finally {
      await slow.close();
    }
  });
});

describe("time budgets and limits", () => {
  it("a task longer than one runner time budget goes on in the next step from its checkpoint", async () => {
    const budgeted = await startHarness({
      fake,
      runner: { budgetMs: 1 },
    });
    // Same fake model, a 1 ms budget: every step runs exactly one turn, then the state machine loops.
    try {
      const turns = 4;
      for (let i = 0; i < turns - 1; i++) {
        fake.enqueue({
          text: `turn ${i}. `,
          toolCalls: [{ name: "think", arguments: `{"thought":"t${i}"}` }],
        });
      }
      fake.enqueue({ text: "done after four turns" });
      const task = await budgeted.run("thinker", "four turns please");
      const done = await budgeted.waitForStatus(task.id, "completed");
      expect(done.result).toBe("done after four turns");
      expect(done.usage.model_calls).toBe(turns);
      // Each request carries the whole conversation so far, rebuilt from the checkpoint.
      expect(fake.requests.map((r) => r.body.messages.length)).toEqual([2, 4, 6, 8]);
      const chunks = await budgeted.allChunks(task.id);
      expectContiguous(chunks);
      expect(chunks.filter((c) => c.kind === "tool_call")).toHaveLength(3);
    } finally {
      await budgeted.close();
    }
  });

  it("max_iterations ends the run with the last assistant message", async () => {
    fake.setFallback({
      text: "still thinking",
      toolCalls: [{ name: "think", arguments: '{"thought":"again"}' }],
    });
    const task = await h.run("thinker", "loop forever");
    const done = await h.waitForStatus(task.id, "completed");
    expect(done.usage.model_calls).toBe(6);
    expect(done.result).toBe("still thinking");
    const chunks = await h.allChunks(task.id);
    expect(chunks[chunks.length - 1]?.text).toBe("[max_iterations (6) reached]");
  });

  it("max_output_bytes fails the task with a clear error and keeps the output that fits", async () => {
    const small = await startHarness({ fake, limits: { max_output_bytes: 1000 } });
    try {
      fake.enqueue({ text: Array.from({ length: 60 }, () => "0123456789012345678 "), delayMs: 5 });
      const task = await small.run("worker", "too much output");
      const done = await small.waitForStatus(task.id, "failed");
      expect(done.error).toContain("max_output_bytes (1000 bytes)");
      expect(done.output_bytes).toBe(1000);
      const chunks = await small.allChunks(task.id);
      expect(chunks.map((c) => c.text).join("")).toHaveLength(1000);
    } finally {
      await small.close();
    }
  });

  it("keeps at most 128 KiB of the result on the task; the output chunks have all of it", async () => {
    const big = "r".repeat(200 * 1024);
    fake.enqueue({ text: [big.slice(0, 100 * 1024), big.slice(100 * 1024)] });
    const task = await h.run("worker", "a huge answer");
    const done = await h.waitForStatus(task.id, "completed");
    expect(done.result?.startsWith("r".repeat(128 * 1024))).toBe(true);
    expect(done.result).toContain(
      `[result cut: ${72 * 1024} more bytes; GET /v1/tasks/${task.id}/output has the whole output]`,
    );
    const chunks = await h.allChunks(task.id);
    expect(chunks.map((c) => c.text).join("")).toBe(big);
  });

  it("max_task_seconds fails a task that runs too long", async () => {
    const short = await startHarness({ fake, limits: { max_task_seconds: 1 } });
    try {
      fake.enqueue({ text: Array.from({ length: 100 }, (_, i) => `${i} `), delayMs: 50 });
      const task = await short.run("worker", "too slow");
      const done = await short.waitForStatus(task.id, "failed", 10_000);
      expect(done.error).toContain("max_task_seconds (1 s)");
      // The model request ends aborted (the fake sees its connection close a moment later).
      await vi.waitFor(() => expect(fake.requests[0]?.aborted).toBe(true));
    } finally {
      await short.close();
    }
  });
});
