import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  createLocalDynamoDocumentClient,
  TRANSACTION_ATTEMPTS,
} from "../../shared/adapters/dynamo/client.js";
import { DynamoTaskRepository } from "../../shared/adapters/dynamo/task-repository.js";
import { newTaskRecord } from "../../shared/domain/task.js";
import {
  DynamoFaultProxy,
  INTERNAL_SERVER_ERROR,
  transactionConflict,
} from "../support/dynamo-fault-proxy.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import { type Harness, startHarness } from "../support/harness.js";

let fake: FakeOpenAI;
let proxy: DynamoFaultProxy;
let h: Harness;

beforeAll(async () => {
  fake = await new FakeOpenAI().start();
  proxy = await new DynamoFaultProxy(inject("dynamodbEndpoint")).start();
  h = await startHarness({ fake, dynamodbEndpoint: proxy.url });
});
afterAll(async () => {
  await h.close();
  await proxy.close();
  await fake.close();
});

describe("writes that keep failing (a fault-injecting proxy in front of DynamoDB Local)", () => {
  it("a flush that fails on every retry loses no output: its chunks are written with the next one", async () => {
    const words = Array.from({ length: 80 }, (_, i) => `w${i} `);
    fake.enqueue({ text: words, delayMs: 10 });
    const task = await h.run("worker", "eighty words");
    // Mid-stream, fail the next flush and all of the SDK's retries of it (3 attempts, and more).
    await h.waitFor(task.id, (t) => t.last_seq >= 2);
    proxy.failNext("TransactWriteItems", 4);
    const done = await h.waitForStatus(task.id, "completed");
    expect(proxy.injected.get("TransactWriteItems")).toBe(4);
    const chunks = await h.allChunks(task.id);
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i + 1));
    expect(chunks.map((c) => c.text).join("")).toBe(words.join(""));
    expect(done.result).toBe(words.join(""));
    expect(done.output_bytes).toBe(Buffer.byteLength(words.join("")));
  });
});

describe("a write applied whose answer was lost", () => {
  it("is sent again with the same request token: answered as done, not refused as superseded; the task goes on", async () => {
    const words = Array.from({ length: 60 }, (_, i) => `v${i} `);
    fake.enqueue({ text: words, delayMs: 10 });
    const task = await h.run("worker", "sixty words");
    await h.waitFor(task.id, (t) => t.last_seq >= 2);
    // The next flush is applied by DynamoDB Local, but its answer (and the SDK's retries') is a 500.
    proxy.injected.clear();
    proxy.failNext("TransactWriteItems", 4, { ...INTERNAL_SERVER_ERROR, afterApplying: true });
    const done = await h.waitForStatus(task.id, "completed");
    expect(proxy.injected.get("TransactWriteItems")).toBe(4);
    const chunks = await h.allChunks(task.id);
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i + 1));
    expect(chunks.map((c) => c.text).join("")).toBe(words.join(""));
    expect(done.result).toBe(words.join(""));
  });
});

describe("transaction conflicts", () => {
  it("a finishing write that conflicts with a concurrent transaction is retried, then applied", async () => {
    const repo = new DynamoTaskRepository(createLocalDynamoDocumentClient(proxy.url), {
      tableName: h.tableName,
    });
    const record = newTaskRecord({ tenant_id: "conflicts", agent: "worker", caller: "root", task: "x" });
    await repo.create({ record, maxRunningTasks: 5 });
    await repo.transition("conflicts", record.id, "running");
    proxy.injected.clear();
    // The task's update and the tenant's counters item: the counters item is the one held.
    proxy.failNext("TransactWriteItems", 3, transactionConflict(2, 1));
    const moved = await repo.transition("conflicts", record.id, "completed", { result: "done" });
    expect(moved.moved && moved.task.status).toBe("completed");
    expect(proxy.injected.get("TransactWriteItems")).toBe(3);
    expect(await repo.runningCount("conflicts")).toBe(0);
  });

  it("a conflict that never clears reaches the caller after the last attempt", async () => {
    const repo = new DynamoTaskRepository(createLocalDynamoDocumentClient(proxy.url), {
      tableName: h.tableName,
    });
    const record = newTaskRecord({ tenant_id: "conflicts", agent: "worker", caller: "root", task: "y" });
    proxy.injected.clear();
    proxy.failNext("TransactWriteItems", TRANSACTION_ATTEMPTS, transactionConflict(3, 0));
    await expect(repo.create({ record, maxRunningTasks: 5 })).rejects.toBeInstanceOf(
      TransactionCanceledException,
    );
    expect(proxy.injected.get("TransactWriteItems")).toBe(TRANSACTION_ATTEMPTS);
    expect(await repo.get("conflicts", record.id)).toBeNull();
  });
});
