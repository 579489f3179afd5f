import { randomBytes, randomUUID } from "node:crypto";
import { DescribeTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { createLocalDynamoDocumentClient } from "../../shared/adapters/dynamo/client.js";
import { ensureTable } from "../../shared/adapters/dynamo/table.js";
import { DynamoTaskRepository } from "../../shared/adapters/dynamo/task-repository.js";
import { ConcurrencyLimitError } from "../../shared/domain/errors.js";
import { emptyUsage, newTaskRecord, type TaskRecord } from "../../shared/domain/task.js";
import { IdempotencyKeyTakenError } from "../../shared/ports.js";
import { keys } from "../../shared/table-schema.js";

const doc = createLocalDynamoDocumentClient(inject("dynamodbEndpoint"));
const tableName = `bga-repo-${randomUUID()}`;
const repo = new DynamoTaskRepository(doc, {
  tableName,
  retentionDays: 30,
  maxTaskSeconds: 3600,
});

beforeAll(async () => {
  await ensureTable(doc, tableName);
});

let clock = Date.parse("2026-01-01T00:00:00.000Z");
function record(tenant: string, agent = "worker"): TaskRecord {
  clock += 1000;
  return newTaskRecord({
    tenant_id: tenant,
    agent,
    caller: "root",
    task: "x",
    created_at: new Date(clock).toISOString(),
  });
}

describe("DynamoDB task repository (DynamoDB Local)", () => {
  it("moves status only along allowed transitions; a finished task never changes again", async () => {
    const t = await repo.create({ record: record("t1"), maxRunningTasks: 10 });
    expect((await repo.transition("t1", t.id, "completed")).moved).toBe(false); // pending → completed: no
    const running = await repo.transition("t1", t.id, "running");
    expect(running.moved && running.task.started_at).toBeTruthy();
    expect(await repo.status("t1", t.id)).toBe("running");
    expect(await repo.status("t1", "agent_task_none")).toBeNull();
    expect(await repo.status("t2", t.id)).toBeNull(); // another tenant's ID: as missing
    const stopped = await repo.transition("t1", t.id, "stopped");
    expect(stopped.moved && stopped.task.status).toBe("stopped");
    for (const to of ["running", "completed", "failed", "stopped"] as const) {
      const again = await repo.transition("t1", t.id, to);
      expect(again.moved).toBe(false);
      expect(!again.moved && again.current?.status).toBe("stopped");
    }
    // A flush after the stop is refused and reports why.
    const flush = await repo.flush({
      tenantId: "t1",
      taskId: t.id,
      expectedLastSeq: 0,
      chunks: [{ kind: "text", text: "late" }],
      addOutputBytes: 4,
      usage: emptyUsage(),
    });
    expect(flush).toEqual({ ok: false, reason: "not_running", status: "stopped" });
    expect(await repo.chunksAfter("t1", t.id, 0, 10)).toEqual([]);
    // An ID of another tenant is simply not there.
    expect(await repo.get("other", t.id)).toBeNull();
    expect((await repo.transition("other", t.id, "stopped")).moved).toBe(false);
  });

  it("never admits more than max_running_tasks under concurrent creates, and frees slots when tasks end", async () => {
    const tenant = `race-${randomUUID()}`;
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, () => repo.create({ record: record(tenant), maxRunningTasks: 5 })),
    );
    const admitted = results
      .filter((r) => r.status === "fulfilled")
      .map((r) => (r as PromiseFulfilledResult<TaskRecord>).value);
    const refused = results.filter((r) => r.status === "rejected");
    expect(admitted).toHaveLength(5);
    expect(refused.every((r) => (r as PromiseRejectedResult).reason instanceof ConcurrencyLimitError)).toBe(
      true,
    );
    expect(await repo.runningCount(tenant)).toBe(5);

    const [a, b] = admitted as [TaskRecord, TaskRecord];
    await repo.transition(tenant, a.id, "stopped");
    await repo.transition(tenant, b.id, "failed", { error: "boom" });
    expect(await repo.runningCount(tenant)).toBe(3);
    // A transition that does not happen frees nothing.
    await repo.transition(tenant, a.id, "failed");
    expect(await repo.runningCount(tenant)).toBe(3);
    await expect(repo.create({ record: record(tenant), maxRunningTasks: 5 })).resolves.toBeTruthy();
  });

  it("writes chunks with a conditional flush: seq without gaps, a stale writer is refused", async () => {
    const t = await repo.create({ record: record("t2"), maxRunningTasks: 10 });
    await repo.transition("t2", t.id, "running");
    const ok = await repo.flush({
      tenantId: "t2",
      taskId: t.id,
      expectedLastSeq: 0,
      chunks: [
        { kind: "text", text: "hello" },
        { kind: "tool_call", text: "think({})" },
      ],
      addOutputBytes: 14,
      usage: { ...emptyUsage(), model_calls: 1 },
      checkpoint: { messages: [{ role: "user", content: "hi" }], turns: 1, lastSeq: 0 },
    });
    expect(ok).toEqual({ ok: true, lastSeq: 2 });
    const stale = await repo.flush({
      tenantId: "t2",
      taskId: t.id,
      expectedLastSeq: 0,
      chunks: [{ kind: "text", text: "dup" }],
      addOutputBytes: 3,
      usage: emptyUsage(),
    });
    expect(stale).toEqual({ ok: false, reason: "superseded" });
    expect(await repo.getCheckpoint("t2", t.id)).toEqual({
      messages: [{ role: "user", content: "hi" }],
      turns: 1,
      lastSeq: 2,
    });
    const chunks = await repo.chunksAfter("t2", t.id, 0, 10);
    expect(chunks.map((c) => [c.seq, c.kind, c.text])).toEqual([
      [1, "text", "hello"],
      [2, "tool_call", "think({})"],
    ]);
    const done = await repo.flush({
      tenantId: "t2",
      taskId: t.id,
      expectedLastSeq: 2,
      chunks: [{ kind: "text", text: "bye" }],
      addOutputBytes: 3,
      usage: emptyUsage(),
      finish: { status: "completed", result: "bye" },
    });
    expect(done).toEqual({ ok: true, lastSeq: 3 });
    const task = await repo.get("t2", t.id);
    expect(task).toMatchObject({ status: "completed", result: "bye", last_seq: 3, output_bytes: 17 });
    expect(await repo.getCheckpoint("t2", t.id)).toBeNull();
    expect((await repo.latestChunks("t2", t.id, 4)).map((c) => c.seq)).toEqual([2, 3]);
  });

  it("keeps a finished task for its tenant's retention (DynamoDB TTL), and its chunks at least as long", async () => {
    const t = await repo.create({ record: record("ttl"), maxRunningTasks: 10, retentionSeconds: 2 * 86_400 });
    await repo.transition("ttl", t.id, "running");
    const chunkExpiresAt = Math.floor(Date.now() / 1000) + 3600 + 2 * 86_400;
    await repo.flush({
      tenantId: "ttl",
      taskId: t.id,
      expectedLastSeq: 0,
      chunks: [{ kind: "text", text: "x" }],
      addOutputBytes: 1,
      usage: emptyUsage(),
      chunkExpiresAt,
      finish: { status: "completed", result: "x" },
    });
    const now = Math.floor(Date.now() / 1000);
    const item = await doc.send(new GetCommand({ TableName: tableName, Key: keys.task("ttl", t.id) }));
    expect(item.Item?.expires_at).toBeGreaterThanOrEqual(now + 2 * 86_400 - 5);
    expect(item.Item?.expires_at).toBeLessThanOrEqual(now + 2 * 86_400 + 5);
    const chunk = await doc.send(
      new GetCommand({
        TableName: tableName,
        Key: { pk: keys.task("ttl", t.id).pk, sk: keys.chunkSk(1) },
      }),
    );
    expect(chunk.Item?.expires_at).toBe(chunkExpiresAt);
    const ttl = await doc.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(ttl.TimeToLiveDescription).toMatchObject({
      AttributeName: "expires_at",
      TimeToLiveStatus: "ENABLED",
    });
  });

  it("lists a tenant's tasks newest first, by status from its own index, with cursors", async () => {
    const tenant = `list-${randomUUID()}`;
    const made: TaskRecord[] = [];
    for (let i = 0; i < 7; i++)
      made.push(await repo.create({ record: record(tenant, i % 2 ? "a" : "b"), maxRunningTasks: 100 }));
    await repo.transition(tenant, made[1]!.id, "running");
    await repo.transition(tenant, made[3]!.id, "running");
    const newestFirst = [...made].reverse().map((t) => t.id);

    const page1 = await repo.list(tenant, { limit: 4 });
    const page2 = await repo.list(tenant, { limit: 4, cursor: page1.nextCursor ?? "" });
    expect([...page1.tasks, ...page2.tasks].map((t) => t.id)).toEqual(newestFirst);
    expect(page2.nextCursor).toBeNull();

    const running = await repo.list(tenant, { status: "running", limit: 10 });
    expect(running.tasks.map((t) => t.id)).toEqual([made[3]!.id, made[1]!.id]);
    const pendingB = await repo.list(tenant, { status: "pending", agent: "b", limit: 10 });
    expect(pendingB.tasks.map((t) => t.id)).toEqual([made[6]!.id, made[4]!.id, made[2]!.id, made[0]!.id]);
    // A cursor of another listing is refused.
    await expect(repo.list(`x${tenant}`, { limit: 4, cursor: page1.nextCursor ?? "" })).rejects.toThrow(
      /cursor/,
    );
  });
});

describe("write cost", () => {
  // Every request of this client asks DynamoDB Local for its consumed capacity (which it reports
  // as DynamoDB bills it: an update costs the larger of the item's size before and after).
  const consumed: { op: string; units: number }[] = [];
  const metered = createLocalDynamoDocumentClient(inject("dynamodbEndpoint"));
  metered.middlewareStack.add(
    (next, context) => async (args) => {
      Object.assign(args.input as object, { ReturnConsumedCapacity: "TOTAL" });
      const out = await next(args);
      const capacity = (
        out.output as { ConsumedCapacity?: { CapacityUnits?: number }[] | { CapacityUnits?: number } }
      ).ConsumedCapacity;
      const units = [capacity ?? []].flat().reduce((n, c) => n + (c.CapacityUnits ?? 0), 0);
      consumed.push({ op: context.commandName ?? "", units });
      return out;
    },
    { step: "initialize", name: "meterCapacity" },
  );
  const meteredRepo = new DynamoTaskRepository(metered, {
    tableName,
    retentionDays: 30,
    maxTaskSeconds: 3600,
  });

  async function flushUnits(taskText: string): Promise<number> {
    const t = await meteredRepo.create({
      record: { ...record("cost"), task: taskText },
      maxRunningTasks: 100,
    });
    await meteredRepo.transition("cost", t.id, "running");
    consumed.length = 0;
    const outcome = await meteredRepo.flush({
      tenantId: "cost",
      taskId: t.id,
      expectedLastSeq: 0,
      chunks: [{ kind: "text", text: "a second of model output" }],
      addOutputBytes: 24,
      usage: { ...emptyUsage(), output_tokens: 6 },
    });
    expect(outcome).toEqual({ ok: true, lastSeq: 1 });
    expect(consumed.map((c) => c.op)).toEqual(["TransactWriteItemsCommand"]);
    return consumed[0]?.units ?? Number.NaN;
  }

  it("a flush costs the same whatever the size of the task text: it never rewrites the input", async () => {
    const small = await flushUnits("x".repeat(100));
    const large = await flushUnits("x".repeat(100 * 1024));
    // Two items of at most 1 KB each (the chunk, the small state item): a few units, never ~100.
    expect(small).toBeGreaterThan(0);
    expect(small).toBeLessThanOrEqual(4);
    expect(large).toBe(small);
  });

  it("reads a task stored before the input had an item of its own", async () => {
    const old = record("legacy");
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...keys.task("legacy", old.id), ...old, task: "the old layout kept the text here" },
      }),
    );
    expect(await repo.get("legacy", old.id)).toEqual({ ...old, task: "the old layout kept the text here" });
    expect((await repo.getMany("legacy", [old.id])).get(old.id)?.task).toBe(
      "the old layout kept the text here",
    );
  });
});

describe("Idempotency-Key window", () => {
  it("a key past its 24 h window is free again, before TTL has removed its item", async () => {
    let now = Date.parse("2026-03-01T00:00:00.000Z");
    const clocked = new DynamoTaskRepository(doc, { tableName, now: () => new Date(now) });
    const idempotency = { key: "key-hash-1", bodyHash: "body-1" };
    const first = await clocked.create({ record: record("idem"), maxRunningTasks: 10, idempotency });
    // Within the window the key is taken, and finds the first task.
    await expect(
      clocked.create({ record: record("idem"), maxRunningTasks: 10, idempotency }),
    ).rejects.toBeInstanceOf(IdempotencyKeyTakenError);
    expect((await clocked.findByIdempotencyKey("idem", "key-hash-1"))?.task.id).toBe(first.id);
    now += 24 * 3_600_000 + 1000;
    expect(await clocked.findByIdempotencyKey("idem", "key-hash-1")).toBeNull();
    const second = await clocked.create({ record: record("idem"), maxRunningTasks: 10, idempotency });
    expect((await clocked.findByIdempotencyKey("idem", "key-hash-1"))?.task.id).toBe(second.id);
  });
});

describe("checkpoints larger than one item", () => {
  it("a conversation over 2 MB (a large tool result) is checkpointed across items and read back whole", async () => {
    const t = await repo.create({ record: record("big"), maxRunningTasks: 10 });
    await repo.transition("big", t.id, "running");
    // Random text hardly compresses: ~2.4 MB of conversation is ~1.8 MB gzipped, six items.
    const toolResult = randomBytes(1_800_000).toString("base64");
    const messages = [
      { role: "user" as const, content: "read the big file" },
      {
        role: "assistant" as const,
        content: null,
        tool_calls: [{ id: "c1", name: "read", arguments: "{}" }],
      },
      { role: "tool" as const, tool_call_id: "c1", content: toolResult },
    ];
    const outcome = await repo.flush({
      tenantId: "big",
      taskId: t.id,
      expectedLastSeq: 0,
      chunks: [{ kind: "tool_result", text: "read" }],
      addOutputBytes: 4,
      usage: emptyUsage(),
      checkpoint: { messages, turns: 1, lastSeq: 0 },
    });
    expect(outcome).toEqual({ ok: true, lastSeq: 1 });
    const back = await repo.getCheckpoint("big", t.id);
    expect(back?.turns).toBe(1);
    expect(back?.lastSeq).toBe(1);
    expect(back?.messages).toEqual(messages);
    // A later, smaller checkpoint replaces it (its stale parts are not read).
    const small = [{ role: "user" as const, content: "short now" }];
    await repo.flush({
      tenantId: "big",
      taskId: t.id,
      expectedLastSeq: 1,
      chunks: [],
      addOutputBytes: 0,
      usage: emptyUsage(),
      checkpoint: { messages: small, turns: 2, lastSeq: 1 },
    });
    expect((await repo.getCheckpoint("big", t.id))?.messages).toEqual(small);
  });
});

describe("error texts", () => {
  it("an error of ~350 KB on a task with 90 KB of task text is stored cut to 4 KiB, so the failure write cannot fail on size", async () => {
    const t = await repo.create({
      record: { ...record("errors"), task: "t".repeat(90 * 1024) },
      maxRunningTasks: 10,
    });
    await repo.transition("errors", t.id, "running");
    const huge = `model said: ${"é".repeat(175_000)}`;
    const outcome = await repo.flush({
      tenantId: "errors",
      taskId: t.id,
      expectedLastSeq: 0,
      chunks: [],
      addOutputBytes: 0,
      usage: emptyUsage(),
      finish: { status: "failed", error: huge },
    });
    expect(outcome.ok).toBe(true);
    const failed = await repo.get("errors", t.id, true);
    expect(failed?.status).toBe("failed");
    expect(Buffer.byteLength(failed?.error ?? "")).toBeLessThanOrEqual(4096);
    expect(failed?.error).toMatch(/^model said: é+ … \[error cut\]$/);
    // The same through a status move (e.g. the reconciler's or a failed start's).
    const u = await repo.create({ record: record("errors"), maxRunningTasks: 10 });
    const moved = await repo.transition("errors", u.id, "failed", { error: huge });
    expect(moved.moved && Buffer.byteLength(moved.task.error ?? "")).toBeLessThanOrEqual(4096);
  });
});
