import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import {
  createLocalRuntime,
  type LocalRuntime,
  type LocalRuntimeOptions,
  type LocalWebhookOptions,
} from "../../local/runtime.js";
import { isFinished, type Task, type TaskStatus } from "../../shared/domain/task.js";
import { createLogger } from "../../shared/logger.js";
import type { Limits } from "../../shared/tenants.js";
import type { RunnerSettings } from "../../shared/use-cases/run-agent.js";
import { FakeOpenAI } from "./fake-openai.js";
import { testConfig } from "./test-config.js";

export const API_KEY = "test-key-0123456789abcdef";
export const ADMIN_TOKEN = "test-admin-token-0123456789";
export { testConfig };

export interface HarnessOptions {
  limits?: Partial<Limits>;
  runner?: Partial<RunnerSettings>;
  config?: (baseUrl: string) => string;
  tableName?: string;
  fake?: FakeOpenAI;
  /** The default tenant's secrets (its `${env.NAME}` values and provider keys); default none. */
  tenantEnv?: Record<string, string>;
  /** DynamoDB to use (e.g. a fault-injecting proxy); default the test run's DynamoDB Local. */
  dynamodbEndpoint?: string;
  /** Completion webhooks' retry schedule, time-out and poll (default: the runtime's). */
  webhooks?: LocalWebhookOptions;
  /** Harness runs (SPEC §9): runner settings and hooks (onSpawn). */
  harnessRunner?: LocalRuntimeOptions["harness"];
}

/**
 * The real service in process: DynamoDB Local (one table per harness), the project's state
 * machine run locally, the Hono app; only the model provider is a fake.
 */
export async function startHarness(options: HarnessOptions = {}) {
  const fake = options.fake ?? (await new FakeOpenAI().start());
  const tableName = options.tableName ?? `bga-test-${randomUUID()}`;
  const runtime: LocalRuntime = await createLocalRuntime({
    dynamodbEndpoint: options.dynamodbEndpoint ?? inject("dynamodbEndpoint"),
    tableName,
    defaultTenant: {
      config: (options.config ?? testConfig)(fake.url),
      apiKey: API_KEY,
      ...(options.limits ? { limits: options.limits } : {}),
      env: options.tenantEnv ?? {},
    },
    adminToken: ADMIN_TOKEN,
    runner: { flushIntervalMs: 100, ...options.runner },
    retryIntervalMs: 20,
    modelMaxRetries: 0,
    ssePollMs: 30,
    sseKeepaliveMs: 300,
    waitPollMs: 30,
    ...(options.webhooks ? { webhooks: options.webhooks } : {}),
    log: createLogger(process.env.BGA_TEST_LOG === "1" ? "debug" : "silent"),
    ...(options.harnessRunner ? { harness: options.harnessRunner } : {}),
  });

  const headers = (extra: Record<string, string> = {}) => ({
    authorization: `Bearer ${API_KEY}`,
    "content-type": "application/json",
    ...extra,
  });

  async function request(method: string, path: string, body?: unknown, extra?: Record<string, string>) {
    const res = await runtime.app.request(path, {
      method,
      headers: headers(extra),
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return {
      status: res.status,
      json: json as Record<string, unknown> & { error?: { code: string; message: string } },
      text,
      headers: res.headers,
    };
  }

  async function run(agent: string, task: string, extra: Record<string, unknown> = {}): Promise<Task> {
    const res = await request("POST", "/v1/tasks", { agent, task, ...extra });
    if (res.status !== 201) throw new Error(`run failed: ${res.status} ${res.text}`);
    return res.json as unknown as Task;
  }

  async function getTask(id: string, extra?: Record<string, string>): Promise<Task> {
    const res = await request("GET", `/v1/tasks/${id}`, undefined, extra);
    if (res.status !== 200) throw new Error(`get failed: ${res.status} ${res.text}`);
    return res.json as unknown as Task;
  }

  /** Polls a task until `predicate` holds; `extra` headers, e.g. another tenant's key. */
  async function waitFor(
    id: string,
    predicate: (t: Task) => boolean = (t) => isFinished(t.status),
    timeoutMs = 20_000,
    extra?: Record<string, string>,
  ): Promise<Task> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const t = await getTask(id, extra);
      if (predicate(t)) return t;
      if (Date.now() > deadline) throw new Error(`timed out waiting on ${id}: ${JSON.stringify(t)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async function waitForStatus(id: string, status: TaskStatus, timeoutMs?: number): Promise<Task> {
    const t = await waitFor(id, (x) => x.status === status || isFinished(x.status), timeoutMs);
    if (t.status !== status) throw new Error(`expected ${status}, got ${t.status}: ${JSON.stringify(t)}`);
    return t;
  }

  async function allChunks(id: string) {
    const out: { seq: number; kind: string; text: string; at: string }[] = [];
    let after = 0;
    for (;;) {
      const res = await request("GET", `/v1/tasks/${id}/output?after=${after}&limit=1000`);
      const page = res.json as unknown as { chunks: typeof out; next_after: number };
      out.push(...page.chunks);
      if (page.chunks.length === 0) return out;
      after = page.next_after;
    }
  }

  return {
    fake,
    runtime,
    tableName,
    request,
    run,
    getTask,
    waitFor,
    waitForStatus,
    allChunks,
    async close() {
      await runtime.close();
      if (!options.fake) await fake.close();
    },
  };
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;
