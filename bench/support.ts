import "../local/polyfills.js";
import { randomUUID } from "node:crypto";
import { createLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from "../local/runtime.js";
import { DEFAULT_TENANT_ID } from "../shared/default-tenant.js";
import type { TaskRecord } from "../shared/domain/task.js";
import { createLogger, type StructuredLogger } from "../shared/logger.js";
import type { Limits } from "../shared/tenants.js";
import { FakeOpenAI, type FakeReply } from "../test/support/fake-openai.js";
import { testConfig } from "../test/support/test-config.js";

/** Runtime setup and the fake model's scripts, shared by the benches that run the service locally. */

export const API_KEY = "bench-key-0123456789abcdef";
export const TENANT_ID = DEFAULT_TENANT_ID;

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
  /** The tenant's limits, over the defaults. */
  limits?: Partial<Limits>;
  /** Default: silent. */
  log?: StructuredLogger;
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
  const runtime = await createLocalRuntime({
    dynamodbEndpoint: options.dynamodbEndpoint,
    tableName,
    // The tenant (config, API key) lives in the table, looked up as the deployed API and runner do.
    defaultTenant: {
      id: TENANT_ID,
      config: benchConfig(fake.url),
      apiKey: API_KEY,
      env: {},
      ...(options.limits ? { limits: options.limits } : {}),
    },
    log: options.log ?? createLogger("silent"),
    modelMaxRetries: 0,
    // No once-a-second poll for due webhook deliveries: the cloud has none, and the requests of a
    // bench's runtime model the cloud's (a delivery's attempts still run on their timers).
    webhooks: { pollMs: 0 },
    ...(options.runner ? { runner: options.runner } : {}),
    ...(options.executions ? { executions: options.executions } : {}),
    ...(options.onWriter ? { onWriter: options.onWriter } : {}),
    ...(options.waitPollMs !== undefined ? { waitPollMs: options.waitPollMs } : {}),
  });
  const request = (method: string, path: string, body?: unknown) => apiRequest(runtime, method, path, body);
  return {
    runtime,
    fake,
    tableName,
    request,
    startTask: async (agent, task) => taskId(await request("POST", "/v1/tasks", { agent, task })),
    async close() {
      // Let running executions land their writes, but never wait forever: then abort them.
      await settledWithin(runtime.executions.drain(), DRAIN_TIMEOUT_MS);
      await runtime.close();
      await fake.close();
    },
  };
}

/** How long close() lets running executions finish before aborting them. */
const DRAIN_TIMEOUT_MS = 30_000;

/** Waits for `promise` to settle, or `ms`, whichever comes first; never rejects. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([promise.catch(() => {}), timeout]);
  clearTimeout(timer);
}

/** A request to the in-process app, with the tenant's API key. */
export async function apiRequest(
  runtime: LocalRuntime,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return runtime.app.request(path, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

/** The ID of the task a `POST /v1/tasks` created; throws on any other answer. */
export async function taskId(res: Response): Promise<string> {
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /v1/tasks answered ${res.status}: ${text}`);
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== "object" || parsed === null || !("id" in parsed) || typeof parsed.id !== "string")
    throw new Error(`POST /v1/tasks returned no id: ${text}`);
  return parsed.id;
}

const FINISHED = new Set(["completed", "failed", "stopped"]);

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
    if (task && FINISHED.has(task.status)) return { task, seenAt };
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

/** `bytes` ASCII bytes of filler text. */
export function filler(bytes: number): string {
  return "abcdefghijklmnopqrstuvwxyz ".repeat(Math.ceil(bytes / 27) + 1).slice(0, bytes);
}

/** A streamed reply of `deltas` pieces of `bytes` ASCII bytes each, `delayMs` apart. */
export function streamedText(deltas: number, bytes: number, delayMs: number): FakeReply {
  const piece = filler(bytes);
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
