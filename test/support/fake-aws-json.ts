import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A scripted AWS JSON 1.0 endpoint on loopback (the stand-in for Step Functions or DynamoDB,
 * which are outside our system): records every request and answers from a queue.
 */
export interface RecordedAwsRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The X-Amz-Target header. */
  target: string;
  body: unknown;
  rawBody: string;
}

export type AwsReply =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  /** Close the connection without an answer: `fetch` rejects (a network error). */
  | "drop";

export class FakeAwsJsonEndpoint {
  readonly requests: RecordedAwsRequest[] = [];
  private readonly queue: AwsReply[] = [];
  private readonly server: Server;
  url = "";

  constructor(private readonly fallback: AwsReply = { status: 200, body: {} }) {
    this.server = createServer(async (req, res) => {
      let rawBody = "";
      for await (const piece of req) rawBody += piece;
      this.requests.push({
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        target: String(req.headers["x-amz-target"] ?? ""),
        body: rawBody ? JSON.parse(rawBody) : undefined,
        rawBody,
      });
      const reply = this.queue.shift() ?? this.fallback;
      if (reply === "drop") {
        req.socket.destroy();
        return;
      }
      res.writeHead(reply.status, { "content-type": "application/x-amz-json-1.0", ...reply.headers });
      res.end(reply.body === undefined ? "" : JSON.stringify(reply.body));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Replies for the next requests, in order; after them the fallback. */
  enqueue(...replies: AwsReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  reset(): void {
    this.requests.length = 0;
    this.queue.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** An error answer as AWS JSON 1.0 services send it (`__type` with the shape's namespace). */
export function awsError(status: number, code: string, message: string, extra: object = {}): AwsReply {
  return {
    status,
    body: { __type: `com.amazonaws.service#${code}`, message, ...extra },
  };
}
