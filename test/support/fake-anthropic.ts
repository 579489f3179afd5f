import type { IncomingMessage, ServerResponse } from "node:http";
import { ScriptedServer } from "./scripted-server.js";

/**
 * A scripted Anthropic Messages API (POST /v1/messages, SSE streaming) on loopback: the stand-in
 * for the model provider, which is outside our system. It speaks the API's own wire format:
 * `message_start`, `content_block_start` / `content_block_delta` (`text_delta`,
 * `input_json_delta`) / `content_block_stop`, `message_delta` (stop_reason, usage), `message_stop`,
 * `ping`, and errors as `{"type":"error","error":{"type","message"}}`.
 */
export interface FakeAnthropicReply {
  /** Text deltas streamed one by one (a string is one delta). */
  text?: string | string[];
  /** tool_use blocks after the text; `input` is JSON text, streamed in a few input_json_delta pieces. */
  toolCalls?: { name: string; input: string }[];
  /** Pause before each text delta, ms. */
  delayMs?: number;
  /** Answer with this HTTP status and Anthropic's error body instead of a stream. */
  status?: number;
  /** The error body's `error.type` (default: the type the API uses for the status). */
  errorType?: string;
  errorMessage?: string;
  /** `retry-after-ms` on an error answer (the SDK honours it between its own retries). */
  retryAfterMs?: number;
  /** After the text deltas, send an `event: error` inside the stream and end it. */
  streamError?: { type: string; message: string };
  /** Destroy the connection after this many text deltas (a crash mid-stream). */
  dropAfter?: number;
  usage?: { input_tokens: number; output_tokens: number };
}

export interface AnthropicRecordedRequest {
  body: {
    model: string;
    max_tokens: number;
    messages: { role: string; content: unknown }[];
    system?: unknown;
    tools?: { name: string; description?: string; input_schema: unknown }[];
    stream?: boolean;
    temperature?: number;
    [k: string]: unknown;
  };
  headers: IncomingMessage["headers"];
  /** The key the client sent (`x-api-key`, or `Authorization: Bearer`). */
  apiKey: string | undefined;
  startedAt: number;
  endedAt?: number;
  aborted: boolean;
}

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

export class FakeAnthropic extends ScriptedServer<FakeAnthropicReply, AnthropicRecordedRequest> {
  /** `url` is the base URL to configure (`base_url`): the SDK appends `/v1/messages`. */
  constructor() {
    super({ text: "ok" });
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = "";
    for await (const piece of req) raw += piece;
    const path = req.url?.split("?")[0];
    if (req.method !== "POST" || path !== "/v1/messages") {
      sendError(res, 404, "not_found_error", `no route for ${req.method} ${path}`);
      return;
    }
    const bearer = req.headers.authorization?.match(/^Bearer (.+)$/)?.[1];
    const apiKey = (req.headers["x-api-key"] as string | undefined) ?? bearer;
    const record: AnthropicRecordedRequest = {
      body: JSON.parse(raw),
      headers: req.headers,
      apiKey,
      startedAt: Date.now(),
      aborted: false,
    };
    this.record(record, res);
    if (!apiKey) {
      sendError(res, 401, "authentication_error", "x-api-key header is required");
      return;
    }
    if (typeof record.body.max_tokens !== "number") {
      sendError(res, 400, "invalid_request_error", "max_tokens: Field required");
      return;
    }
    const reply = this.nextReply(record);
    if (reply.status) {
      sendError(
        res,
        reply.status,
        reply.errorType ?? ERROR_TYPES[reply.status] ?? "api_error",
        reply.errorMessage ?? `scripted failure ${reply.status}`,
        reply.retryAfterMs,
      );
      return;
    }

    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "request-id": `req_fake_${this.requests.length}`,
    });
    const send = (event: string, data: Record<string, unknown>) =>
      res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
    const deltas = typeof reply.text === "string" ? [reply.text] : (reply.text ?? []);
    const usage = reply.usage ?? { input_tokens: 10, output_tokens: Math.max(1, deltas.length) };
    send("message_start", {
      message: {
        id: `msg_fake_${this.requests.length}`,
        type: "message",
        role: "assistant",
        model: record.body.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: usage.input_tokens,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          output_tokens: 1,
        },
      },
    });
    let index = 0;
    if (deltas.length) {
      send("content_block_start", { index, content_block: { type: "text", text: "" } });
      send("ping", {});
      let sent = 0;
      for (const d of deltas) {
        if (reply.delayMs) await sleep(reply.delayMs);
        if (res.destroyed) return;
        if (reply.dropAfter !== undefined && sent >= reply.dropAfter) {
          res.destroy();
          return;
        }
        send("content_block_delta", { index, delta: { type: "text_delta", text: d } });
        sent++;
      }
      send("content_block_stop", { index });
      index++;
    }
    if (reply.streamError) {
      // The API reports a failure after the stream began as an `error` event.
      res.end(`event: error\ndata: ${JSON.stringify({ type: "error", error: reply.streamError })}\n\n`);
      return;
    }
    for (const [i, call] of (reply.toolCalls ?? []).entries()) {
      send("content_block_start", {
        index,
        content_block: {
          type: "tool_use",
          id: `toolu_fake_${this.requests.length}_${i}`,
          name: call.name,
          input: {},
        },
      });
      // The API streams the input as partial JSON; the client joins the pieces.
      for (const piece of ["", ...thirds(call.input)]) {
        send("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: piece } });
      }
      send("content_block_stop", { index });
      index++;
    }
    send("message_delta", {
      delta: { stop_reason: reply.toolCalls?.length ? "tool_use" : "end_turn", stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    });
    send("message_stop", {});
    res.end();
  }
}

function sendError(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  retryAfterMs?: number,
) {
  res
    .writeHead(status, {
      "content-type": "application/json",
      "request-id": "req_fake_error",
      ...(retryAfterMs !== undefined ? { "retry-after-ms": String(retryAfterMs) } : {}),
    })
    .end(JSON.stringify({ type: "error", error: { type, message }, request_id: "req_fake_error" }));
}

function thirds(text: string): string[] {
  const step = Math.max(1, Math.ceil(text.length / 3));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += step) out.push(text.slice(i, i + step));
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
