import type { IncomingMessage, ServerResponse } from "node:http";
import { ScriptedServer } from "./scripted-server.js";

/**
 * A scripted OpenAI Responses API (POST /v1/responses, SSE streaming) on loopback: the stand-in
 * for the model provider that the Codex CLI speaks to (it speaks only the Responses API). It uses
 * the API's own wire format: `response.created`, `response.output_item.added` /
 * `response.output_text.delta` / `response.function_call_arguments.delta` /
 * `response.output_item.done`, then `response.completed` (with usage) or `response.failed`.
 */
export interface FakeResponsesReply {
  /** Text deltas streamed one by one (a string is one delta). */
  text?: string | string[];
  /** function_call items after the text; `arguments` is JSON text. */
  toolCalls?: { name: string; arguments: string }[];
  /** Pause before each text delta, ms. */
  delayMs?: number;
  /** Answer with this HTTP status and an OpenAI error body instead of a stream. */
  status?: number;
  errorMessage?: string;
  /** After the text, end the stream with `response.failed` carrying this error. */
  failed?: { code: string; message: string };
  usage?: { input_tokens: number; output_tokens: number };
}

export interface ResponsesRecordedRequest {
  body: {
    model: string;
    input: unknown[];
    instructions?: string;
    tools?: { type: string; name?: string; [k: string]: unknown }[];
    stream?: boolean;
    [k: string]: unknown;
  };
  headers: IncomingMessage["headers"];
  apiKey: string | undefined;
  startedAt: number;
  endedAt?: number;
  aborted: boolean;
}

export class FakeOpenAIResponses extends ScriptedServer<FakeResponsesReply, ResponsesRecordedRequest> {
  /** Every request line seen (method and URL), model calls and others. */
  readonly paths: string[] = [];

  /** `url` is the base URL to configure (`OPENAI_BASE_URL`), ending in `/v1`. */
  constructor() {
    super({ text: "ok" }, "/v1");
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = "";
    for await (const piece of req) raw += piece;
    const path = req.url?.split("?")[0];
    this.paths.push(`${req.method} ${req.url}`);
    if (req.method === "GET" && path === "/v1/models") {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ object: "list", data: [] }));
      return;
    }
    if (req.method !== "POST" || path !== "/v1/responses") {
      sendError(res, 404, `no route for ${req.method} ${path}`);
      return;
    }
    const apiKey = req.headers.authorization?.match(/^Bearer (.+)$/)?.[1];
    const record: ResponsesRecordedRequest = {
      body: JSON.parse(raw),
      headers: req.headers,
      apiKey,
      startedAt: Date.now(),
      aborted: false,
    };
    this.record(record, res);
    if (!apiKey) {
      sendError(res, 401, "You didn't provide an API key.");
      return;
    }
    const reply = this.nextReply(record);
    if (reply.status) {
      sendError(res, reply.status, reply.errorMessage ?? `scripted failure ${reply.status}`);
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
    let sequence = 0;
    const send = (type: string, data: Record<string, unknown>) =>
      res.write(
        `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`,
      );
    const n = this.requests.length;
    const responseId = `resp_fake_${n}`;
    const base = {
      id: responseId,
      object: "response",
      created_at: Math.floor(Date.now() / 1000),
      model: record.body.model,
      output: [] as unknown[],
    };
    send("response.created", { response: { ...base, status: "in_progress" } });
    const deltas = typeof reply.text === "string" ? [reply.text] : (reply.text ?? []);
    const output: unknown[] = [];
    let index = 0;
    if (deltas.length) {
      const itemId = `msg_fake_${n}`;
      send("response.output_item.added", {
        output_index: index,
        item: { type: "message", id: itemId, role: "assistant", status: "in_progress", content: [] },
      });
      send("response.content_part.added", {
        item_id: itemId,
        output_index: index,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [] },
      });
      for (const d of deltas) {
        if (reply.delayMs) await sleep(reply.delayMs);
        if (res.destroyed) return;
        send("response.output_text.delta", {
          item_id: itemId,
          output_index: index,
          content_index: 0,
          delta: d,
        });
      }
      const text = deltas.join("");
      send("response.output_text.done", { item_id: itemId, output_index: index, content_index: 0, text });
      const item = {
        type: "message",
        id: itemId,
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text, annotations: [] }],
      };
      send("response.output_item.done", { output_index: index, item });
      output.push(item);
      index++;
    }
    if (reply.failed) {
      res.end(
        `event: response.failed\ndata: ${JSON.stringify({
          type: "response.failed",
          sequence_number: sequence++,
          response: { ...base, status: "failed", error: reply.failed, output },
        })}\n\n`,
      );
      return;
    }
    for (const [i, call] of (reply.toolCalls ?? []).entries()) {
      const item = {
        type: "function_call",
        id: `fc_fake_${n}_${i}`,
        call_id: `call_fake_${n}_${i}`,
        name: call.name,
        arguments: call.arguments,
        status: "completed",
      };
      send("response.output_item.added", {
        output_index: index,
        item: { ...item, arguments: "", status: "in_progress" },
      });
      send("response.function_call_arguments.delta", {
        item_id: item.id,
        output_index: index,
        delta: call.arguments,
      });
      send("response.function_call_arguments.done", {
        item_id: item.id,
        output_index: index,
        arguments: call.arguments,
      });
      send("response.output_item.done", { output_index: index, item });
      output.push(item);
      index++;
    }
    const usage = reply.usage ?? { input_tokens: 10, output_tokens: Math.max(1, deltas.length) };
    send("response.completed", {
      response: {
        ...base,
        status: "completed",
        output,
        usage: {
          input_tokens: usage.input_tokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: usage.output_tokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: usage.input_tokens + usage.output_tokens,
        },
      },
    });
    res.end();
  }
}

function sendError(res: ServerResponse, status: number, message: string) {
  res
    .writeHead(status, { "content-type": "application/json" })
    .end(JSON.stringify({ error: { message, type: "invalid_request_error", param: null, code: null } }));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
