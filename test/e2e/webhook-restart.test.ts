import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/main.js";
import { freePort } from "../../local/embedded-dynamodb.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import {
  dynamoDbLocalsFor,
  killDynamoDbLocalsUnder,
  type ServerProcess,
  serverEnv,
  startServer,
  stopServer,
} from "../support/server-process.js";
import { testConfig } from "../support/test-config.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

/**
 * Issue 14 ("Done means"): `npm start` killed with SIGKILL while a webhook delivery waits for its
 * retry, then started again on the same data dir: the retry is still made, from the delivery's
 * record in the table (the killed process's timer is gone), with the same webhook-id.
 */

const KEY = "webhook-key-0123456789abcdef";
const ADMIN = "webhook-admin-0123456789abcdef";
const root = mkdtempSync(join(tmpdir(), "bga-webhook-restart-"));
const dataDir = join(root, "data");
const dbDir = join(dataDir, "dynamodb");
let fake: FakeOpenAI;
let receiver: WebhookReceiver;
let env: NodeJS.ProcessEnv;
let base = "";
const started: ServerProcess[] = [];

async function call<T>(
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
}

/** The CLI, in process, against the server. */
async function bga(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const code = await main(args, {
    stdout: stdout,
    stderr: stderr,
    stdin: process.stdin,
    env: { BGA_ENDPOINT: base, BGA_ADMIN_TOKEN: ADMIN },
    cwd: root,
  });
  return { code, stdout: out, stderr: err };
}

interface Delivery {
  webhook_id: string;
  task_id: string;
  state: string;
  attempts: { status_code: number | null }[];
}

beforeAll(async () => {
  fake = await new FakeOpenAI().start();
  receiver = await new WebhookReceiver().start();
  const configPath = join(root, "agents.yaml");
  writeFileSync(configPath, testConfig(fake.url));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  env = serverEnv({
    PORT: String(port),
    BGA_CONFIG: configPath,
    BGA_API_KEY: KEY,
    BGA_ADMIN_TOKEN: ADMIN,
    BGA_DATA_DIR: dataDir,
    // The first retry 8 s after the first failure (the default is 5 s, then 5 min, …).
    BGA_WEBHOOK_RETRY_SCHEDULE_MS: "8000,8000",
  });
});

afterAll(async () => {
  for (const server of started) await stopServer(server, "SIGKILL");
  killDynamoDbLocalsUnder(root);
  await fake?.close();
  await receiver?.close();
  rmSync(root, { recursive: true, force: true });
});

describe("npm start killed during a webhook's backoff, then started again", () => {
  it("still delivers the event, with the same webhook-id, and the CLI shows both attempts", async () => {
    fake.setFallback({ text: "done" });
    const first = await startServer(env);
    started.push(first);

    const set = await bga("admin", "webhook", "set", "default", receiver.url, "--json");
    expect(set.code, set.stderr).toBe(0);
    receiver.useSecret(String(JSON.parse(set.stdout).secret));
    receiver.failWith(503);

    const run = await call<{ id: string }>("POST", "/v1/tasks", KEY, { agent: "worker", task: "x" });
    expect(run.status).toBe(201);
    const taskId = run.json.id;

    // The first attempt failed and is recorded; the retry waits.
    await vi.waitFor(
      async () => {
        const { json } = await call<{ deliveries: Delivery[] }>(
          "GET",
          "/v1/admin/tenants/default/webhook/deliveries",
          ADMIN,
        );
        expect(json.deliveries.find((d) => d.task_id === taskId)).toMatchObject({
          state: "pending",
          attempts: [{ status_code: 503 }],
        });
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(receiver.received).toHaveLength(1);

    await stopServer(first, "SIGKILL");
    const killedAt = Date.now();
    await vi.waitFor(() => expect(dynamoDbLocalsFor(dbDir)).toEqual([]), { timeout: 15_000, interval: 100 });
    expect(receiver.received).toHaveLength(1);

    const second = await startServer(env);
    started.push(second);
    const [failed, delivered] = await receiver.waitForCount(2, 30_000);
    expect(receiver.received).toHaveLength(2);
    expect(delivered?.receivedAt).toBeGreaterThan(killedAt);
    expect(failed?.headers.id).toBe(`msg_${taskId}`);
    expect(delivered?.headers.id).toBe(`msg_${taskId}`);
    expect(delivered?.verifyError).toBeNull();
    expect(delivered?.payload).toMatchObject({
      type: "task.completed",
      data: { id: taskId, status: "completed" },
    });

    const status = await bga("admin", "webhook", "status", "default");
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`Webhook: ${receiver.url}`);
    expect(status.stdout).toContain(`${taskId}  task.completed  delivered  (webhook-id msg_${taskId})`);
    expect(status.stdout).toMatch(/1 +\S.*HTTP 503/);
    expect(status.stdout).toMatch(/2 +\S.*HTTP 200/);

    await stopServer(second, "SIGTERM");
  }, 120_000);
});
