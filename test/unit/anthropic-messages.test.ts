import { APIConnectionError, APIError, APIUserAbortError } from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import {
  AnthropicMessagesModel,
  classifyAnthropicError,
  toAnthropicConversation,
} from "../../shared/adapters/models/anthropic-messages.js";
import { ModelCallAbortedError } from "../../shared/adapters/models/model-call-aborted.js";
import { PermanentError, TransientError } from "../../shared/domain/errors.js";
import type { ConversationMessage } from "../../shared/ports.js";
import { THINK_TOOL } from "../../shared/toolsets/think.js";

const live = new AbortController().signal;

describe("the conversation mapped onto the Anthropic Messages API", () => {
  it("moves system messages to `system` and keeps a lone user text a plain string", () => {
    const mapped = toAnthropicConversation(
      [
        { role: "system", content: "You are a worker." },
        { role: "user", content: "do it" },
      ],
      [],
    );
    expect(mapped).toEqual({
      system: "You are a worker.",
      messages: [{ role: "user", content: "do it" }],
      tools: [],
    });
  });

  it("maps tool calls to tool_use blocks and merges consecutive tool results into one user message", () => {
    const conversation: ConversationMessage[] = [
      { role: "system", content: "sys" },
      { role: "user", content: "task" },
      {
        role: "assistant",
        content: "Let me think.",
        tool_calls: [
          { id: "toolu_1", name: "think", arguments: '{"thought":"a"}' },
          { id: "toolu_2", name: "think", arguments: "" },
        ],
      },
      { role: "tool", tool_call_id: "toolu_1", content: "Thought recorded." },
      { role: "tool", tool_call_id: "toolu_2", content: "Thought recorded too." },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "toolu_3", name: "think", arguments: "not json" }],
      },
      { role: "tool", tool_call_id: "toolu_3", content: "error: arguments are not valid JSON" },
      { role: "user", content: "go on" },
    ];
    const { system, messages } = toAnthropicConversation(conversation, []);
    expect(system).toBe("sys");
    expect(messages).toEqual([
      { role: "user", content: "task" },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Let me think." },
          { type: "tool_use", id: "toolu_1", name: "think", input: { thought: "a" } },
          { type: "tool_use", id: "toolu_2", name: "think", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_1", content: "Thought recorded." },
          { type: "tool_result", tool_use_id: "toolu_2", content: "Thought recorded too." },
        ],
      },
      // No empty text block for an assistant turn that only calls tools.
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_3", name: "think", input: {} }] },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_3", content: "error: arguments are not valid JSON" },
          { type: "text", text: "go on" },
        ],
      },
    ]);
  });

  it("joins several system messages, skips empty turns, and maps tools with input_schema", () => {
    const { system, messages, tools } = toAnthropicConversation(
      [
        { role: "system", content: "one" },
        { role: "system", content: "two" },
        { role: "user", content: "a" },
        { role: "user", content: "b" },
        { role: "assistant", content: "" },
      ],
      [THINK_TOOL],
    );
    expect(system).toBe("one\n\ntwo");
    expect(messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "a" },
          { type: "text", text: "b" },
        ],
      },
    ]);
    expect(tools).toEqual([
      { name: "think", description: THINK_TOOL.description, input_schema: THINK_TOOL.parameters },
    ]);
  });
});

describe("Anthropic errors mapped onto the step's error classes", () => {
  const apiError = (status: number, type: string, message: string) =>
    APIError.generate(status, { type: "error", error: { type, message } }, undefined, new Headers());

  it("auth and invalid requests are permanent, naming the provider, the status and the secret", () => {
    const auth = classifyAnthropicError(apiError(401, "authentication_error", "invalid x-api-key"), live);
    expect(auth).toBeInstanceOf(PermanentError);
    expect(auth.message).toBe(
      "model provider anthropic answered 401 authentication_error: invalid x-api-key (check the ANTHROPIC_API_KEY secret)",
    );
    const custom = classifyAnthropicError(apiError(403, "permission_error", "no"), live, "MY_KEY");
    expect(custom.message).toContain("check the MY_KEY secret");
    for (const [status, type] of [
      [400, "invalid_request_error"],
      [404, "not_found_error"],
      [422, "invalid_request_error"],
    ] as const) {
      const err = classifyAnthropicError(apiError(status, type, "bad"), live);
      expect(err).toBeInstanceOf(PermanentError);
      expect(err.message).toBe(`model provider anthropic answered ${status} ${type}: bad`);
    }
  });

  it("rate limits, overload, 5xx, broken connections and errors inside the stream are transient", () => {
    for (const [status, type] of [
      [429, "rate_limit_error"],
      [500, "api_error"],
      [503, "api_error"],
      [529, "overloaded_error"],
    ] as const) {
      expect(classifyAnthropicError(apiError(status, type, "later"), live)).toBeInstanceOf(TransientError);
    }
    expect(
      classifyAnthropicError(new APIConnectionError({ message: "Connection error." }), live),
    ).toBeInstanceOf(TransientError);
    expect(classifyAnthropicError(new TypeError("terminated"), live)).toBeInstanceOf(TransientError);
    const midStream = new APIError(
      undefined,
      { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
      undefined,
      undefined,
      "overloaded_error",
    );
    const mapped = classifyAnthropicError(midStream, live);
    expect(mapped).toBeInstanceOf(TransientError);
    expect(mapped.message).toBe(
      "model provider anthropic sent an error mid-stream overloaded_error: Overloaded",
    );
  });

  it("an abort is an abort, whatever the SDK raised", () => {
    const controller = new AbortController();
    controller.abort();
    expect(classifyAnthropicError(new Error("anything"), controller.signal)).toBeInstanceOf(
      ModelCallAbortedError,
    );
    expect(classifyAnthropicError(new APIUserAbortError(), live)).toBeInstanceOf(ModelCallAbortedError);
  });
});

describe("the anthropic provider without a key", () => {
  it("fails the turn with a permanent error naming the secret, and never falls back to the environment", async () => {
    const saved = process.env.ANTHROPIC_API_KEY;
    process.env.ANTHROPIC_API_KEY = "sk-ant-server-env";
    try {
      const model = new AnthropicMessagesModel({
        model: "claude-haiku-4-5",
        apiKey: undefined,
        keyName: "TEAM_KEY",
      });
      const turn = model.turn({
        messages: [{ role: "user", content: "hi" }],
        tools: [],
        signal: live,
        onText: () => {},
      });
      await expect(turn).rejects.toThrow(PermanentError);
      await expect(turn).rejects.toThrow("the anthropic provider needs TEAM_KEY");
    } finally {
      if (saved === undefined) delete process.env.ANTHROPIC_API_KEY;
      else process.env.ANTHROPIC_API_KEY = saved;
    }
  });
});
