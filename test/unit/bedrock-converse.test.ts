import {
  AccessDeniedException,
  InternalServerException,
  ModelNotReadyException,
  ResourceNotFoundException,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
} from "@aws-sdk/client-bedrock-runtime";
import { describe, expect, it } from "vitest";
import {
  classifyBedrockError,
  toBedrockConversation,
} from "../../shared/adapters/models/bedrock-converse.js";
import { ModelCallAbortedError } from "../../shared/adapters/models/model-call-aborted.js";
import { PermanentError, TransientError } from "../../shared/domain/errors.js";
import type { ConversationMessage } from "../../shared/ports.js";
import { THINK_TOOL } from "../../shared/toolsets/think.js";

const live = new AbortController().signal;
const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

describe("the conversation mapped onto the Bedrock Converse API", () => {
  it("moves system messages to `system`, tool calls to toolUse and tool results to toolResult blocks", () => {
    const conversation: ConversationMessage[] = [
      { role: "system", content: "You think." },
      { role: "user", content: "task" },
      {
        role: "assistant",
        content: "Let me think.",
        tool_calls: [
          { id: "tooluse_1", name: "think", arguments: '{"thought":"a"}' },
          { id: "tooluse_2", name: "think", arguments: "[1]" },
        ],
      },
      { role: "tool", tool_call_id: "tooluse_1", content: "Thought recorded." },
      { role: "tool", tool_call_id: "tooluse_2", content: 'error: think takes {"thought": string}' },
      { role: "assistant", content: null, tool_calls: [{ id: "tooluse_3", name: "think", arguments: "" }] },
      { role: "tool", tool_call_id: "tooluse_3", content: "ok" },
      { role: "user", content: "go on" },
    ];
    const mapped = toBedrockConversation(conversation, [THINK_TOOL]);
    expect(mapped.system).toEqual([{ text: "You think." }]);
    expect(mapped.messages).toEqual([
      { role: "user", content: [{ text: "task" }] },
      {
        role: "assistant",
        content: [
          { text: "Let me think." },
          { toolUse: { toolUseId: "tooluse_1", name: "think", input: { thought: "a" } } },
          { toolUse: { toolUseId: "tooluse_2", name: "think", input: {} } },
        ],
      },
      {
        role: "user",
        content: [
          { toolResult: { toolUseId: "tooluse_1", content: [{ text: "Thought recorded." }] } },
          {
            toolResult: {
              toolUseId: "tooluse_2",
              content: [{ text: 'error: think takes {"thought": string}' }],
            },
          },
        ],
      },
      // No blank text block for an assistant turn that only calls tools.
      { role: "assistant", content: [{ toolUse: { toolUseId: "tooluse_3", name: "think", input: {} } }] },
      {
        role: "user",
        content: [{ toolResult: { toolUseId: "tooluse_3", content: [{ text: "ok" }] } }, { text: "go on" }],
      },
    ]);
    expect(mapped.tools).toEqual([
      {
        toolSpec: {
          name: "think",
          description: THINK_TOOL.description,
          inputSchema: { json: THINK_TOOL.parameters },
        },
      },
    ]);
  });

  it("keeps several system messages as blocks and skips empty turns", () => {
    const mapped = toBedrockConversation(
      [
        { role: "system", content: "one" },
        { role: "system", content: "two" },
        { role: "user", content: "a" },
        { role: "assistant", content: "" },
        { role: "user", content: "b" },
      ],
      [],
    );
    expect(mapped.system).toEqual([{ text: "one" }, { text: "two" }]);
    expect(mapped.messages).toEqual([{ role: "user", content: [{ text: "a" }, { text: "b" }] }]);
    expect(mapped.tools).toEqual([]);
  });
});

describe("Bedrock errors mapped onto the step's error classes", () => {
  it("throttling, capacity, service faults and a model not ready are transient", () => {
    for (const err of [
      new ThrottlingException({ message: "Too many requests", ...meta(429) }),
      new ServiceUnavailableException({ message: "busy", ...meta(503) }),
      new InternalServerException({ message: "oops", ...meta(500) }),
      new ModelNotReadyException({ message: "loading", ...meta(429) }),
    ]) {
      expect(classifyBedrockError(err, live)).toBeInstanceOf(TransientError);
    }
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    expect(classifyBedrockError(refused, live)).toBeInstanceOf(TransientError);
  });

  it("access denied, invalid requests and unknown models are permanent, naming the provider and status", () => {
    const denied = classifyBedrockError(
      new AccessDeniedException({ message: "not authorized to invoke", ...meta(403) }),
      live,
    );
    expect(denied).toBeInstanceOf(PermanentError);
    expect(denied.message).toBe(
      "model provider amazon-bedrock answered 403 AccessDeniedException: not authorized to invoke",
    );
    expect(
      classifyBedrockError(new ValidationException({ message: "bad", ...meta(400) }), live),
    ).toBeInstanceOf(PermanentError);
    expect(
      classifyBedrockError(new ResourceNotFoundException({ message: "no model", ...meta(404) }), live),
    ).toBeInstanceOf(PermanentError);
    const noCredentials = Object.assign(new Error("Could not load credentials from any providers"), {
      name: "CredentialsProviderError",
    });
    expect(classifyBedrockError(noCredentials, live)).toBeInstanceOf(PermanentError);
  });

  it("an abort is an abort, whatever the SDK raised", () => {
    const controller = new AbortController();
    controller.abort();
    expect(classifyBedrockError(new Error("socket hang up"), controller.signal)).toBeInstanceOf(
      ModelCallAbortedError,
    );
    const abortError = Object.assign(new Error("The operation was aborted"), { name: "AbortError" });
    expect(classifyBedrockError(abortError, live)).toBeInstanceOf(ModelCallAbortedError);
  });
});
