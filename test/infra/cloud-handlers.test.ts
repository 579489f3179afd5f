import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { createLocalDynamoDocumentClient } from "../../shared/adapters/dynamo/client.js";
import { ensureTable } from "../../shared/adapters/dynamo/table.js";
import { DynamoTaskRepository } from "../../shared/adapters/dynamo/task-repository.js";
import { DynamoTenantDirectory } from "../../shared/adapters/dynamo/tenant-directory.js";
import { DynamoTenantStore } from "../../shared/adapters/dynamo/tenant-store.js";
import { createLogger } from "../../shared/logger.js";
import { ServiceKeys } from "../../shared/security/service-secret.js";
import { DEFAULT_LIMITS } from "../../shared/tenants.js";
import { TaskService } from "../../shared/use-cases/task-service.js";
import { FakeOpenAI } from "../support/fake-openai.js";

// The Lambda entry points of the API and the runner, wired as on AWS: the environment the CDK
// constructs set, the secrets through a stand-in for the Parameters and Secrets extension, the
// table in DynamoDB Local. Step Functions is a stand-in that knows no state machine (the runner
// step is invoked directly).

const ADMIN_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:bga-admin-AbCdEf";
const SERVICE_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:bga-service-GhIjKl";
const ADMIN_TOKEN = "admin0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH";
const SERVICE_SECRET = "service0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV";
const tableName = `bga-test-${randomUUID()}`;

type Invoke = (event: unknown, stream: PassThrough, context: unknown) => Promise<void>;
let api: Invoke;
let runner: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
let extension: Server;
let stepFunctions: Server;
let fake: FakeOpenAI;

/** What Lambda passes as the context of an invocation. */
function lambdaContext(functionName: string, awsRequestId: string) {
  return {
    awsRequestId,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: "1024",
    getRemainingTimeInMillis: () => 60_000,
  };
}
let invocations = 0;
const nextRequestId = () => `req-${++invocations}`;

/** Every line the functions write (Lambda sends stdout and stderr to CloudWatch Logs). */
const output: string[] = [];
/** The JSON lines of the output: log entries and EMF metric documents. */
function jsonLines(): Record<string, unknown>[] {
  return output
    .join("")
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

beforeAll(async () => {
  const endpoint = inject("dynamodbEndpoint");
  await ensureTable(createLocalDynamoDocumentClient(endpoint), tableName);
  fake = await new FakeOpenAI().start();
  extension = createServer((req, res) => {
    const id = new URL(req.url ?? "", "http://localhost").searchParams.get("secretId");
    const value = { [ADMIN_ARN]: ADMIN_TOKEN, [SERVICE_ARN]: SERVICE_SECRET }[id ?? ""];
    if (req.headers["x-aws-parameters-secrets-token"] !== "session-token" || !value) {
      res.writeHead(400).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ SecretString: value }));
  });
  extension.listen(0, "127.0.0.1");
  await once(extension, "listening");
  // Step Functions' JSON protocol: every StartExecution is refused as for a missing state machine.
  stepFunctions = createServer((_req, res) => {
    res
      .writeHead(400, { "content-type": "application/x-amz-json-1.0" })
      .end(JSON.stringify({ __type: "StateMachineDoesNotExist", message: "State Machine Does Not Exist" }));
  });
  stepFunctions.listen(0, "127.0.0.1");
  await once(stepFunctions, "listening");
  Object.assign(process.env, {
    BGA_TABLE_NAME: tableName,
    BGA_DYNAMODB_ENDPOINT: endpoint,
    BGA_STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:bga-tasks",
    BGA_ADMIN_TOKEN_SECRET_ARN: ADMIN_ARN,
    BGA_SERVICE_SECRET_ARN: SERVICE_ARN,
    // As infra/constructs/api-function.ts sets it from the stack's `defaultLimits` setting.
    BGA_DEFAULT_LIMITS: JSON.stringify({ max_running_tasks: 7, retention_days: 14 }),
    BGA_ALLOW_PRIVATE_NETWORK: "true", // the fake model is on loopback
    BGA_LOG_LEVEL: "silent",
    // What Lambda sets for an on-demand instance: Powertools counts its first invocation a cold start.
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
    // What Lambda sets from the function's role (the SDK's default chain reads them first).
    AWS_ACCESS_KEY_ID: "ASIAEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "secret",
    AWS_SESSION_TOKEN: "session-token",
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String((extension.address() as AddressInfo).port),
    AWS_ENDPOINT_URL_SFN: `http://127.0.0.1:${(stepFunctions.address() as AddressInfo).port}`,
    // Must never reach a tenant's model call: tenants' keys come from their own secrets.
    OPENAI_API_KEY: "sk-from-the-function-environment",
  });
  // What the Lambda Node.js runtime provides to streaming handlers.
  Object.assign(globalThis, {
    awslambda: {
      streamifyResponse: (fn: Invoke) => fn,
      HttpResponseStream: {
        from: (stream: PassThrough & { meta?: unknown }, meta: unknown) => Object.assign(stream, { meta }),
      },
    },
  });
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    vi.spyOn(stream, "write").mockImplementation((chunk: unknown, ...rest: unknown[]) => {
      output.push(String(chunk));
      return write(chunk, ...rest);
    });
  }
  // Loaded only now, as Lambda loads a bundle: nothing from the test's own imports first.
  api = (await import("../../functions/api/handler.js")).handler as unknown as Invoke;
  runner = (await import("../../functions/runner/handler.js")).handler;
});

afterAll(async () => {
  vi.restoreAllMocks();
  extension.closeAllConnections();
  await new Promise((resolve) => extension.close(resolve));
  stepFunctions.closeAllConnections();
  await new Promise((resolve) => stepFunctions.close(resolve));
  await fake.close();
});

async function call(
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  raw = false,
  requestId = nextRequestId(),
) {
  const stream = new PassThrough() as PassThrough & {
    meta?: { statusCode: number; headers?: Record<string, string> };
  };
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  const host = "abc.lambda-url.us-east-1.on.aws";
  await api(
    {
      version: "2.0",
      routeKey: "$default",
      rawPath: path,
      rawQueryString: "",
      headers: {
        host,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { "content-type": "application/json" } : {}),
      },
      requestContext: {
        http: { method, path, protocol: "HTTP/1.1", sourceIp: "192.0.2.1" },
        domainName: host,
      },
      body: body ? JSON.stringify(body) : undefined,
      isBase64Encoded: false,
    },
    stream,
    lambdaContext("bga-api", requestId),
  );
  // A streamed body (SSE) may still be flowing when the handler's promise settles.
  if (!stream.writableFinished) await once(stream, "finish");
  const text = Buffer.concat(chunks).toString("utf8");
  return {
    status: stream.meta?.statusCode,
    headers: stream.meta?.headers,
    text,
    json: !raw && text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

describe("the cloud handlers", () => {
  let apiKey = "";

  it("start with no tenant: tenants are created through the admin API, with the deployment's default limits", async () => {
    expect((await call("GET", "/v1/admin/tenants", ADMIN_TOKEN)).json).toEqual({ tenants: [] });
    const config = [
      "models:",
      `  m: { provider: openai, model: fake-model, base_url: '${fake.url}' }`,
      "agents:",
      "  root: { model: m, sub_agents: [worker] }",
      "  worker: { model: m, instruction: You are a worker. }",
    ].join("\n");
    const created = await call("POST", "/v1/admin/tenants", ADMIN_TOKEN, { id: "acme", config });
    expect(created.status).toBe(201);
    // The deployment's default limits, the rest the code's defaults.
    expect((created.json.tenant as { limits: unknown }).limits).toEqual({
      ...DEFAULT_LIMITS,
      max_running_tasks: 7,
      retention_days: 14,
    });
    apiKey = String(created.json.api_key);
    const secrets = { OPENAI_API_KEY: "sk-acme-own-key" };
    expect((await call("PUT", "/v1/admin/tenants/acme/secrets", ADMIN_TOKEN, secrets)).status).toBe(200);
  });

  it("authenticate tenant keys and keep them out of the admin API", async () => {
    expect((await call("GET", "/v1/tasks", apiKey)).status).toBe(200);
    expect((await call("GET", "/v1/tasks", "bga_not-a-key")).status).toBe(401);
    expect((await call("GET", "/v1/admin/tenants", apiKey)).status).toBe(403);
    expect((await call("GET", "/v1/admin/tenants", "wrong-admin-token-0123456789")).status).toBe(401);
  });

  it("run a step with the tenant's own provider key, never the function's environment", async () => {
    const doc = createLocalDynamoDocumentClient(inject("dynamodbEndpoint"));
    const keys = new ServiceKeys(Buffer.from(SERVICE_SECRET, "utf8"));
    const tenant = await new DynamoTenantDirectory(new DynamoTenantStore(doc, tableName), keys).get("acme");
    if (!tenant) throw new Error("tenant acme was not created");
    const repo = new DynamoTaskRepository(doc, { tableName, retentionDays: 30, maxTaskSeconds: 3600 });
    const noExecutions = {
      start: async () => {},
      stop: async () => {},
      describe: async () => "missing" as const,
    };
    const service = new TaskService(repo, noExecutions, createLogger("silent"));
    const { task } = await service.run({ tenant, caller: "root", agent: "worker", task: "say hi" });

    fake.enqueue({ text: "hi" });
    await expect(
      runner(
        { action: "run", tenant_id: "acme", task_id: task.id },
        lambdaContext("bga-runner", nextRequestId()),
      ),
    ).resolves.toMatchObject({ done: true });
    expect(await repo.get("acme", task.id, true)).toMatchObject({ status: "completed", result: "hi" });
    expect(fake.requests.at(-1)?.headers.authorization).toBe("Bearer sk-acme-own-key");
    lastTaskId = task.id;
  });

  it("stream a task's events over SSE through the Function URL's response stream", async () => {
    const res = await call("GET", `/v1/tasks/${lastTaskId}/events`, apiKey, undefined, true);
    expect(res.status).toBe(200);
    expect(res.headers?.["content-type"]).toContain("text/event-stream");
    expect(res.text).toContain('event: status\ndata: {"status":"completed"');
    expect(res.text).toMatch(
      /event: chunk\ndata: \{"seq":1,"kind":"text","text":"hi","at":"[^"]+"\}\nid: 1\n\n$/,
    );
  });

  it("put the invocation's request ID on every log line, and count one cold start per function", async () => {
    // The API logs the refused StartExecution (the task is marked failed), tagged with its request.
    const refused = await call(
      "POST",
      "/v1/tasks",
      apiKey,
      { agent: "worker", task: "hi" },
      false,
      "req-api-start",
    );
    expect(refused.status).toBe(503);
    // The runner logs a step the state machine gave up on, tagged with its own request.
    await runner(
      { action: "fail", tenant_id: "acme", task_id: lastTaskId, error: "States.Timeout" },
      lambdaContext("bga-runner", "req-runner-fail"),
    );
    const lines = jsonLines();
    expect(lines.find((l) => l.message === "execution start failed")).toMatchObject({
      service: "bga-api",
      function_request_id: "req-api-start",
      function_name: "bga-api",
    });
    expect(lines.find((l) => l.message === "runner step failed for good")).toMatchObject({
      service: "bga-runner",
      function_request_id: "req-runner-fail",
      error: "States.Timeout",
    });
    // Each function was invoked more than once; its ColdStart metric was written once (EMF).
    const coldStarts = (service: string) =>
      lines.filter((l) => l.service === service && "ColdStart" in l && "_aws" in l);
    expect(invocations).toBeGreaterThan(2);
    expect(coldStarts("bga-api")).toEqual([
      expect.objectContaining({ ColdStart: 1, function_name: "bga-api" }),
    ]);
    expect(coldStarts("bga-runner")).toEqual([
      expect.objectContaining({ ColdStart: 1, function_name: "bga-runner" }),
    ]);
  });
});

let lastTaskId = "";
