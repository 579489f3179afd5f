import {
  BedrockRuntimeClient,
  BedrockRuntimeServiceException,
  type ContentBlock,
  ConverseStreamCommand,
  type ConverseStreamCommandInput,
  type Message,
  type SystemContentBlock,
  type Tool,
  type ToolUseBlock,
} from "@aws-sdk/client-bedrock-runtime";
import { PermanentError, TransientError } from "../../domain/errors.js";
import type {
  ConversationMessage,
  ModelClient,
  ModelTurnRequest,
  ModelTurnResult,
  ToolCall,
  ToolDefinitionForModel,
} from "../../ports.js";
import { ModelCallAbortedError } from "./model-call-aborted.js";

export const DEFAULT_BEDROCK_REGION = "us-east-1";

export interface BedrockConverseOptions {
  /** A model id or inference profile id/ARN, e.g. `anthropic.claude-3-5-haiku-20241022-v1:0`. */
  model: string;
  /** Default: AWS_REGION, else us-east-1. */
  region?: string;
  /** The spec's `base_url`: another Bedrock Runtime endpoint (a VPC endpoint, a local stand-in). */
  endpoint?: string;
  maxTokens?: number;
  temperature?: number;
  /** Retries the SDK makes itself (with backoff) before the step gives the error to the state machine. */
  maxRetries?: number;
}

/** What ConverseStream takes from our provider-neutral conversation. */
export interface BedrockConversation {
  system: SystemContentBlock[];
  messages: Message[];
  tools: Tool[];
}

/**
 * Maps the conversation (OpenAI chat shape) onto the Converse API: system messages become
 * `system` blocks; an assistant's tool calls become `toolUse` blocks; tool results become
 * `toolResult` blocks in a user message. Consecutive messages of one role are merged, as
 * Converse wants user and assistant turns to alternate.
 */
export function toBedrockConversation(
  conversation: ConversationMessage[],
  tools: ToolDefinitionForModel[],
): BedrockConversation {
  const system: SystemContentBlock[] = [];
  const messages: Message[] = [];
  const push = (role: "user" | "assistant", blocks: ContentBlock[]) => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last?.role === role) last.content = [...(last.content ?? []), ...blocks];
    else messages.push({ role, content: blocks });
  };
  for (const m of conversation) {
    switch (m.role) {
      case "system":
        if (m.content) system.push({ text: m.content });
        break;
      case "user":
        // Converse refuses blank text blocks.
        push("user", m.content ? [{ text: m.content }] : []);
        break;
      case "assistant":
        push("assistant", [
          ...(m.content ? [{ text: m.content }] : []),
          ...(m.tool_calls ?? []).map(
            (c): ContentBlock => ({
              toolUse: { toolUseId: c.id, name: c.name, input: toolInput(c.arguments) },
            }),
          ),
        ]);
        break;
      case "tool":
        push("user", [{ toolResult: { toolUseId: m.tool_call_id, content: [{ text: m.content }] } }]);
        break;
    }
  }
  return {
    system,
    messages,
    tools: tools.map(
      (t): Tool => ({
        // A JSON schema is plain JSON data: a valid Smithy document.
        toolSpec: {
          name: t.name,
          description: t.description,
          inputSchema: { json: t.parameters as JsonDocument },
        },
      }),
    ),
  };
}

/** A JSON value as the SDK types it (a Smithy document). */
type JsonDocument = NonNullable<ToolUseBlock["input"]>;

/** `toolUse.input` must be a JSON object; arguments that are not one are sent as `{}`. */
function toolInput(argumentsJson: string): JsonDocument {
  try {
    const value: unknown = JSON.parse(argumentsJson || "{}");
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as JsonDocument)
      : {};
  } catch {
    return {};
  }
}

/**
 * Clients by region, endpoint and retries: one per Lambda container, so the credential chain
 * (the runner's role in the cloud) is resolved once and its credentials cached. Endpoints come
 * from tenants' configs, so the cache is bounded (the oldest entry is dropped, not destroyed:
 * a turn may still be using it).
 */
const clients = new Map<string, BedrockRuntimeClient>();
const MAX_CACHED_CLIENTS = 16;

function clientFor(region: string, endpoint: string | undefined, maxAttempts: number): BedrockRuntimeClient {
  const key = `${region} ${endpoint ?? ""} ${maxAttempts}`;
  let client = clients.get(key);
  if (!client) {
    client = new BedrockRuntimeClient({ region, maxAttempts, ...(endpoint ? { endpoint } : {}) });
    if (clients.size >= MAX_CACHED_CLIENTS) clients.delete(clients.keys().next().value ?? "");
    clients.set(key, client);
  }
  return client;
}

/**
 * The `amazon-bedrock` provider: ConverseStream with tool use, through the official SDK. AWS
 * credentials come from the default chain (the runner's role in the cloud), never from tenant secrets.
 */
export class BedrockConverseModel implements ModelClient {
  private readonly client: BedrockRuntimeClient;
  constructor(private readonly options: BedrockConverseOptions) {
    this.client = clientFor(
      options.region ?? process.env.AWS_REGION ?? DEFAULT_BEDROCK_REGION,
      options.endpoint,
      (options.maxRetries ?? 2) + 1,
    );
  }

  async turn(request: ModelTurnRequest): Promise<ModelTurnResult> {
    const { system, messages, tools } = toBedrockConversation(request.messages, request.tools);
    const input: ConverseStreamCommandInput = {
      modelId: this.options.model,
      messages,
      ...(system.length ? { system } : {}),
      ...(tools.length ? { toolConfig: { tools } } : {}),
      ...(this.options.maxTokens !== undefined || this.options.temperature !== undefined
        ? {
            inferenceConfig: {
              ...(this.options.maxTokens !== undefined ? { maxTokens: this.options.maxTokens } : {}),
              ...(this.options.temperature !== undefined ? { temperature: this.options.temperature } : {}),
            },
          }
        : {}),
    };
    let text = "";
    const calls = new Map<number, ToolCall>();
    const usage = { input_tokens: 0, output_tokens: 0 };
    let stopped = false;
    try {
      const response = await this.client.send(new ConverseStreamCommand(input), {
        abortSignal: request.signal,
      });
      for await (const event of response.stream ?? []) {
        if (event.contentBlockStart) {
          const start = event.contentBlockStart.start?.toolUse;
          if (start) {
            calls.set(event.contentBlockStart.contentBlockIndex ?? calls.size, {
              id: start.toolUseId ?? "",
              name: start.name ?? "",
              arguments: "",
            });
          }
        } else if (event.contentBlockDelta) {
          const { delta, contentBlockIndex } = event.contentBlockDelta;
          if (delta?.text) {
            text += delta.text;
            request.onText(delta.text);
          } else if (delta?.toolUse?.input) {
            const call = calls.get(contentBlockIndex ?? -1);
            if (call) call.arguments += delta.toolUse.input;
          }
        } else if (event.messageStop) {
          stopped = true;
        } else if (event.metadata?.usage) {
          usage.input_tokens =
            (event.metadata.usage.inputTokens ?? 0) +
            (event.metadata.usage.cacheReadInputTokens ?? 0) +
            (event.metadata.usage.cacheWriteInputTokens ?? 0);
          usage.output_tokens = event.metadata.usage.outputTokens ?? 0;
        }
      }
    } catch (err) {
      throw classifyBedrockError(err, request.signal);
    }
    // An aborted stream may simply end early; a cut-off answer must never pass for a whole one.
    if (request.signal.aborted) throw new ModelCallAbortedError();
    if (!stopped) throw new TransientError("the amazon-bedrock stream ended before messageStop");
    const toolCalls = [...calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([i, c]) => ({ ...c, id: c.id || `call_${i}`, arguments: c.arguments || "{}" }));
    return { text, toolCalls, usage };
  }
}

/** Passing faults: throttling, capacity, the service's own errors, a model still loading. */
const TRANSIENT_EXCEPTIONS = new Set([
  "ThrottlingException",
  "ServiceUnavailableException",
  "InternalServerException",
  "ModelNotReadyException",
  "ModelTimeoutException",
  "ModelStreamErrorException",
]);
/** Faults retrying will not mend: no access, a bad request, an unknown model. */
const PERMANENT_EXCEPTIONS = new Set([
  "AccessDeniedException",
  "ValidationException",
  "ResourceNotFoundException",
  "UnrecognizedClientException",
  "ServiceQuotaExceededException",
  "ModelErrorException",
]);

/** Maps SDK errors onto the step's error classes. */
export function classifyBedrockError(err: unknown, signal: AbortSignal): Error {
  if (signal.aborted || (err instanceof Error && err.name === "AbortError"))
    return new ModelCallAbortedError();
  if (!(err instanceof Error))
    return new TransientError(`model provider amazon-bedrock failed: ${String(err)}`);
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const detail = status
    ? `model provider amazon-bedrock answered ${status} ${err.name}: ${err.message}`
    : `model provider amazon-bedrock sent ${err.name}: ${err.message}`;
  if (TRANSIENT_EXCEPTIONS.has(err.name)) return new TransientError(detail, { cause: err });
  if (PERMANENT_EXCEPTIONS.has(err.name)) return new PermanentError(detail, { cause: err });
  if (err.name === "CredentialsProviderError") {
    return new PermanentError(`model provider amazon-bedrock: no AWS credentials (${err.message})`, {
      cause: err,
    });
  }
  if (err instanceof BedrockRuntimeServiceException) {
    return err.$fault === "server" || status === 429 || (status ?? 0) >= 500
      ? new TransientError(detail, { cause: err })
      : new PermanentError(detail, { cause: err });
  }
  // The connection broke (refused, reset, timed out) before or during the stream: worth another attempt.
  return new TransientError(`model stream from amazon-bedrock interrupted: ${err.message}`, { cause: err });
}
