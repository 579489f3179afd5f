import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createModelClient } from "../../shared/adapters/models/model-factory.js";
import { TransientError } from "../../shared/domain/errors.js";
import type { ModelTurnRequest } from "../../shared/ports.js";
import { FakeAnthropic } from "../support/fake-anthropic.js";
import { FakeBedrock } from "../support/fake-bedrock.js";
import { type Harness, startHarness } from "../support/harness.js";

/**
 * The `anthropic` and `amazon-bedrock` providers through the real local state machine, against
 * loopback fakes that speak each provider's own wire format (Anthropic SSE, Bedrock event stream).
 */

const TENANT_ANTHROPIC_KEY = "sk-ant-tenant-0123456789";
const BEDROCK_MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0";
/** The runner's own AWS credentials (the default chain reads them from the environment here). */
const RUNNER_AWS = {
  AWS_ACCESS_KEY_ID: "AKIARUNNERROLE000001",
  AWS_SECRET_ACCESS_KEY: "runner-secret",
  AWS_REGION: "eu-west-1",
};
const SERVER_ENV = { ...RUNNER_AWS, ANTHROPIC_API_KEY: "sk-ant-server-env-must-not-be-used" };

const config = (anthropicUrl: string, bedrockUrl: string) => `
version: "2"
models:
  claude:
    provider: anthropic
    model: claude-sonnet-4-6
    base_url: ${anthropicUrl}
    max_tokens: 1024
    temperature: 0.3
  claude_defaults:
    provider: anthropic
    model: claude-haiku-4-5
    base_url: ${anthropicUrl}
  nova:
    provider: amazon-bedrock
    model: "${BEDROCK_MODEL}"
    base_url: ${bedrockUrl}
    max_tokens: 512
    temperature: 0.5
agents:
  root:
    model: claude
    sub_agents: [claude_writer, claude_thinker, bedrock_writer, bedrock_thinker]
  claude_writer:
    model: claude
    instruction: You are a writer.
  claude_thinker:
    model: claude_defaults
    instruction: You think before you answer.
    toolsets:
      - type: think
  bedrock_writer:
    model: nova
    instruction: You are a writer.
  bedrock_thinker:
    model: nova
    instruction: You think before you answer.
    toolsets:
      - type: think
`;

let anthropic: FakeAnthropic;
let bedrock: FakeBedrock;
let h: Harness;
const savedEnv = new Map<string, string | undefined>();

beforeAll(async () => {
  for (const [name, value] of Object.entries(SERVER_ENV)) {
    savedEnv.set(name, process.env[name]);
    process.env[name] = value;
  }
  savedEnv.set("AWS_SESSION_TOKEN", process.env.AWS_SESSION_TOKEN);
  delete process.env.AWS_SESSION_TOKEN;
  anthropic = await new FakeAnthropic().start();
  bedrock = await new FakeBedrock().start();
  h = await startHarness({
    config: () => config(anthropic.url, bedrock.url),
    // The tenant's secrets: its Anthropic key, and AWS keys that Bedrock must never use.
    tenantEnv: {
      ANTHROPIC_API_KEY: TENANT_ANTHROPIC_KEY,
      AWS_ACCESS_KEY_ID: "AKIATENANTSECRET0001",
      AWS_SECRET_ACCESS_KEY: "tenant-secret",
    },
  });
});
afterAll(async () => {
  await h?.close();
  await anthropic?.close();
  await bedrock?.close();
  for (const [name, value] of savedEnv) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});
beforeEach(() => {
  anthropic.reset();
  bedrock.reset();
});

const words = Array.from({ length: 20 }, (_, i) => `w${i} `);

/** The kinds of the chunks, with consecutive chunks of one kind counted once. */
function runsOfKinds(chunks: { kind: string }[]): string[] {
  return chunks.map((c) => c.kind).filter((kind, i, all) => kind !== all[i - 1]);
}

function expectContiguous(chunks: { seq: number }[]) {
  expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i + 1));
}

/** Stops a task while its model streams; the provider request must be cut, nothing written after. */
async function stopMidStream(agent: string, requests: () => { aborted: boolean; endedAt?: number }[]) {
  const task = await h.run(agent, "talk for a long time");
  await h.waitFor(task.id, (t) => t.last_seq >= 2);
  const stop = await h.request("POST", `/v1/tasks/${task.id}/stop`);
  expect(stop.status).toBe(200);
  expect(stop.json.status).toBe("stopped");
  // Chunks are appended only while the task is running: what the stop recorded is the last seq.
  const seqAtStop = Number(stop.json.last_seq);
  // The step notices the stop, halts its writer and aborts the call: the stream ends cut off.
  await vi.waitFor(() => expect(requests()[0]?.endedAt).toBeDefined(), { timeout: 15_000 });
  expect(requests()[0]?.aborted).toBe(true);
  expect(requests()).toHaveLength(1);
  const after = await h.getTask(task.id);
  expect(after.status).toBe("stopped");
  expect(after.last_seq).toBe(seqAtStop);
  expect(await h.allChunks(task.id)).toHaveLength(seqAtStop);
}

function turnRequest(): ModelTurnRequest {
  return {
    messages: [
      { role: "system", content: "sys" },
      { role: "user", content: "hi" },
    ],
    tools: [],
    signal: new AbortController().signal,
    onText: () => {},
  };
}

describe("provider anthropic (Messages API)", () => {
  it("streams text into batched chunks, counts usage and sends the tenant's key", async () => {
    anthropic.enqueue({ text: words, delayMs: 25, usage: { input_tokens: 42, output_tokens: 20 } });
    const task = await h.run("claude_writer", "say twenty words", { expected_output: "twenty words" });
    const live = await h.waitFor(task.id, (t) => t.last_seq > 0);
    expect(live.status).toBe("running");

    const done = await h.waitForStatus(task.id, "completed");
    expect(done.result).toBe(words.join(""));
    expect(done.usage).toEqual({ input_tokens: 42, output_tokens: 20, model_calls: 1, tool_calls: 0 });
    const chunks = await h.allChunks(task.id);
    expectContiguous(chunks);
    expect(chunks.map((c) => c.text).join("")).toBe(words.join(""));
    expect(chunks.length).toBeLessThan(20);

    expect(anthropic.requests).toHaveLength(1);
    const req = anthropic.requests[0]!;
    // The key is the tenant's secret, never the server's environment.
    expect(req.apiKey).toBe(TENANT_ANTHROPIC_KEY);
    expect(req.headers["anthropic-version"]).toBeTruthy();
    expect(req.body).toMatchObject({
      model: "claude-sonnet-4-6",
      max_tokens: 1024,
      temperature: 0.3,
      stream: true,
      system: "You are a writer.",
    });
    expect(req.body.tools).toBeUndefined();
    expect(req.body.messages).toHaveLength(1);
    expect(req.body.messages[0]?.role).toBe("user");
    expect(req.body.messages[0]?.content).toContain("say twenty words");
    expect(req.body.messages[0]?.content).toContain("Expected output: twenty words");
  });

  it("runs a tool call (think) and sends the conversation back as tool_use / tool_result blocks", async () => {
    anthropic.enqueue(
      {
        text: "Let me think.",
        toolCalls: [{ name: "think", input: '{"thought":"plan the answer"}' }],
        usage: { input_tokens: 30, output_tokens: 12 },
      },
      { text: ["The answer ", "is 42."], usage: { input_tokens: 50, output_tokens: 8 } },
    );
    const task = await h.run("claude_thinker", "what is the answer?");
    const done = await h.waitForStatus(task.id, "completed");
    expect(done.result).toBe("The answer is 42.");
    expect(done.usage).toEqual({ input_tokens: 80, output_tokens: 20, model_calls: 2, tool_calls: 1 });
    const chunks = await h.allChunks(task.id);
    expectContiguous(chunks);
    // The first text of each turn is written at once, so a turn's text may take two chunks.
    expect(runsOfKinds(chunks)).toEqual(["text", "tool_call", "tool_result", "text"]);
    expect(
      chunks
        .slice(3)
        .map((c) => c.text)
        .join(""),
    ).toBe("The answer is 42.");
    expect(chunks[1]?.text).toBe('think({"thought":"plan the answer"})');
    expect(chunks[2]?.text).toBe("Thought recorded.");

    expect(anthropic.requests).toHaveLength(2);
    const [first, second] = anthropic.requests;
    // Anthropic needs max_tokens: the default when the model spec gives none.
    expect(first?.body.max_tokens).toBe(4096);
    expect(first?.body.temperature).toBeUndefined();
    expect(first?.body.tools).toEqual([
      {
        name: "think",
        description: expect.stringContaining("think"),
        input_schema: expect.objectContaining({ type: "object" }),
      },
    ]);
    expect(second?.body.system).toBe("You think before you answer.");
    expect(second?.body.messages).toEqual([
      { role: "user", content: "what is the answer?" },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Let me think." },
          { type: "tool_use", id: "toolu_fake_1_0", name: "think", input: { thought: "plan the answer" } },
        ],
      },
      {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: "toolu_fake_1_0", content: "Thought recorded." }],
      },
    ]);
  });

  it("a rejected key (401) fails the task at once with a clear message", async () => {
    anthropic.enqueue({ status: 401, errorMessage: "invalid x-api-key" });
    const task = await h.run("claude_writer", "bad key");
    const done = await h.waitForStatus(task.id, "failed");
    expect(done.error).toBe(
      "model provider anthropic answered 401 authentication_error: invalid x-api-key (check the ANTHROPIC_API_KEY secret)",
    );
    expect(anthropic.requests).toHaveLength(1);
  });

  it("an overloaded API (529) is retried, and the task goes on", async () => {
    anthropic.enqueue({ status: 529, errorMessage: "Overloaded" }, { text: "recovered" });
    const task = await h.run("claude_writer", "try again");
    const done = await h.waitForStatus(task.id, "completed");
    expect(done.result).toBe("recovered");
    // SDK retries are off in the harness: the state machine retried the step.
    expect(anthropic.requests).toHaveLength(2);
  });

  it("an error event inside the stream is transient: the turn runs again", async () => {
    anthropic.enqueue(
      { text: ["partial "], streamError: { type: "overloaded_error", message: "Overloaded" } },
      { text: "whole answer" },
    );
    const task = await h.run("claude_writer", "survive an overload mid-stream");
    const done = await h.waitForStatus(task.id, "completed");
    expect(done.result).toBe("whole answer");
    expect(anthropic.requests).toHaveLength(2);
    expect(anthropic.requests[1]?.body.messages).toEqual(anthropic.requests[0]?.body.messages);
  });

  it("the SDK retries 529 and 503 with backoff inside one turn (maxRetries), then answers", async () => {
    const model = await createModelClient(
      { provider: "anthropic", model: "claude-haiku-4-5", base_url: anthropic.url },
      { get: (name) => (name === "ANTHROPIC_API_KEY" ? TENANT_ANTHROPIC_KEY : undefined) },
      { maxRetries: 2, allowPrivateNetwork: true }, // the fake is on loopback
    );
    anthropic.enqueue(
      { status: 529, retryAfterMs: 10 },
      { status: 503, retryAfterMs: 10 },
      { text: "third time" },
    );
    const result = await model.turn(turnRequest());
    expect(result.text).toBe("third time");
    expect(anthropic.requests).toHaveLength(3);

    anthropic.setFallback({ status: 529, retryAfterMs: 10 });
    await expect(model.turn(turnRequest())).rejects.toThrow(TransientError);
    expect(anthropic.requests).toHaveLength(6);
  });

  it("stop mid-stream aborts the provider request", async () => {
    anthropic.enqueue({ text: Array.from({ length: 400 }, (_, i) => `t${i} `), delayMs: 20 });
    await stopMidStream("claude_writer", () => anthropic.requests);
  });
});

describe("provider amazon-bedrock (Converse API)", () => {
  it("streams text into batched chunks, counts usage and signs with the runner's AWS credentials", async () => {
    bedrock.enqueue({ text: words, delayMs: 25, usage: { inputTokens: 42, outputTokens: 20 } });
    const task = await h.run("bedrock_writer", "say twenty words");
    const live = await h.waitFor(task.id, (t) => t.last_seq > 0);
    expect(live.status).toBe("running");

    const done = await h.waitForStatus(task.id, "completed");
    expect(done.result).toBe(words.join(""));
    expect(done.usage).toEqual({ input_tokens: 42, output_tokens: 20, model_calls: 1, tool_calls: 0 });
    const chunks = await h.allChunks(task.id);
    expectContiguous(chunks);
    expect(chunks.map((c) => c.text).join("")).toBe(words.join(""));
    expect(chunks.length).toBeLessThan(20);

    expect(bedrock.requests).toHaveLength(1);
    const req = bedrock.requests[0]!;
    expect(req.modelId).toBe(BEDROCK_MODEL);
    // SigV4 with the default chain's credentials and AWS_REGION, never the tenant's secrets.
    expect(req.headers.authorization).toContain(`Credential=${RUNNER_AWS.AWS_ACCESS_KEY_ID}/`);
    expect(req.headers.authorization).toContain("/eu-west-1/bedrock/aws4_request");
    expect(req.body.system).toEqual([{ text: "You are a writer." }]);
    expect(req.body.messages).toEqual([{ role: "user", content: [{ text: "say twenty words" }] }]);
    expect(req.body.inferenceConfig).toEqual({ maxTokens: 512, temperature: 0.5 });
    expect(req.body.toolConfig).toBeUndefined();
  });

  it("runs a tool call (think) and sends the conversation back as toolUse / toolResult blocks", async () => {
    bedrock.enqueue(
      {
        text: "Let me think.",
        toolCalls: [{ name: "think", input: '{"thought":"plan the answer"}' }],
        usage: { inputTokens: 30, outputTokens: 12 },
      },
      { text: ["The answer ", "is 42."], usage: { inputTokens: 50, outputTokens: 8 } },
    );
    const task = await h.run("bedrock_thinker", "what is the answer?");
    const done = await h.waitForStatus(task.id, "completed");
    expect(done.result).toBe("The answer is 42.");
    expect(done.usage).toEqual({ input_tokens: 80, output_tokens: 20, model_calls: 2, tool_calls: 1 });
    const chunks = await h.allChunks(task.id);
    expectContiguous(chunks);
    // The first text of each turn is written at once, so a turn's text may take two chunks.
    expect(runsOfKinds(chunks)).toEqual(["text", "tool_call", "tool_result", "text"]);
    expect(
      chunks
        .slice(3)
        .map((c) => c.text)
        .join(""),
    ).toBe("The answer is 42.");
    expect(chunks[1]?.text).toBe('think({"thought":"plan the answer"})');

    expect(bedrock.requests).toHaveLength(2);
    const [first, second] = bedrock.requests;
    expect(first?.body.toolConfig?.tools).toEqual([
      {
        toolSpec: {
          name: "think",
          description: expect.stringContaining("think"),
          inputSchema: { json: expect.objectContaining({ type: "object" }) },
        },
      },
    ]);
    expect(second?.body.system).toEqual([{ text: "You think before you answer." }]);
    expect(second?.body.messages).toEqual([
      { role: "user", content: [{ text: "what is the answer?" }] },
      {
        role: "assistant",
        content: [
          { text: "Let me think." },
          {
            toolUse: { toolUseId: "tooluse_fake_1_0", name: "think", input: { thought: "plan the answer" } },
          },
        ],
      },
      {
        role: "user",
        content: [
          { toolResult: { toolUseId: "tooluse_fake_1_0", content: [{ text: "Thought recorded." }] } },
        ],
      },
    ]);
  });

  it("access denied (403) fails the task at once with a clear message", async () => {
    bedrock.enqueue({
      status: 403,
      errorMessage: "You don't have access to the model with the specified model ID.",
    });
    const task = await h.run("bedrock_writer", "no access");
    const done = await h.waitForStatus(task.id, "failed");
    expect(done.error).toBe(
      "model provider amazon-bedrock answered 403 AccessDeniedException: You don't have access to the model with the specified model ID.",
    );
    expect(bedrock.requests).toHaveLength(1);
  });

  it("throttling (429) and an unavailable service (503) are retried, and the task goes on", async () => {
    bedrock.enqueue(
      { status: 429, errorMessage: "Too many requests" },
      { status: 503 },
      { text: "recovered" },
    );
    const task = await h.run("bedrock_writer", "try again");
    const done = await h.waitForStatus(task.id, "completed");
    expect(done.result).toBe("recovered");
    // SDK retries are off in the harness: the state machine retried the step.
    expect(bedrock.requests).toHaveLength(3);
  });

  it("an exception frame inside the stream is transient: the turn runs again", async () => {
    bedrock.enqueue(
      { text: ["partial "], streamException: { type: "throttlingException", message: "Too many tokens" } },
      { text: "whole answer" },
    );
    const task = await h.run("bedrock_writer", "survive throttling mid-stream");
    const done = await h.waitForStatus(task.id, "completed");
    expect(done.result).toBe("whole answer");
    expect(bedrock.requests).toHaveLength(2);
    expect(bedrock.requests[1]?.body.messages).toEqual(bedrock.requests[0]?.body.messages);
  });

  it("the SDK retries throttling and 503 with backoff inside one turn (maxAttempts), then answers", async () => {
    const model = await createModelClient(
      { provider: "amazon-bedrock", model: BEDROCK_MODEL, base_url: bedrock.url },
      { get: () => undefined },
      { maxRetries: 2 },
    );
    bedrock.enqueue({ status: 429 }, { status: 503 }, { text: "third time" });
    const result = await model.turn(turnRequest());
    expect(result.text).toBe("third time");
    expect(bedrock.requests).toHaveLength(3);

    bedrock.setFallback({ status: 503 });
    await expect(model.turn(turnRequest())).rejects.toThrow(TransientError);
    expect(bedrock.requests).toHaveLength(6);
  });

  it("stop mid-stream aborts the provider request", async () => {
    bedrock.enqueue({ text: Array.from({ length: 400 }, (_, i) => `t${i} `), delayMs: 20 });
    await stopMidStream("bedrock_writer", () => bedrock.requests);
  });
});
