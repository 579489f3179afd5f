import Anthropic, {
  AnthropicError,
  APIConnectionError,
  APIError,
  APIUserAbortError,
} from "@anthropic-ai/sdk";
import type {
  ContentBlockParam,
  MessageDeltaUsage,
  MessageParam,
  Tool,
  Usage,
} from "@anthropic-ai/sdk/resources/messages";
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

/** The Messages API requires `max_tokens`; this is used when the model spec gives none. */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 4096;
const DEFAULT_BASE_URL = "https://api.anthropic.com";

export interface AnthropicMessagesOptions {
  model: string;
  apiKey: string | undefined;
  /** Name of the secret the key comes from, for error messages (ANTHROPIC_API_KEY or the spec's token_key). */
  keyName?: string;
  baseURL?: string;
  maxTokens?: number;
  temperature?: number;
  /** Retries the SDK makes itself (with backoff) before the step gives the error to the state machine. */
  maxRetries?: number;
  timeoutMs?: number;
  /** The fetch every request goes through (the network guard); default the platform's. */
  fetch?: typeof fetch;
  /**
   * Headers set on every request. The SDK also adds those of its *_CUSTOM_HEADERS variable from
   * this process's environment: the factory sets each of those names here (to null, which
   * removes it, unless the tenant's own credentials give it).
   */
  defaultHeaders?: Record<string, string | null>;
}

/** What the Messages API takes from our provider-neutral conversation. */
export interface AnthropicConversation {
  system?: string;
  messages: MessageParam[];
  tools: Tool[];
}

/**
 * Maps the conversation (OpenAI chat shape) onto the Messages API: system messages become
 * `system`; an assistant's tool calls become `tool_use` blocks; tool results become `tool_result`
 * blocks in a user message. Consecutive messages of one role are merged into one message, as
 * the API wants user and assistant turns to alternate.
 */
export function toAnthropicConversation(
  conversation: ConversationMessage[],
  tools: ToolDefinitionForModel[],
): AnthropicConversation {
  const system: string[] = [];
  const messages: MessageParam[] = [];
  const push = (role: "user" | "assistant", blocks: ContentBlockParam[]) => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last?.role === role) {
      const content = typeof last.content === "string" ? [textBlock(last.content)] : last.content;
      last.content = [...content, ...blocks];
      return;
    }
    // A lone text stays a plain string, the API's simplest form.
    const only = blocks.length === 1 ? blocks[0] : undefined;
    messages.push({ role, content: only?.type === "text" ? only.text : blocks });
  };
  for (const m of conversation) {
    switch (m.role) {
      case "system":
        system.push(m.content);
        break;
      case "user":
        push("user", m.content ? [textBlock(m.content)] : []);
        break;
      case "assistant":
        push("assistant", [
          // The API refuses empty text blocks.
          ...(m.content ? [textBlock(m.content)] : []),
          ...(m.tool_calls ?? []).map(
            (c): ContentBlockParam => ({
              type: "tool_use",
              id: c.id,
              name: c.name,
              input: toolInput(c.arguments),
            }),
          ),
        ]);
        break;
      case "tool":
        push("user", [{ type: "tool_result", tool_use_id: m.tool_call_id, content: m.content }]);
        break;
    }
  }
  return {
    ...(system.length ? { system: system.join("\n\n") } : {}),
    messages,
    tools: tools.map((t) => ({
      name: t.name,
      description: t.description,
      input_schema: { ...t.parameters, type: "object" },
    })),
  };
}

function textBlock(text: string): ContentBlockParam {
  return { type: "text", text };
}

/** `tool_use.input` must be an object; arguments that are not a JSON object are sent as `{}`. */
function toolInput(argumentsJson: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(argumentsJson || "{}");
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/** Input tokens of a turn: the uncached ones plus those written to and read from the prompt cache. */
function inputTokens(
  u: Pick<
    Usage | MessageDeltaUsage,
    "input_tokens" | "cache_creation_input_tokens" | "cache_read_input_tokens"
  >,
) {
  return (u.input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0);
}

/** The `anthropic` provider: the Messages API with streaming and tool use, through the official SDK. */
export class AnthropicMessagesModel implements ModelClient {
  private readonly client: Anthropic | null;
  private readonly keyName: string;
  constructor(private readonly options: AnthropicMessagesOptions) {
    this.keyName = options.keyName ?? "ANTHROPIC_API_KEY";
    const apiKey = options.apiKey ?? (options.baseURL ? "not-needed" : undefined);
    // The key is passed explicitly (and the base URL always), so the SDK never falls back to this
    // process's environment or credential files: in the cloud the key is the tenant's own secret.
    this.client = apiKey
      ? new Anthropic({
          apiKey,
          // Never ANTHROPIC_AUTH_TOKEN from this process's environment (a bearer token it would add).
          authToken: null,
          baseURL: options.baseURL ?? DEFAULT_BASE_URL,
          ...(options.fetch ? { fetch: options.fetch } : {}),
          ...(options.defaultHeaders ? { defaultHeaders: options.defaultHeaders } : {}),
          maxRetries: options.maxRetries ?? 2,
          timeout: options.timeoutMs ?? 120_000,
        })
      : null;
  }

  async turn(request: ModelTurnRequest): Promise<ModelTurnResult> {
    if (!this.client) {
      throw new PermanentError(
        `the anthropic provider needs ${this.keyName} (or a base_url of a compatible server)`,
      );
    }
    const { system, messages, tools } = toAnthropicConversation(request.messages, request.tools);
    let text = "";
    const calls = new Map<number, ToolCall>();
    /** `input` given whole in content_block_start (compatible servers may send it there, not as deltas). */
    const startInputs = new Map<number, string>();
    const usage = { input_tokens: 0, output_tokens: 0 };
    let stopped = false;
    try {
      const stream = await this.client.messages.create(
        {
          model: this.options.model,
          max_tokens: this.options.maxTokens ?? DEFAULT_ANTHROPIC_MAX_TOKENS,
          messages,
          stream: true,
          ...(system ? { system } : {}),
          ...(tools.length ? { tools } : {}),
          ...(this.options.temperature !== undefined ? { temperature: this.options.temperature } : {}),
        },
        { signal: request.signal },
      );
      for await (const event of stream) {
        switch (event.type) {
          case "message_start":
            usage.input_tokens = inputTokens(event.message.usage);
            usage.output_tokens = event.message.usage.output_tokens;
            break;
          case "content_block_start": {
            const block = event.content_block;
            if (block.type === "tool_use") {
              calls.set(event.index, { id: block.id, name: block.name, arguments: "" });
              const input = JSON.stringify(block.input ?? {});
              if (input !== "{}") startInputs.set(event.index, input);
            } else if (block.type === "text" && block.text) {
              text += block.text;
              request.onText(block.text);
            }
            break;
          }
          case "content_block_delta":
            if (event.delta.type === "text_delta") {
              text += event.delta.text;
              request.onText(event.delta.text);
            } else if (event.delta.type === "input_json_delta") {
              const call = calls.get(event.index);
              if (call) call.arguments += event.delta.partial_json;
            }
            break;
          case "message_delta":
            // Counts in message_delta are cumulative for the whole message.
            if (event.usage.input_tokens !== null && event.usage.input_tokens !== undefined) {
              usage.input_tokens = inputTokens(event.usage);
            }
            usage.output_tokens = event.usage.output_tokens;
            break;
          case "message_stop":
            stopped = true;
            break;
        }
      }
    } catch (err) {
      throw classifyAnthropicError(err, request.signal, this.keyName);
    }
    // An aborted stream may simply end early; a cut-off answer must never pass for a whole one.
    if (request.signal.aborted) throw new ModelCallAbortedError();
    if (!stopped) throw new TransientError("the anthropic stream ended before message_stop");
    const toolCalls = [...calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([i, c]) => ({ ...c, arguments: c.arguments || startInputs.get(i) || "{}" }));
    return { text, toolCalls, usage };
  }
}

/** Error types the API reports that retrying will not mend (also used for errors sent inside a stream). */
const PERMANENT_ERROR_TYPES = new Set([
  "invalid_request_error",
  "authentication_error",
  "permission_error",
  "not_found_error",
  "request_too_large",
  "billing_error",
]);

/** Maps SDK errors onto the step's error classes. */
export function classifyAnthropicError(
  err: unknown,
  signal: AbortSignal,
  keyName = "ANTHROPIC_API_KEY",
): Error {
  if (signal.aborted || err instanceof APIUserAbortError) return new ModelCallAbortedError();
  if (err instanceof APIConnectionError) {
    // Refused, reset or timed out, before or during the stream.
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : "";
    return new TransientError(`model provider anthropic: ${err.message}${cause}`, { cause: err });
  }
  if (err instanceof APIError) {
    const status = err.status;
    const kind = err.type ? ` ${err.type}` : "";
    const message = err.apiMessage ?? err.message;
    if (status === undefined) {
      // An `error` event inside a stream that had already begun (overloaded, api_error, ...).
      const detail = `model provider anthropic sent an error mid-stream${kind}: ${message}`;
      return err.type && PERMANENT_ERROR_TYPES.has(err.type)
        ? new PermanentError(detail, { cause: err })
        : new TransientError(detail, { cause: err });
    }
    const detail = `model provider anthropic answered ${status}${kind}: ${message}`;
    if (status === 401 || status === 403) {
      return new PermanentError(`${detail} (check the ${keyName} secret)`, { cause: err });
    }
    if (status === 408 || status === 409 || status === 429 || status >= 500) {
      return new TransientError(detail, { cause: err });
    }
    return new PermanentError(detail, { cause: err });
  }
  if (err instanceof AnthropicError) {
    // Raised by the SDK itself before any request (for example a malformed option).
    return new PermanentError(`model provider anthropic: ${err.message}`, { cause: err });
  }
  // The connection broke mid-stream (reset, "terminated"): worth another attempt.
  return new TransientError(
    `model stream from anthropic interrupted: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}
