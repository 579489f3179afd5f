import { randomUUID } from "node:crypto";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { createLocalDynamoDocumentClient } from "../../shared/adapters/dynamo/client.js";
import { ensureTable } from "../../shared/adapters/dynamo/table.js";
import { DynamoTaskRepository } from "../../shared/adapters/dynamo/task-repository.js";
import { DynamoTenantStore } from "../../shared/adapters/dynamo/tenant-store.js";
import { emptyUsage, newTaskRecord } from "../../shared/domain/task.js";
import { keys } from "../../shared/table-schema.js";
import { DEFAULT_LIMITS } from "../../shared/tenants.js";

const doc = createLocalDynamoDocumentClient(inject("dynamodbEndpoint"));
const tableName = `bga-layout-${randomUUID()}`;
const repo = new DynamoTaskRepository(doc, { tableName, retentionDays: 30, maxTaskSeconds: 3600 });
const tenants = new DynamoTenantStore(doc, tableName);

beforeAll(async () => {
  await ensureTable(doc, tableName);
});

/** Every item of a partition as stored: sort key → its attribute names, sorted. */
async function stored(pk: string): Promise<Record<string, string[]>> {
  const res = await doc.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": pk },
      ConsistentRead: true,
    }),
  );
  return Object.fromEntries((res.Items ?? []).map((i) => [String(i.sk), Object.keys(i).sort()]));
}

const TASK_ATTRIBUTES = [
  "agent",
  "caller",
  "created_at",
  "depth",
  "ended_at",
  "error",
  "gsi1pk",
  "gsi1sk",
  "gsi2pk",
  "gsi2sk",
  "id",
  "last_seq",
  "metadata",
  "output_bytes",
  "parent_id",
  "pk",
  "result",
  "retention_s",
  "runtime_ms",
  "sk",
  "started_at",
  "status",
  "tenant_id",
  "usage",
];

describe("stored layout (the entities write the items the table has always held)", () => {
  it("a task's items: no entity name or timestamps, keys as in table-schema.ts", async () => {
    const record = newTaskRecord({ tenant_id: "lay", agent: "worker", caller: "root", task: "t" });
    await repo.create({ record, maxRunningTasks: 5, idempotency: { key: "k1", bodyHash: "h" } });
    await repo.transition("lay", record.id, "running");
    await repo.flush({
      tenantId: "lay",
      taskId: record.id,
      expectedLastSeq: 0,
      chunks: [{ kind: "text", text: "hello" }],
      addOutputBytes: 5,
      usage: { ...emptyUsage(), output_tokens: 2 },
      checkpoint: { messages: [], turns: 1, lastSeq: 1 },
    });
    const pk = keys.task("lay", record.id).pk;
    expect(await stored(pk)).toEqual({
      CHECKPOINT: ["data", "expires_at", "last_seq", "parts", "pk", "sk", "turns"],
      [keys.chunkSk(1)]: ["at", "expires_at", "kind", "pk", "seq", "sk", "text"],
      INPUT: ["expected_output", "expires_at", "pk", "sk", "task"],
      TASK: [...TASK_ATTRIBUTES, "started_ms"].sort(),
    });
    expect(keys.chunkSk(1)).toBe("CHUNK#000000000001");
    expect(await stored(keys.counters("lay").pk)).toMatchObject({ COUNTERS: ["pk", "running", "sk"] });
    expect(await stored(keys.idempotency("lay", "k1").pk)).toEqual({
      IDEMPOTENCY: ["body_hash", "expires_at", "pk", "sk", "task_id"],
    });

    await repo.flush({
      tenantId: "lay",
      taskId: record.id,
      expectedLastSeq: 1,
      chunks: [],
      addOutputBytes: 0,
      usage: emptyUsage(),
      finish: { status: "completed", result: "done" },
    });
    const after = await stored(pk);
    expect(after.CHECKPOINT).toBeUndefined();
    expect(after.TASK).toEqual([...TASK_ATTRIBUTES, "expires_at", "started_ms"].sort());
    expect(await repo.runningCount("lay")).toBe(0);
  });

  it("a tenant's items: profile, secrets, an API key under its hash and under its tenant", async () => {
    const key = {
      key_id: "key1",
      tenant_id: "lay-t",
      key_hash: "hash1",
      callers: null,
      created_at: "2026-01-01T00:00:00.000Z",
    };
    await tenants.create({ id: "lay-t", config: "c", configJson: "{}", limits: DEFAULT_LIMITS, key });
    await tenants.putSecrets("lay-t", Buffer.from("blob"), ["A"]);
    expect((await stored(keys.tenantsPk))["TENANT#lay-t"]).toEqual(
      ["config", "config_json", "created_at", "id", "limits", "pk", "sk", "updated_at"].sort(),
    );
    const keyAttributes = ["callers", "created_at", "key_hash", "key_id", "pk", "sk", "tenant_id"];
    expect(await stored("TENANT#lay-t")).toEqual({
      "KEY#key1": keyAttributes,
      SECRETS: ["blob", "names", "pk", "sk", "updated_at"],
    });
    expect(await stored("APIKEY#hash1")).toEqual({ APIKEY: keyAttributes });
    expect(await tenants.findKeyByHash("hash1")).toEqual(key);
  });
});
