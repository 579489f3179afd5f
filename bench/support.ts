import "../local/polyfills.js";
import { randomUUID } from "node:crypto";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from "../local/runtime.js";
import { parseAgentConfig } from "../shared/agent-config.js";
import { DEFAULT_TENANT_ID, SingleTenantDirectory } from "../shared/default-tenant.js";
import type { TaskRecord } from "../shared/domain/task.js";
import { createLogger } from "../shared/logger.js";
import { FakeOpenAI, type FakeReply } from "../test/support/fake-openai.js";

export const API_KEY = "bench-key-0123456789abcdef";
export const TENANT_ID = DEFAULT_TENANT_ID;
export const KIB = 1024;

/** The test harness's config shape; `thinker` may run up to 30 turns (the 20-turn bench needs ≥ 20). */
export function benchConfig(baseUrl: string): string {
  return `
version: "2"
models:
  fake:
    provider: openai
    model: fake-model
    base_url: ${baseUrl}
agents:
  root:
    model: fake
    sub_agents: [worker, thinker]
  worker:
    model: fake
    description: does one thing
    instruction: You are a worker.
  thinker:
    model: fake
    instruction: You think before you answer.
    toolsets:
      - type: think
    max_iterations: 30
`;
}

export interface BenchRuntimeOptions {
  dynamodbEndpoint: string;
  runner?: LocalRuntimeOptions["runner"];
  executions?: LocalRuntimeOptions["executions"];
  onWriter?: LocalRuntimeOptions["onWriter"];
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
  const tenants = new SingleTenantDirectory({
    config: parseAgentConfig(benchConfig(fake.url)),
    apiKey: API_KEY,
    env: {},
  });
  const runtime = await createLocalRuntime({
    dynamodbEndpoint: options.dynamodbEndpoint,
    tableName,
    tenants,
    log: createLogger("silent"),
    modelMaxRetries: 0,
    ...(options.runner ? { runner: options.runner } : {}),
    ...(options.executions ? { executions: options.executions } : {}),
    ...(options.onWriter ? { onWriter: options.onWriter } : {}),
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

/**
 * A pass-through HTTP proxy in front of DynamoDB Local that counts write requests by operation
 * (X-Amz-Target). An independent check of the writes the runner's OutputWriter reports.
 */
export class WriteCountingProxy {
  readonly counts = new Map<string, number>();
  private readonly server: Server;
  endpoint = "";

  constructor(upstream: string) {
    const target = new URL(upstream);
    this.server = createServer((req, res) => {
      const op = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
      if (WRITE_OPERATIONS.has(op)) this.counts.set(op, (this.counts.get(op) ?? 0) + 1);
      const up = httpRequest(
        {
          host: target.hostname,
          port: target.port,
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

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", () => resolve()));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  reset(): void {
    this.counts.clear();
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
