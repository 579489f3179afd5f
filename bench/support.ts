import "../local/polyfills.js";
import { randomUUID } from "node:crypto";
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { createLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from "../local/runtime.js";
import { DEFAULT_TENANT_ID } from "../shared/default-tenant.js";
import type { TaskRecord } from "../shared/domain/task.js";
import { createLogger } from "../shared/logger.js";
import { FakeOpenAI, type FakeReply } from "../test/support/fake-openai.js";
import { testConfig } from "../test/support/test-config.js";

export const API_KEY = "bench-key-0123456789abcdef";
export const TENANT_ID = DEFAULT_TENANT_ID;
export const KIB = 1024;

/** The tests' config; `thinker` may run up to 30 turns (the 20-turn bench needs ≥ 20). */
export function benchConfig(baseUrl: string): string {
  return testConfig(baseUrl, { thinkerMaxIterations: 30 });
}

export interface BenchRuntimeOptions {
  dynamodbEndpoint: string;
  runner?: LocalRuntimeOptions["runner"];
  executions?: LocalRuntimeOptions["executions"];
  onWriter?: LocalRuntimeOptions["onWriter"];
  /** How often `wait` polls the store; the local default is 250 ms, the deployed API uses 1000. */
  waitPollMs?: number;
}

export interface BenchRuntime {
  runtime: LocalRuntime;
  fake: FakeOpenAI;
  tableName: string;
  request(method: string, path: string, body?: unknown): Promise<Response>;
  /** POST /v1/tasks as the root agent; returns the new task's ID. */
  startTask(agent: string, task: string): Promise<string>;
  close(): Promise<void>;
}

/** One service instance: its own table, its own fake model server, default runner settings. */
export async function startBenchRuntime(options: BenchRuntimeOptions): Promise<BenchRuntime> {
  const fake = await new FakeOpenAI().start();
  const tableName = `bga-bench-${randomUUID()}`;
  const config = benchConfig(fake.url);
  const runtime = await createLocalRuntime({
    dynamodbEndpoint: options.dynamodbEndpoint,
    tableName,
    // The tenant (config, API key) lives in the table, looked up as the deployed API and runner do.
    defaultTenant: { id: TENANT_ID, config, apiKey: API_KEY, env: {} },
    log: createLogger("silent"),
    modelMaxRetries: 0,
    ...(options.runner ? { runner: options.runner } : {}),
    ...(options.executions ? { executions: options.executions } : {}),
    ...(options.onWriter ? { onWriter: options.onWriter } : {}),
    ...(options.waitPollMs !== undefined ? { waitPollMs: options.waitPollMs } : {}),
  });
  const request = async (method: string, path: string, body?: unknown): Promise<Response> =>
    runtime.app.request(path, {
      method,
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  return {
    runtime,
    fake,
    tableName,
    request,
    async startTask(agent, task) {
      const res = await request("POST", "/v1/tasks", { agent, task });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`POST /v1/tasks answered ${res.status}: ${text}`);
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== "object" || parsed === null || !("id" in parsed) || typeof parsed.id !== "string")
        throw new Error(`POST /v1/tasks returned no id: ${text}`);
      return parsed.id;
    },
    async close() {
      await runtime.executions.drain().catch(() => {});
      await runtime.close();
      await fake.close();
    },
  };
}

/** Polls the store (consistent reads) until the task is finished; returns it and when that was seen. */
export async function waitFinished(
  runtime: LocalRuntime,
  taskId: string,
  pollMs = 10,
  timeoutMs = 120_000,
): Promise<{ task: TaskRecord; seenAt: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await runtime.repo.get(TENANT_ID, taskId, true);
    const seenAt = nowMs();
    if (task && (task.status === "completed" || task.status === "failed" || task.status === "stopped"))
      return { task, seenAt };
    if (Date.now() > deadline) throw new Error(`task ${taskId} did not finish: ${JSON.stringify(task)}`);
    await sleep(pollMs);
  }
}

/** Epoch milliseconds with sub-millisecond resolution (comparable with Date.now()). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A streamed reply of `deltas` pieces of `bytes` ASCII bytes each, `delayMs` apart. */
export function streamedText(deltas: number, bytes: number, delayMs: number): FakeReply {
  const piece = "abcdefghijklmnopqrstuvwxyz ".repeat(Math.ceil(bytes / 27) + 1).slice(0, bytes);
  return { text: Array.from({ length: deltas }, () => piece), delayMs };
}

/** A think tool call after streamed text. */
export function thinkTurn(deltas: number, bytes: number, delayMs: number, thought: string): FakeReply {
  return {
    ...streamedText(deltas, bytes, delayMs),
    toolCalls: [{ name: "think", arguments: JSON.stringify({ thought }) }],
  };
}

/** Sum over the fake's requests of (endedAt − startedAt): the model's own streaming time, ms. */
export function modelStreamingMs(fake: FakeOpenAI): number {
  return fake.requests.reduce((sum, r) => sum + ((r.endedAt ?? r.startedAt) - r.startedAt), 0);
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export function label(pass: boolean): string {
  return pass ? "PASS" : "MISS";
}

/** One line of the final summary. */
export interface SummaryRow {
  bench: string;
  measured: string;
  target: string;
  pass: boolean;
  /** A figure without a target: shown as `info`, not PASS/MISS. */
  info?: boolean;
}

/** Prints rows as an aligned text table. */
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  console.log(line(headers));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const r of rows) console.log(line(r));
}

export function heading(title: string): void {
  console.log(`\n=== ${title} ${"=".repeat(Math.max(0, 76 - title.length))}`);
}

/** DynamoDB API operations that write. */
const WRITE_OPERATIONS = new Set([
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "BatchWriteItem",
  "TransactWriteItems",
  "ExecuteStatement",
  "BatchExecuteStatement",
  "ExecuteTransaction",
]);

/** DynamoDB API operations that take `ReturnConsumedCapacity`. */
const CAPACITY_OPERATIONS = new Set([
  ...WRITE_OPERATIONS,
  "GetItem",
  "Query",
  "Scan",
  "BatchGetItem",
  "TransactGetItems",
]);

/** One request the proxy passed on, kept when it records (`WriteCountingProxyOptions.record`). */
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

export interface WriteCountingProxyOptions {
  /** Keep every request and response body in `requests` (item counts, sizes, capacity). */
  record?: boolean;
  /**
   * With `record`: add `ReturnConsumedCapacity: "INDEXES"` to every request that takes it, so the
   * response says what the request consumed (table and indexes). Nothing else changes; the
   * response body is passed on byte for byte.
   */
  returnConsumedCapacity?: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(buffer: Buffer): unknown {
  try {
    return JSON.parse(buffer.toString("utf8"));
  } catch {
    return undefined;
  }
}

/**
 * A pass-through HTTP proxy in front of DynamoDB Local that counts write requests by operation
 * (X-Amz-Target). An independent check of the writes the runner's OutputWriter reports. With
 * `record` it also keeps each request and response body (see WriteCountingProxyOptions).
 */
export class WriteCountingProxy {
  readonly counts = new Map<string, number>();
  readonly requests: ProxiedRequest[] = [];
  /** A label stored with each recorded request. */
  phase = "";
  private readonly server: Server;
  private readonly target: URL;
  endpoint = "";

  constructor(
    upstream: string,
    private readonly options: WriteCountingProxyOptions = {},
  ) {
    this.target = new URL(upstream);
    this.server = createServer((req, res) => {
      const op = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
      if (WRITE_OPERATIONS.has(op)) this.counts.set(op, (this.counts.get(op) ?? 0) + 1);
      if (this.options.record) {
        void this.forwardRecorded(op, req, res);
        return;
      }
      const up = httpRequest(
        {
          host: this.target.hostname,
          port: this.target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on("error", (err) => {
        res.writeHead(502).end(String(err));
      });
      req.pipe(up);
    });
  }

  /** Buffers the request (adding ReturnConsumedCapacity if asked) and the response, and records both. */
  private async forwardRecorded(op: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const phase = this.phase;
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(Buffer.isBuffer(part) ? part : Buffer.from(String(part)));
    let body = Buffer.concat(parts);
    let request = parseJson(body);
    if (
      this.options.returnConsumedCapacity &&
      CAPACITY_OPERATIONS.has(op) &&
      isRecord(request) &&
      request.ReturnConsumedCapacity === undefined
    ) {
      request = { ...request, ReturnConsumedCapacity: "INDEXES" };
      body = Buffer.from(JSON.stringify(request), "utf8");
    }
    const headers = { ...req.headers, "content-length": String(body.length) };
    const up = httpRequest(
      { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers },
      (upRes) => {
        const out: Buffer[] = [];
        upRes.on("data", (d: Buffer) => out.push(d));
        upRes.on("end", () => {
          const raw = Buffer.concat(out);
          const encoded =
            upRes.headers["content-encoding"] && upRes.headers["content-encoding"] !== "identity";
          this.requests.push({
            op,
            request,
            response: encoded ? undefined : parseJson(raw),
            status: upRes.statusCode ?? 0,
            phase,
          });
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(raw);
        });
      },
    );
    up.on("error", (err) => {
      res.writeHead(502).end(String(err));
    });
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
