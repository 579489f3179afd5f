import { createHash, randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { handler as senderHandler } from "../../functions/reconciler/webhook-handler.js";
import { queueTaskEnd, sweepWebhooks } from "../../functions/reconciler/webhooks.js";
import { createLocalDynamoDocumentClient } from "../../shared/adapters/dynamo/client.js";
import { ensureTable } from "../../shared/adapters/dynamo/table.js";
import { DynamoTaskRepository } from "../../shared/adapters/dynamo/task-repository.js";
import { DynamoTenantStore } from "../../shared/adapters/dynamo/tenant-store.js";
import { DynamoWebhookStore } from "../../shared/adapters/dynamo/webhook-store.js";
import { createSqsClient, SqsDeliveryQueue } from "../../shared/adapters/sqs/webhook-queue.js";
import { newTaskRecord } from "../../shared/domain/task.js";
import { createLogger } from "../../shared/logger.js";
import { ServiceKeys } from "../../shared/security/service-secret.js";
import { TenantAdmin } from "../../shared/use-cases/tenant-admin.js";
import { WebhookDeliveries } from "../../shared/webhooks/webhook-deliveries.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import { testConfig } from "../support/test-config.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

// The cloud's webhook path wired as on AWS: the sender Lambda's entry point with the environment
// infra/constructs/webhook-delivery.ts sets, the service secret through a stand-in for the
// Parameters and Secrets extension, the table in DynamoDB Local, SQS a stand-in speaking its JSON
// protocol (outside our system), the receiver a loopback server verifying with `standardwebhooks`.

const SERVICE_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:bga-service-GhIjKl";
const SERVICE_SECRET = "service0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV";
const QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/bga-webhooks";
const tableName = `bga-test-${randomUUID()}`;
const doc = () => createLocalDynamoDocumentClient(inject("dynamodbEndpoint"));

let extension: Server;
let sqs: Server;
let receiver: WebhookReceiver;
let fake: FakeOpenAI;
let repo: DynamoTaskRepository;
let store: DynamoWebhookStore;
const sent: { target: string; body: { QueueUrl: string; MessageBody: string; DelaySeconds?: number } }[] = [];
const keys = new ServiceKeys(Buffer.from(SERVICE_SECRET, "utf8"));

beforeAll(async () => {
  const endpoint = inject("dynamodbEndpoint");
  await ensureTable(doc(), tableName);
  repo = new DynamoTaskRepository(doc(), { tableName });
  store = new DynamoWebhookStore(doc(), tableName);
  fake = await new FakeOpenAI().start();
  receiver = await new WebhookReceiver().start();
  extension = createServer((req, res) => {
    const id = new URL(req.url ?? "", "http://localhost").searchParams.get("secretId");
    if (req.headers["x-aws-parameters-secrets-token"] !== "session-token" || id !== SERVICE_ARN) {
      res.writeHead(400).end("not found");
      return;
    }
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ SecretString: SERVICE_SECRET }));
  });
  extension.listen(0, "127.0.0.1");
  await once(extension, "listening");
  // SQS's JSON protocol: SendMessage answered with the body's MD5, as SQS does (the SDK checks it).
  sqs = createServer(async (req, res) => {
    let raw = "";
    for await (const piece of req) raw += piece;
    const body = JSON.parse(raw) as (typeof sent)[number]["body"];
    sent.push({ target: String(req.headers["x-amz-target"]), body });
    const md5 = createHash("md5").update(body.MessageBody).digest("hex");
    res
      .writeHead(200, { "content-type": "application/x-amz-json-1.0" })
      .end(JSON.stringify({ MessageId: randomUUID(), MD5OfMessageBody: md5 }));
  });
  sqs.listen(0, "127.0.0.1");
  await once(sqs, "listening");
  Object.assign(process.env, {
    BGA_TABLE_NAME: tableName,
    BGA_DYNAMODB_ENDPOINT: endpoint,
    BGA_SERVICE_SECRET_ARN: SERVICE_ARN,
    BGA_WEBHOOK_QUEUE_URL: QUEUE_URL,
    BGA_STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:bga-tasks",
    BGA_ALLOW_PRIVATE_NETWORK: "true", // the receiver is on loopback
    BGA_LOG_LEVEL: "silent",
    AWS_ACCESS_KEY_ID: "ASIAEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "secret",
    AWS_SESSION_TOKEN: "session-token",
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String((extension.address() as AddressInfo).port),
    AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${(sqs.address() as AddressInfo).port}`,
  });
  // A tenant with a webhook, set through the admin use case with the deployment's service secret.
  const tenants = new DynamoTenantStore(doc(), tableName);
  const admin = new TenantAdmin(tenants, keys, () => {}, { allowPrivateNetwork: true, webhooks: store });
  await admin.create({ id: "acme", config: testConfig(fake.url) });
  await admin.create({ id: "quiet", config: testConfig(fake.url) });
  receiver.useSecret((await admin.setWebhook("acme", receiver.url)).secret);
});

afterAll(async () => {
  for (const server of [extension, sqs]) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await receiver.close();
  await fake.close();
});

beforeEach(() => {
  sent.length = 0;
});

async function endedTask(tenantId: string, status: "completed" | "stopped" = "completed") {
  const task = await repo.create({
    record: newTaskRecord({ tenant_id: tenantId, agent: "worker", caller: "root", task: "x" }),
    maxRunningTasks: 20,
  });
  await repo.transition(tenantId, task.id, "running");
  await repo.transition(tenantId, task.id, status, status === "completed" ? { result: "done" } : {});
  return task.id;
}

const sqsEvent = (...bodies: string[]) => ({
  Records: bodies.map((body, i) => ({
    messageId: `m-${i}`,
    body,
    receiptHandle: "r",
    eventSource: "aws:sqs",
  })),
});

const executionEnded = (tenantId: string, taskId: string, status: string) => ({
  source: "aws.states" as const,
  "detail-type": "Step Functions Execution Status Change" as const,
  detail: {
    executionArn: `arn:aws:states:us-east-1:123456789012:execution:bga-tasks:${taskId}`,
    stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:bga-tasks",
    name: taskId,
    status,
    input: { tenant_id: tenantId, task_id: taskId },
  },
});

describe("the cloud's webhook path", () => {
  it("the reconciler queues an ended execution's task when its tenant has a webhook, and only then", async () => {
    const queue = new SqsDeliveryQueue(createSqsClient({ region: "us-east-1" }), QUEUE_URL);
    const taskId = await endedTask("acme");
    expect(
      await queueTaskEnd({ webhooks: store, queue }, executionEnded("acme", taskId, "SUCCEEDED").detail),
    ).toEqual({
      tenantId: "acme",
      taskId,
    });
    expect(sent).toEqual([
      {
        target: "AmazonSQS.SendMessage",
        body: {
          QueueUrl: QUEUE_URL,
          MessageBody: JSON.stringify({ tenant_id: "acme", task_id: taskId }),
          DelaySeconds: 0,
        },
      },
    ]);
    const quiet = await endedTask("quiet");
    expect(
      await queueTaskEnd({ webhooks: store, queue }, executionEnded("quiet", quiet, "ABORTED").detail),
    ).toBeNull();
    expect(
      await queueTaskEnd({ webhooks: store, queue }, executionEnded("acme", taskId, "RUNNING").detail),
    ).toBeNull();
    expect(sent).toHaveLength(1);
  });

  it("the sender Lambda records the delivery, POSTs it signed, and queues the retry (5 s) when the receiver fails", async () => {
    const ok = await endedTask("acme");
    const before = receiver.received.length;
    expect(await senderHandler(sqsEvent(JSON.stringify({ tenant_id: "acme", task_id: ok })))).toEqual({
      batchItemFailures: [],
    });
    const got = receiver.received.slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]?.verifyError).toBeNull();
    expect(got[0]?.payload).toMatchObject({ type: "task.completed", data: { id: ok, result: "done" } });
    expect((await store.getDelivery({ tenantId: "acme", taskId: ok }))?.state).toBe("delivered");
    expect(sent).toEqual([]);

    receiver.failWith(502);
    const failing = await endedTask("acme", "stopped");
    const message = JSON.stringify({ tenant_id: "acme", task_id: failing });
    expect(await senderHandler(sqsEvent(message))).toEqual({ batchItemFailures: [] });
    const delivery = await store.getDelivery({ tenantId: "acme", taskId: failing });
    expect(delivery).toMatchObject({
      state: "pending",
      type: "task.stopped",
      attempts: [{ status_code: 502 }],
    });
    expect(sent).toEqual([
      {
        target: "AmazonSQS.SendMessage",
        body: { QueueUrl: QUEUE_URL, MessageBody: message, DelaySeconds: 5 },
      },
    ]);
    // The same message again before it is due (SQS delivers at least once): no second POST.
    const count = receiver.received.length;
    expect(await senderHandler(sqsEvent(message))).toEqual({ batchItemFailures: [] });
    expect(receiver.received.length).toBe(count);
  });

  it("reports a malformed message back to SQS (to land in the dead-letter queue), and handles the rest", async () => {
    const ok = await endedTask("acme");
    expect(
      await senderHandler(
        sqsEvent(
          "not json",
          JSON.stringify({ tenant_id: "acme" }),
          JSON.stringify({ tenant_id: "acme", task_id: ok }),
        ),
      ),
    ).toEqual({ batchItemFailures: [{ itemIdentifier: "m-0" }, { itemIdentifier: "m-1" }] });
    expect((await store.getDelivery({ tenantId: "acme", taskId: ok }))?.state).toBe("delivered");
  });

  it("the reconciler Lambda queues the task of a SUCCEEDED execution, and its sweep queues what is due", async () => {
    const { handler: reconciler } = await import("../../functions/reconciler/handler.js");
    const taskId = await endedTask("acme");
    // As EventBridge sends it: the execution's input as JSON text.
    const event = executionEnded("acme", taskId, "SUCCEEDED");
    const raw = { ...event, detail: { ...event.detail, input: JSON.stringify(event.detail.input) } };
    expect(await reconciler(raw)).toEqual({
      action: "ignored",
      status: "SUCCEEDED",
    });
    expect(sent.map((s) => s.body.MessageBody)).toEqual([
      JSON.stringify({ tenant_id: "acme", task_id: taskId }),
    ]);
    sent.length = 0;
    // The sweep (no task is open here): the webhook half records that task's end (its message
    // was never consumed) and queues it.
    expect(await reconciler({ action: "sweep" })).toEqual({ started: [], failed: [] });
    expect(sent.map((s) => s.body.MessageBody)).toContain(
      JSON.stringify({ tenant_id: "acme", task_id: taskId }),
    );
    expect(await store.getDelivery({ tenantId: "acme", taskId })).toMatchObject({ state: "pending" });
  });

  it("the sweep records a task end the events missed and queues it with every due delivery", async () => {
    const queue = new SqsDeliveryQueue(createSqsClient({ region: "us-east-1" }), QUEUE_URL);
    const missed = await endedTask("acme");
    const deliveries = new WebhookDeliveries(store, repo, undefined, createLogger("silent"));
    const outcome = await sweepWebhooks({
      repo,
      deliveries,
      store,
      queue,
      tenantIds: async () => ["acme", "quiet"],
      // Late enough that the earlier test's pending retry (5 s) is due too.
      now: () => new Date(Date.now() + 60_000),
    });
    // This one, and the first test's task (queued there, but its message never consumed).
    expect(outcome.recorded).toBeGreaterThanOrEqual(1);
    const queued = sent.map((s) => JSON.parse(s.body.MessageBody) as { task_id: string });
    expect(queued.map((q) => q.task_id)).toContain(missed);
    expect(outcome.queued).toBe(sent.length);
    expect(outcome.queued).toBeGreaterThanOrEqual(2);
    expect(await store.getDelivery({ tenantId: "acme", taskId: missed })).toMatchObject({
      state: "pending",
      attempts: [],
    });
  });
});
