import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * What every scripted model server on loopback shares (the OpenAI Chat Completions, Anthropic
 * Messages and OpenAI Responses fakes): the HTTP server, the requests it recorded, and the replies
 * it is scripted with — the queue's next, else the responder's, else the fallback. Each subclass
 * speaks its own wire format in `handle`.
 */
export abstract class ScriptedServer<Reply, Recorded extends { aborted: boolean; endedAt?: number }> {
  readonly requests: Recorded[] = [];
  /** The base URL to configure; set by start(). */
  url = "";
  private queue: Reply[] = [];
  private fallback: Reply;
  private responder: ((request: Recorded) => Reply | undefined) | undefined;
  private readonly server: Server;

  /** `basePath` is appended to the server's origin in `url` (e.g. `/v1`). */
  constructor(
    private readonly defaultFallback: Reply,
    private readonly basePath = "",
  ) {
    this.fallback = defaultFallback;
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${this.basePath}`;
    return this;
  }

  /** Replies for the next requests, in order; after them the fallback. */
  enqueue(...replies: Reply[]): this {
    this.queue.push(...replies);
    return this;
  }

  /** Replies made from the request, after the queue and before the fallback (undefined: fallback). */
  setResponder(responder: ((request: Recorded) => Reply | undefined) | undefined): this {
    this.responder = responder;
    return this;
  }

  setFallback(reply: Reply): this {
    this.fallback = reply;
    return this;
  }

  reset(): void {
    this.queue = [];
    this.requests.length = 0;
    this.fallback = this.defaultFallback;
    this.responder = undefined;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Keeps `request` in `requests`, noting when its response ends and whether the client left first. */
  protected record(request: Recorded, res: ServerResponse): void {
    this.requests.push(request);
    res.on("close", () => {
      if (!res.writableFinished) request.aborted = true;
      request.endedAt = Date.now();
    });
  }

  /** The reply to a request just recorded. */
  protected nextReply(request: Recorded): Reply {
    return this.queue.shift() ?? this.responder?.(request) ?? this.fallback;
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}
