import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DynamoTaskRepository } from "../../shared/adapters/dynamo/task-repository.js";
import { DynamoTenantStore } from "../../shared/adapters/dynamo/tenant-store.js";
import { DynamoWebhookStore } from "../../shared/adapters/dynamo/webhook-store.js";
import { newTaskRecord } from "../../shared/domain/task.js";
import { createLogger } from "../../shared/logger.js";
import { ServiceKeys } from "../../shared/security/service-secret.js";
import { LOST_EXECUTION_ERROR } from "../../shared/use-cases/sweep.js";
import { TenantAdmin } from "../../shared/use-cases/tenant-admin.js";
import { webhookSecretContext } from "../../shared/webhooks/delivery-records.js";
import { WebhookDeliveries } from "../../shared/webhooks/webhook-deliveries.js";
import { newWebhookSecret } from "../../shared/webhooks/webhook-secret.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import { ADMIN_TOKEN, type Harness, startHarness } from "../support/harness.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

let fake: FakeOpenAI;
let h: Harness;
let receiver: WebhookReceiver;

/** Retries 150 ms apart here; the default schedule is 5 s, 5 min, 30 min, … (27.6 h). */
const FAST_RETRIES = [150, 150, 150];

beforeAll(async () => {
  fake = await new FakeOpenAI().start();
  receiver = await new WebhookReceiver().start();
  h = await startHarness({ fake, webhooks: { retryScheduleMs: FAST_RETRIES, pollMs: 100 } });
});
afterAll(async () => {
  await h.close();
  await fake.close();
  await receiver.close();
});
beforeEach(() => fake.reset());

const admin = (method: string, path: string, body?: unknown) =>
  h.request(method, path, body, { authorization: `Bearer ${ADMIN_TOKEN}` });

async function setWebhook(url = receiver.url): Promise<string> {
  const res = await admin("PUT", "/v1/admin/tenants/default/webhook", { url });
  expect(res.status, res.text).toBe(200);
  const secret = String(res.json.secret);
  receiver.useSecret(secret);
  return secret;
}

interface DeliveryView {
  webhook_id: string;
  task_id: string;
  type: string;
  state: string;
  attempts: { at: string; status_code: number | null; error: string | null; duration_ms: number }[];
}

async function deliveryOf(taskId: string): Promise<DeliveryView | undefined> {
  const res = await admin("GET", "/v1/admin/tenants/default/webhook/deliveries?limit=100");
  expect(res.status, res.text).toBe(200);
  return (res.json.deliveries as DeliveryView[]).find((d) => d.task_id === taskId);
}

async function settledDelivery(taskId: string): Promise<DeliveryView> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const d = await deliveryOf(taskId);
    if (d && d.state !== "pending") return d;
    if (Date.now() > deadline) throw new Error(`delivery of ${taskId} not settled: ${JSON.stringify(d)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const forTask = (taskId: string) =>
  receiver.received.filter((r) => r.payload?.data.id === taskId || r.body.includes(taskId));

describe("completion webhooks: admin", () => {
  it("PUT returns the URL and a whsec_ secret once; GET never shows the secret; DELETE removes it", async () => {
    const put = await admin("PUT", "/v1/admin/tenants/default/webhook", { url: receiver.url });
    expect(put.status, put.text).toBe(200);
    expect(put.json.url).toBe(receiver.url);
    const secret = String(put.json.secret);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice("whsec_".length), "base64").length).toBeGreaterThanOrEqual(24);

    const get = await admin("GET", "/v1/admin/tenants/default/webhook");
    expect(get.status).toBe(200);
    expect(get.json).toEqual({ url: receiver.url, created_at: expect.any(String) });
    expect(get.text).not.toContain(secret.slice(6, 20));
    // Not in the tenant list either.
    expect((await admin("GET", "/v1/admin/tenants")).text).not.toContain(secret.slice(6, 20));

    // Setting it again makes a new secret.
    const again = await admin("PUT", "/v1/admin/tenants/default/webhook", { url: receiver.url });
    expect(again.json.secret).not.toBe(secret);

    expect((await admin("DELETE", "/v1/admin/tenants/default/webhook")).status).toBe(204);
    const gone = await admin("GET", "/v1/admin/tenants/default/webhook");
    expect(gone.status).toBe(404);
    expect((await admin("DELETE", "/v1/admin/tenants/default/webhook")).status).toBe(404);
  });

  it("refuses bad input with a 4xx: unknown tenant, not a URL, another scheme, extra fields, a tenant key", async () => {
    const nobody = await admin("PUT", "/v1/admin/tenants/nobody/webhook", { url: receiver.url });
    expect(nobody.status).toBe(404);
    expect(nobody.json.error?.code).toBe("tenant_not_found");
    expect((await admin("DELETE", "/v1/admin/tenants/nobody/webhook")).status).toBe(404);
    expect((await admin("GET", "/v1/admin/tenants/nobody/webhook/deliveries")).status).toBe(404);
    const notUrl = await admin("PUT", "/v1/admin/tenants/default/webhook", { url: "not a url" });
    expect(notUrl.status).toBe(400);
    expect(notUrl.json.error?.message).toContain("invalid webhook URL");
    expect(
      (await admin("PUT", "/v1/admin/tenants/default/webhook", { url: "ftp://x.example/" })).status,
    ).toBe(400);
    expect(
      (await admin("PUT", "/v1/admin/tenants/default/webhook", { url: "https://u:p@x.example/" })).status,
    ).toBe(400);
    expect(
      (await admin("PUT", "/v1/admin/tenants/default/webhook", { url: receiver.url, x: 1 })).status,
    ).toBe(400);
    expect((await admin("PUT", "/v1/admin/tenants/default/webhook", {})).status).toBe(400);
    expect((await admin("GET", "/v1/admin/tenants/default/webhook/deliveries?limit=0")).status).toBe(400);
    expect((await admin("POST", "/v1/admin/tenants/default/webhook", { url: receiver.url })).status).toBe(
      405,
    );
    expect((await h.request("PUT", "/v1/admin/tenants/default/webhook", { url: receiver.url })).status).toBe(
      403,
    );
  });

  it("follows the private-network rule where private networks are not allowed (the cloud's setting)", async () => {
    const store = new DynamoTenantStore(h.runtime.table.doc, h.tableName);
    const webhooks = new DynamoWebhookStore(h.runtime.table.doc, h.tableName);
    const cloud = new TenantAdmin(store, new ServiceKeys(ServiceKeys.generateSecret()), () => {}, {
      allowPrivateNetwork: false,
      webhooks,
    });
    for (const url of [
      "http://public.example/hook", // https only
      "https://127.0.0.1/hook",
      "https://10.1.2.3/hook",
      "https://[::1]/hook",
      "https://169.254.169.254/latest",
      "https://localhost/hook",
      "https://hooks.localhost./x",
    ]) {
      await expect(cloud.setWebhook("default", url), url).rejects.toMatchObject({ code: "invalid_request" });
    }
    await expect(cloud.setWebhook("default", "https://hooks.example.com/bga")).resolves.toMatchObject({
      url: "https://hooks.example.com/bga",
      secret: expect.stringMatching(/^whsec_/),
    });
  });
});

describe("completion webhooks: delivery", () => {
  it("POSTs task.completed with the task object, signed so that the standardwebhooks package verifies it", async () => {
    await setWebhook();
    fake.enqueue({ text: "the answer" });
    const task = await h.run("worker", "say it");
    const done = await h.waitForStatus(task.id, "completed");
    const delivery = await settledDelivery(task.id);
    expect(delivery).toMatchObject({
      state: "delivered",
      type: "task.completed",
      webhook_id: `msg_${task.id}`,
    });
    const [got] = forTask(task.id);
    expect(got?.verifyError).toBeNull();
    expect(got?.payload).toEqual({ type: "task.completed", data: done });
    expect(got?.headers.id).toBe(`msg_${task.id}`);
    expect(got?.headers.signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(delivery.attempts).toEqual([
      { at: expect.any(String), status_code: 200, error: null, duration_ms: expect.any(Number) },
    ]);
  });

  it("a receiver failing twice still gets the event, with the same webhook-id, each attempt recorded", async () => {
    await setWebhook();
    receiver.failWith(500, 503);
    fake.enqueue({ text: "third time lucky" });
    const task = await h.run("worker", "go");
    await h.waitForStatus(task.id, "completed");
    const delivery = await settledDelivery(task.id);
    expect(delivery.state).toBe("delivered");
    expect(delivery.attempts.map((a) => a.status_code)).toEqual([500, 503, 200]);
    expect(delivery.attempts[0]?.error).toBe("HTTP 500");
    const got = forTask(task.id);
    expect(got.map((r) => r.answered)).toEqual([500, 503, 200]);
    expect(new Set(got.map((r) => r.headers.id))).toEqual(new Set([`msg_${task.id}`]));
    for (const r of got) expect(r.verifyError).toBeNull();
    // Attempts in order, the retries after the failures.
    const times = delivery.attempts.map((a) => Date.parse(a.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it("sends task.stopped and task.failed", async () => {
    await setWebhook();
    let release!: () => void;
    fake.enqueue({ text: ["a", "b"], holdAfter: 1, hold: new Promise<void>((r) => (release = r)) });
    const running = await h.run("worker", "long");
    await h.waitForStatus(running.id, "running");
    expect((await h.request("POST", `/v1/tasks/${running.id}/stop`)).status).toBe(200);
    release();
    expect(await settledDelivery(running.id)).toMatchObject({ type: "task.stopped", state: "delivered" });
    expect(forTask(running.id)[0]?.payload).toMatchObject({
      type: "task.stopped",
      data: { status: "stopped" },
    });

    fake.enqueue({ status: 400 });
    const failing = await h.run("worker", "fail");
    await h.waitForStatus(failing.id, "failed");
    expect(await settledDelivery(failing.id)).toMatchObject({ type: "task.failed", state: "delivered" });
    expect(forTask(failing.id)[0]?.payload).toMatchObject({
      type: "task.failed",
      data: { status: "failed" },
    });
  });

  it("sends task.failed for a task the sweep ended (its execution was gone)", async () => {
    await setWebhook();
    const task = await h.runtime.repo.create({
      record: newTaskRecord({ tenant_id: "default", agent: "worker", caller: "root", task: "orphan" }),
      maxRunningTasks: 20,
    });
    await h.runtime.repo.transition("default", task.id, "running");
    const swept = await h.runtime.sweep();
    expect(swept.failed).toContain(task.id);
    const delivery = await settledDelivery(task.id);
    expect(delivery).toMatchObject({ type: "task.failed", state: "delivered" });
    expect(forTask(task.id)[0]?.payload).toMatchObject({
      type: "task.failed",
      data: { id: task.id, status: "failed", error: LOST_EXECUTION_ERROR },
    });
  });

  it("gives up after the schedule runs out, every attempt recorded (a receiver that is down)", async () => {
    await setWebhook();
    receiver.failWith(500, 500, 500, 500);
    fake.enqueue({ text: "nobody listens" });
    const task = await h.run("worker", "go");
    await h.waitForStatus(task.id, "completed");
    const delivery = await settledDelivery(task.id);
    expect(delivery.state).toBe("failed");
    expect(delivery.attempts.map((a) => a.status_code)).toEqual([500, 500, 500, 500]);
  });

  it("the sweep records the delivery of a task end that a dead process never recorded", async () => {
    await setWebhook();
    let release!: () => void;
    fake.enqueue({ text: ["x", "y"], holdAfter: 1, hold: new Promise<void>((r) => (release = r)) });
    const task = await h.run("worker", "long");
    await h.waitForStatus(task.id, "running");
    // Another process (the plain repository: no listener) stops it, then dies before recording.
    const doc = h.runtime.table.doc;
    const other = new DynamoTaskRepository(doc, { tableName: h.tableName });
    expect((await other.transition("default", task.id, "stopped")).moved).toBe(true);
    release();
    await new Promise((r) => setTimeout(r, 300));
    expect(await deliveryOf(task.id)).toBeUndefined();
    const created = await h.runtime.webhooks.sweepMissed();
    expect(created).toEqual([{ tenantId: "default", taskId: task.id }]);
    expect(await settledDelivery(task.id)).toMatchObject({ type: "task.stopped", state: "delivered" });
    // Once only: a second sweep finds it recorded.
    expect(await h.runtime.webhooks.sweepMissed()).toEqual([]);
  });

  // Last: it stops the runtime's delivery poll.
  it("refuses to connect to a private address at delivery time when private networks are not allowed", async () => {
    const doc = h.runtime.table.doc;
    const store = new DynamoWebhookStore(doc, h.tableName);
    const keys = new ServiceKeys(ServiceKeys.generateSecret());
    const tenantId = "default";
    fake.enqueue({ text: "done" });
    await admin("DELETE", "/v1/admin/tenants/default/webhook");
    const task = await h.run("worker", "x");
    await h.waitForStatus(task.id, "completed");
    // A webhook on loopback written straight to the table (the admin API of such a deployment
    // refuses it): the guarded fetch still refuses to connect.
    await store.putWebhook({
      tenantId,
      url: receiver.url,
      secretBlob: keys.encrypt(newWebhookSecret(), webhookSecretContext(tenantId)),
      createdAt: new Date().toISOString(),
    });
    const before = receiver.received.length;
    // The runtime's own poll would take this delivery first (and fail to decrypt its secret).
    await h.runtime.webhooks.queue.close();
    const cloud = new WebhookDeliveries(store, h.runtime.repo, keys, createLogger("silent"), {
      allowPrivateNetwork: false,
      retryScheduleMs: [],
    });
    // The runtime's own deliveries are not told of this end; this one records and sends it.
    await cloud.taskEnded({ tenantId, taskId: task.id });
    expect(await cloud.attempt({ tenantId, taskId: task.id })).toEqual({ kind: "gave_up" });
    const delivery = await store.getDelivery({ tenantId, taskId: task.id });
    expect(delivery?.state).toBe("failed");
    expect(delivery?.attempts[0]?.status_code).toBeNull();
    expect(delivery?.attempts[0]?.error).toMatch(/loopback, private or link-local/);
    expect(receiver.received.length).toBe(before);
    await admin("DELETE", "/v1/admin/tenants/default/webhook");
  });
});
