import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { isRecord, parseJson, type TransactTarget, transactTargets, wireItemSize } from "./dynamo-json.js";

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
  /**
   * TransactWriteItems only: per item, the larger of its stored size (bytes) just before and
   * just after the request, read by the proxy with consistent GetItems (not recorded).
   */
  itemBytes?: number[];
}

export interface DynamoProxyOptions {
  /**
   * Keep every request and response body in `requests`, and add `ReturnConsumedCapacity:
   * "INDEXES"` to every request that takes it, so each response says what it consumed (table and
   * indexes). This rewrites the signed body, and the proxy's own GetItems reuse the caller's
   * headers: DynamoDB Local does not check signatures; DynamoDB would refuse both.
   */
  record?: boolean;
}

interface Upstream {
  status: number;
  headers: IncomingHttpHeaders;
  raw: Buffer;
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

  private pipe(req: IncomingMessage, res: ServerResponse): void {
    const { hostname: host, port } = this.target;
    const up = httpRequest(
      { host, port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on("error", (err) => res.writeHead(502).end(String(err)));
    req.pipe(up);
  }

  /** Sends one buffered request upstream and buffers the answer. */
  private send(req: IncomingMessage, headers: IncomingHttpHeaders, body: Buffer): Promise<Upstream> {
    const { hostname: host, port } = this.target;
    const all = { ...headers, "content-length": String(body.length) };
    return new Promise((resolve, reject) => {
      const up = httpRequest({ host, port, method: req.method, path: req.url, headers: all }, (upRes) => {
        readBody(upRes).then(
          (raw) => resolve({ status: upRes.statusCode ?? 0, headers: upRes.headers, raw }),
          reject,
        );
      });
      up.on("error", reject);
      up.end(body);
    });
  }

  /** The stored size of each target (0 if absent), by consistent GetItems with the caller's headers. */
  private storedSizes(req: IncomingMessage, targets: TransactTarget[]): Promise<number[]> {
    const headers = { ...req.headers, "x-amz-target": "DynamoDB_20120810.GetItem" };
    return Promise.all(
      targets.map(async ({ table, key }) => {
        const body = Buffer.from(JSON.stringify({ TableName: table, Key: key, ConsistentRead: true }));
        const got = parseJson((await this.send(req, headers, body)).raw);
        return isRecord(got) ? wireItemSize(got.Item) : 0;
      }),
    );
  }

  /** Buffers the request (adding ReturnConsumedCapacity) and the response, and records both. */
  private async forwardRecorded(op: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const phase = this.phase;
    try {
      const { body, request } = withConsumedCapacity(op, await readBody(req));
      const targets = op === "TransactWriteItems" ? transactTargets(request) : [];
      const before = await this.storedSizes(req, targets);
      const up = await this.send(req, req.headers, body);
      const after = await this.storedSizes(req, targets);
      const encoded = up.headers["content-encoding"] && up.headers["content-encoding"] !== "identity";
      const response = encoded ? undefined : parseJson(up.raw);
      const itemBytes = targets.length > 0 ? before.map((b, i) => Math.max(b, after[i] ?? 0)) : undefined;
      this.requests.push({
        op,
        request,
        response,
        status: up.status,
        phase,
        ...(itemBytes ? { itemBytes } : {}),
      });
      res.writeHead(up.status || 502, up.headers).end(up.raw);
    } catch (err) {
      res.writeHead(502).end(String(err));
    }
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
