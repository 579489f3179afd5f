import type { IncomingMessage, ServerResponse } from "node:http";
import { ScriptedServer } from "./scripted-server.js";

/**
 * A scripted OpenAI-compatible server (Chat Completions, SSE streaming) on loopback: the
 * stand-in for the model provider, which is outside our system.
 */
export interface FakeReply {
  /** Text deltas streamed one by one (a string is one delta). */
  text?: string | string[];
  toolCalls?: { name: string; arguments: string }[];
  /** Pause before each delta, ms. */
  delayMs?: number;
  /** Answer with this HTTP status and an error body instead of a stream. */
  status?: number;
  /** Destroy the connection after this many deltas (a crash mid-stream). */
  dropAfter?: number;
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** After this many deltas, wait for `hold` before sending the rest. */
  holdAfter?: number;
  hold?: Promise<unknown>;
}

export interface RecordedRequest {
  body: { model: string; messages: unknown[]; tools?: unknown[]; stream?: boolean; [k: string]: unknown };
  headers: IncomingMessage["headers"];
  startedAt: number;
  endedAt?: number;
  aborted: boolean;
}

/** A reply, or a function that makes one from the request (e.g. to echo an ID from a tool result). */
export type ScriptedReply = FakeReply | ((request: RecordedRequest) => FakeReply);

export class FakeOpenAI extends ScriptedServer<FakeReply, RecordedRequest> {
  private byModel = new Map<string, ScriptedReply[]>();

  /** `url` is the base URL to configure, ending in `/v1`. */
  constructor() {
    super({ text: "ok" }, "/v1");
  }

  /** Replies for the next requests that name this model (agents on different models run concurrently). */
  enqueueFor(model: string, ...replies: ScriptedReply[]): this {
    this.byModel.set(model, [...(this.byModel.get(model) ?? []), ...replies]);
    return this;
  }

  override reset(): void {
    super.reset();
    this.byModel.clear();
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = "";
    for await (const piece of req) raw += piece;
    if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"message":"not found"}}');
      return;
    }
    const record: RecordedRequest = {
      body: JSON.parse(raw),
      headers: req.headers,
      startedAt: Date.now(),
      aborted: false,
    };
    this.record(record, res);
    const scripted = this.byModel.get(record.body.model)?.shift();
    const reply = (typeof scripted === "function" ? scripted(record) : scripted) ?? this.nextReply(record);
    if (reply.status) {
      res
        .writeHead(reply.status, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { message: `scripted failure ${reply.status}`, type: "scripted" } }));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const id = `chatcmpl-${this.requests.length}`;
    const send = (delta: Record<string, unknown>, finish: string | null = null) =>
      res.write(
        `data: ${JSON.stringify({
          id,
          object: "chat.completion.chunk",
          created: Math.floor(Date.now() / 1000),
          model: record.body.model,
          choices: [{ index: 0, delta, finish_reason: finish }],
        })}\n\n`,
      );
    const deltas = typeof reply.text === "string" ? [reply.text] : (reply.text ?? []);
    let sent = 0;
    send({ role: "assistant", content: "" });
    for (const d of deltas) {
      if (reply.hold && sent === reply.holdAfter) await reply.hold;
      if (reply.delayMs) await sleep(reply.delayMs);
      if (res.destroyed) return;
      if (reply.dropAfter !== undefined && sent >= reply.dropAfter) {
        res.destroy();
        return;
      }
      send({ content: d });
      sent++;
    }
    for (const [index, call] of (reply.toolCalls ?? []).entries()) {
      send({
        tool_calls: [
          {
            index,
            id: `call_${this.requests.length}_${index}`,
            type: "function",
            function: { name: call.name, arguments: "" },
          },
        ],
      });
      send({ tool_calls: [{ index, function: { arguments: call.arguments } }] });
    }
    send({}, reply.toolCalls?.length ? "tool_calls" : "stop");
    const usage = reply.usage ?? { prompt_tokens: 10, completion_tokens: Math.max(1, deltas.length) };
    res.write(
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: 0, model: record.body.model, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } })}\n\n`,
    );
    res.end("data: [DONE]\n\n");
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
