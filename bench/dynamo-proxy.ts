import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";

/** DynamoDB API operations that write. */
export const WRITE_OPERATIONS = new Set([
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "BatchWriteItem",
  "TransactWriteItems",
  "ExecuteStatement",
  "BatchExecuteStatement",
  "ExecuteTransaction",
]);

/** DynamoDB API operations that read items. */
export const READ_OPERATIONS = new Set(["GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"]);

/** One request the proxy passed on, kept when it records (`DynamoProxyOptions.record`). */
export interface ProxiedRequest {
  /** The operation, from X-Amz-Target (`GetItem`, `TransactWriteItems`, …). */
  op: string;
  /** The request body (DynamoDB JSON) as sent upstream; undefined if it was not JSON. */
  request: unknown;
  /** The response body; undefined if it was not JSON. */
  response: unknown;
  status: number;
  /** What the caller set in `phase` when the request arrived. */
  phase: string;
}

export interface DynamoProxyOptions {
  /**
   * Keep every request and response body in `requests`, and add `ReturnConsumedCapacity:
   * "INDEXES"` to every request that takes it, so each response says what it consumed (table and
   * indexes). This rewrites the signed body: DynamoDB Local does not check signatures; DynamoDB
   * would refuse it. The response is passed on byte for byte.
   */
  record?: boolean;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(buffer: Buffer): unknown {
  try {
    return JSON.parse(buffer.toString("utf8"));
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(Buffer.isBuffer(part) ? part : Buffer.from(String(part)));
  return Buffer.concat(parts);
}

/** The body with ReturnConsumedCapacity added when the operation takes it and the caller did not ask. */
function withConsumedCapacity(op: string, body: Buffer): { body: Buffer; request: unknown } {
  const request = parseJson(body);
  const takes = WRITE_OPERATIONS.has(op) || READ_OPERATIONS.has(op);
  if (!takes || !isRecord(request) || request.ReturnConsumedCapacity !== undefined) return { body, request };
  const asked = { ...request, ReturnConsumedCapacity: "INDEXES" };
  return { body: Buffer.from(JSON.stringify(asked), "utf8"), request: asked };
}

/**
 * A pass-through HTTP proxy in front of DynamoDB Local: counts write requests by operation
 * (X-Amz-Target) and, with `record`, keeps each request and response with its consumed capacity.
 */
export class DynamoProxy {
  readonly counts = new Map<string, number>();
  readonly requests: ProxiedRequest[] = [];
  /** A label stored with each recorded request. */
  phase = "";
  endpoint = "";
  private readonly server: Server;
  private readonly target: URL;

  constructor(
    upstream: string,
    private readonly options: DynamoProxyOptions = {},
  ) {
    this.target = new URL(upstream);
    this.server = createServer((req, res) => {
      const op = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
      if (WRITE_OPERATIONS.has(op)) this.counts.set(op, (this.counts.get(op) ?? 0) + 1);
      if (this.options.record) void this.forwardRecorded(op, req, res);
      else this.pipe(req, res);
    });
  }

  private upstream(
    req: IncomingMessage,
    headers: IncomingHttpHeaders,
    onResponse: (r: IncomingMessage) => void,
  ) {
    const { hostname: host, port } = this.target;
    return httpRequest({ host, port, method: req.method, path: req.url, headers }, onResponse);
  }

  private pipe(req: IncomingMessage, res: ServerResponse): void {
    const up = this.upstream(req, req.headers, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on("error", (err) => res.writeHead(502).end(String(err)));
    req.pipe(up);
  }

  /** Buffers the request (adding ReturnConsumedCapacity) and the response, and records both. */
  private async forwardRecorded(op: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const phase = this.phase;
    const { body, request } = withConsumedCapacity(op, await readBody(req));
    const headers = { ...req.headers, "content-length": String(body.length) };
    const up = this.upstream(req, headers, async (upRes) => {
      const raw = await readBody(upRes);
      const encoded = upRes.headers["content-encoding"] && upRes.headers["content-encoding"] !== "identity";
      const status = upRes.statusCode ?? 0;
      this.requests.push({ op, request, response: encoded ? undefined : parseJson(raw), status, phase });
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      res.end(raw);
    });
    up.on("error", (err) => res.writeHead(502).end(String(err)));
    up.end(body);
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", () => resolve()));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  reset(): void {
    this.counts.clear();
    this.requests.length = 0;
  }

  /** Write requests counted since the last reset. */
  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  describe(): string {
    return [...this.counts.entries()].map(([op, n]) => `${op}×${n}`).join(" ");
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
