import {
  createServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  constants as http2,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { EventStreamCodec } from "@smithy/eventstream-codec";

/**
 * A scripted Bedrock Runtime ConverseStream endpoint (POST /model/{modelId}/converse-stream) on
 * loopback: the stand-in for the model provider, which is outside our system. It answers in the
 * service's own wire format, `application/vnd.amazon.eventstream` binary frames with the headers
 * `:event-type` (messageStart, contentBlockStart, contentBlockDelta, contentBlockStop, messageStop,
 * metadata), `:message-type` (event, or exception with `:exception-type`) and `:content-type`;
 * errors before the stream are HTTP statuses with `x-amzn-errortype`. Like the service (and the SDK's
 * default handler for this client) it speaks HTTP/2, here without TLS. Signatures are not checked.
 */
export interface FakeBedrockReply {
  /** Text deltas streamed one by one (a string is one delta). */
  text?: string | string[];
  /** toolUse blocks after the text; `input` is JSON text, streamed in a few pieces. */
  toolCalls?: { name: string; input: string }[];
  /** Pause before each text delta, ms. */
  delayMs?: number;
  /** Answer with this HTTP status and an `x-amzn-errortype` error instead of a stream. */
  status?: number;
  /** The exception name (default: the one the service uses for the status). */
  errorType?: string;
  errorMessage?: string;
  /** After the text deltas, send an exception frame (`:exception-type`, e.g. throttlingException) and end. */
  streamException?: { type: string; message: string };
  /** Destroy the connection after this many text deltas (a crash mid-stream). */
  dropAfter?: number;
  usage?: { inputTokens: number; outputTokens: number };
}

export interface BedrockRecordedRequest {
  /** The model id from the path, decoded. */
  modelId: string;
  body: {
    messages: { role: string; content: Record<string, unknown>[] }[];
    system?: { text: string }[];
    toolConfig?: {
      tools: { toolSpec: { name: string; description?: string; inputSchema: { json: unknown } } }[];
    };
    inferenceConfig?: { maxTokens?: number; temperature?: number };
    [k: string]: unknown;
  };
  headers: Http2ServerRequest["headers"];
  startedAt: number;
  endedAt?: number;
  aborted: boolean;
}

const ERROR_TYPES: Record<number, string> = {
  400: "ValidationException",
  403: "AccessDeniedException",
  404: "ResourceNotFoundException",
  408: "ModelTimeoutException",
  429: "ThrottlingException",
  500: "InternalServerException",
  503: "ServiceUnavailableException",
};

const codec = new EventStreamCodec(
  (bytes) => new TextDecoder().decode(bytes),
  (text) => new TextEncoder().encode(text),
);

/** One event-stream frame, as the service sends it. */
export function eventFrame(eventType: string, payload: Record<string, unknown>): Uint8Array {
  return codec.encode({
    headers: {
      ":event-type": { type: "string", value: eventType },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "event" },
    },
    // The service pads events with a `p` field of varying length; clients ignore it.
    body: new TextEncoder().encode(
      JSON.stringify({ ...payload, p: "abcdefghijklmnopqrstuvwxyz".slice(0, 7) }),
    ),
  });
}

function exceptionFrame(exceptionType: string, message: string): Uint8Array {
  return codec.encode({
    headers: {
      ":exception-type": { type: "string", value: exceptionType },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: "exception" },
    },
    body: new TextEncoder().encode(JSON.stringify({ message })),
  });
}

export class FakeBedrock {
  readonly requests: BedrockRecordedRequest[] = [];
  private queue: FakeBedrockReply[] = [];
  private fallback: FakeBedrockReply = { text: "ok" };
  private server: Http2Server;
  private sessions = new Set<Http2Session>();
  /** The endpoint to configure (`base_url`). */
  url = "";

  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on("session", (session) => {
      this.sessions.add(session);
      session.on("close", () => this.sessions.delete(session));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Replies for the next requests, in order; after them the fallback. */
  enqueue(...replies: FakeBedrockReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  setFallback(reply: FakeBedrockReply): this {
    this.fallback = reply;
    return this;
  }

  reset(): void {
    this.queue = [];
    this.requests.length = 0;
    this.fallback = { text: "ok" };
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
    let raw = "";
    for await (const piece of req) raw += piece;
    const match = req.url?.split("?")[0]?.match(/^\/model\/([^/]+)\/converse-stream$/);
    if (req.method !== "POST" || !match?.[1]) {
      sendError(res, 404, "UnknownOperationException", `no route for ${req.method} ${req.url}`);
      return;
    }
    const record: BedrockRecordedRequest = {
      modelId: decodeURIComponent(match[1]),
      body: JSON.parse(raw),
      headers: req.headers,
      startedAt: Date.now(),
      aborted: false,
    };
    this.requests.push(record);
    let finished = false;
    res.on("finish", () => {
      finished = true;
    });
    res.stream.on("close", () => {
      if (!finished || res.stream.rstCode !== http2.NGHTTP2_NO_ERROR) record.aborted = true;
      record.endedAt = Date.now();
    });
    if (!req.headers.authorization?.startsWith("AWS4-HMAC-SHA256 ")) {
      sendError(
        res,
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
      );
      return;
    }
    const reply = this.queue.shift() ?? this.fallback;
    if (reply.status) {
      sendError(
        res,
        reply.status,
        reply.errorType ?? ERROR_TYPES[reply.status] ?? "InternalServerException",
        reply.errorMessage ?? `scripted failure ${reply.status}`,
      );
      return;
    }

    res.writeHead(200, {
      "content-type": "application/vnd.amazon.eventstream",
      "x-amzn-requestid": `fake-request-${this.requests.length}`,
    });
    const send = (eventType: string, payload: Record<string, unknown>) =>
      res.write(eventFrame(eventType, payload));
    const deltas = typeof reply.text === "string" ? [reply.text] : (reply.text ?? []);
    send("messageStart", { role: "assistant" });
    let index = 0;
    if (deltas.length) {
      // Text blocks have no contentBlockStart in ConverseStream: deltas, then a stop.
      let sent = 0;
      for (const d of deltas) {
        if (reply.delayMs) await sleep(reply.delayMs);
        if (res.stream.destroyed) return;
        if (reply.dropAfter !== undefined && sent >= reply.dropAfter) {
          res.stream.close(http2.NGHTTP2_INTERNAL_ERROR);
          return;
        }
        send("contentBlockDelta", { contentBlockIndex: index, delta: { text: d } });
        sent++;
      }
      send("contentBlockStop", { contentBlockIndex: index });
      index++;
    }
    if (reply.streamException) {
      res.end(exceptionFrame(reply.streamException.type, reply.streamException.message));
      return;
    }
    for (const [i, call] of (reply.toolCalls ?? []).entries()) {
      send("contentBlockStart", {
        contentBlockIndex: index,
        start: { toolUse: { toolUseId: `tooluse_fake_${this.requests.length}_${i}`, name: call.name } },
      });
      for (const piece of thirds(call.input)) {
        send("contentBlockDelta", { contentBlockIndex: index, delta: { toolUse: { input: piece } } });
      }
      send("contentBlockStop", { contentBlockIndex: index });
      index++;
    }
    send("messageStop", { stopReason: reply.toolCalls?.length ? "tool_use" : "end_turn" });
    const usage = reply.usage ?? { inputTokens: 10, outputTokens: Math.max(1, deltas.length) };
    send("metadata", {
      usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
      metrics: { latencyMs: 42 },
    });
    res.end();
  }
}

function sendError(res: Http2ServerResponse, status: number, type: string, message: string) {
  res
    .writeHead(status, {
      "content-type": "application/json",
      "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      "x-amzn-requestid": "fake-request-error",
    })
    .end(JSON.stringify({ message }));
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
