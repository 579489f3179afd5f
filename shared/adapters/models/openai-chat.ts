import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from "openai";
import type { ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions";
import { PermanentError, TransientError } from "../../domain/errors.js";
import type { ModelClient, ModelTurnRequest, ModelTurnResult, ToolCall } from "../../ports.js";
import { ModelCallAbortedError } from "./model-call-aborted.js";

export { ModelCallAbortedError };

export interface OpenAIChatOptions {
  model: string;
  apiKey: string | undefined;
  baseURL?: string;
  maxTokens?: number;
  temperature?: number;
  /** Retries the SDK makes itself (with backoff) before the step gives the error to the state machine. */
  maxRetries?: number;
  timeoutMs?: number;
  /** OpenAI-Organization / OpenAI-Project: given explicitly, never from this process's environment. */
  organization?: string | null;
  project?: string | null;
  /** The fetch every request goes through (the network guard); default the platform's. */
  fetch?: typeof fetch;
  /**
   * Headers set on every request. The SDK also adds those of its *_CUSTOM_HEADERS variable from
   * this process's environment: the factory sets each of those names here (to null, which
   * removes it, unless the tenant's own credentials give it).
   */
  defaultHeaders?: Record<string, string | null>;
}

/**
 * The `openai` provider: Chat Completions with streaming and tool calls, through the official SDK.
 * Any OpenAI-compatible server works through `base_url`.
 */
export class OpenAIChatModel implements ModelClient {
  private readonly client: OpenAI | null;
  constructor(private readonly options: OpenAIChatOptions) {
    const apiKey = options.apiKey ?? (options.baseURL ? "not-needed" : undefined);
    // Local OpenAI-compatible servers often need no key; the SDK insists on one. Without a key
    // and without base_url there is no client, and a turn fails with a clear error.
    this.client = apiKey
      ? new OpenAI({
          apiKey,
          // Everything explicit, so nothing of this process's environment reaches a tenant's endpoint.
          baseURL: options.baseURL ?? "https://api.openai.com/v1",
          organization: options.organization ?? null,
          project: options.project ?? null,
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
        "the openai provider needs OPENAI_API_KEY (or a base_url of a compatible server)",
      );
    }
    const tools: ChatCompletionTool[] = request.tools.map((t) => ({
      type: "function",
      function: { name: t.name, description: t.description, parameters: t.parameters },
    }));
    let text = "";
    const calls = new Map<number, ToolCall>();
    const usage = { input_tokens: 0, output_tokens: 0 };
    try {
      const stream = await this.client.chat.completions.create(
        {
          model: this.options.model,
          messages: request.messages as ChatCompletionMessageParam[],
          stream: true,
          stream_options: { include_usage: true },
          ...(tools.length ? { tools } : {}),
          ...(this.options.maxTokens ? { max_tokens: this.options.maxTokens } : {}),
          ...(this.options.temperature !== undefined ? { temperature: this.options.temperature } : {}),
        },
        { signal: request.signal },
      );
      for await (const event of stream) {
        if (event.usage) {
          usage.input_tokens = event.usage.prompt_tokens ?? 0;
          usage.output_tokens = event.usage.completion_tokens ?? 0;
        }
        const delta = event.choices[0]?.delta;
        if (!delta) continue;
        if (delta.content) {
          text += delta.content;
          request.onText(delta.content);
        }
        for (const tc of delta.tool_calls ?? []) {
          const call = calls.get(tc.index) ?? { id: "", name: "", arguments: "" };
          if (tc.id) call.id = tc.id;
          if (tc.function?.name) call.name += tc.function.name;
          if (tc.function?.arguments) call.arguments += tc.function.arguments;
          calls.set(tc.index, call);
        }
      }
    } catch (err) {
      throw classify(err, request.signal);
    }
    // An aborted stream may simply end early; a cut-off answer must never pass for a whole one.
    if (request.signal.aborted) throw new ModelCallAbortedError();
    const toolCalls = [...calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([i, c]) => ({ ...c, id: c.id || `call_${i}` }));
    return { text, toolCalls, usage };
  }
}

/** Maps SDK errors onto the step's error classes. */
function classify(err: unknown, signal: AbortSignal): unknown {
  if (signal.aborted || err instanceof APIUserAbortError) return new ModelCallAbortedError();
  if (err instanceof APIConnectionError) {
    return new TransientError(`model provider unreachable: ${err.message}`, { cause: err });
  }
  if (err instanceof APIError) {
    const status = err.status ?? 0;
    const detail = `model provider answered ${status}: ${err.message}`;
    if (status === 408 || status === 409 || status === 429 || status >= 500) {
      return new TransientError(detail, { cause: err });
    }
    return new PermanentError(detail, { cause: err });
  }
  // The connection broke mid-stream (reset, "terminated"): worth another attempt.
  return new TransientError(`model stream interrupted: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}
