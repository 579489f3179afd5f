import { randomBytes, randomUUID } from "node:crypto";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { createLocalDynamoDocumentClient } from "../../shared/adapters/dynamo/client.js";
import { ensureTable } from "../../shared/adapters/dynamo/table.js";
import { DynamoTaskRepository, PART_BYTES } from "../../shared/adapters/dynamo/task-repository.js";
import { keys } from "../../shared/table-schema.js";

/** A harness task's changes in the table (SPEC §9): a summary item and the gzipped patch in parts. */

const doc = createLocalDynamoDocumentClient(inject("dynamodbEndpoint"));
const tableName = `bga-changes-${randomUUID()}`;
const repo = new DynamoTaskRepository(doc, { tableName });

beforeAll(async () => {
  await ensureTable(doc, tableName);
});

describe("stored changes", () => {
  it("keep a patch larger than one item in parts, read back whole; the summary reads only the head", async () => {
    // Random bytes as hex do not compress much: well over one part once gzipped.
    const patch = `diff --git a/big.txt b/big.txt\n${randomBytes(500 * 1024).toString("hex")}\n`;
    const files = [{ path: "big.txt", status: "added" as const, additions: 1, deletions: 0 }];
    const expiresAt = Math.floor(Date.now() / 1000) + 86_400;
    await repo.putChanges(
      "t1",
      "agent_task_big",
      { base: "abc", files, patch, branch: "bga/agent_task_big" },
      expiresAt,
    );
    expect(await repo.getChanges("t1", "agent_task_big")).toEqual({
      base: "abc",
      files,
      patch,
      branch: "bga/agent_task_big",
    });
    expect(await repo.changesSummary("t1", "agent_task_big")).toEqual({
      base: "abc",
      files,
      branch: "bga/agent_task_big",
    });
    const head = await doc.send(
      new GetCommand({ TableName: tableName, Key: keys.changes("t1", "agent_task_big") }),
    );
    expect(head.Item?.parts).toBeGreaterThan(1);
    expect(head.Item?.expires_at).toBe(expiresAt);
    const part2 = await doc.send(
      new GetCommand({
        TableName: tableName,
        Key: { pk: keys.changes("t1", "agent_task_big").pk, sk: keys.changesPartSk(2) },
      }),
    );
    const data = part2.Item ? (part2.Item.data as Uint8Array) : new Uint8Array();
    expect(data.length).toBeGreaterThan(0);
    expect(data.length).toBeLessThanOrEqual(PART_BYTES);
  });

  it("are another tenant's never, and a task without any has none", async () => {
    await repo.putChanges("t1", "agent_task_mine", { base: "b", files: [], patch: "" }, 0);
    expect(await repo.getChanges("t2", "agent_task_mine")).toBeNull();
    expect(await repo.changesSummary("t1", "agent_task_none")).toBeNull();
    expect((await repo.getChanges("t1", "agent_task_mine"))?.patch).toBe("");
  });
});
