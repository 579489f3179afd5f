import { gunzipSync, gzipSync } from "node:zlib";
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { byteLength, type Chunk, ChunkSchema, splitUtf8 } from "../../domain/chunk.js";
import { ConcurrencyLimitError, InvalidRequestError } from "../../domain/errors.js";
import {
  finishingMove,
  type StatusMove,
  statusMove,
  type TaskRecord,
  TaskRecordSchema,
  type TaskStatus,
  TaskStatusSchema,
  WRITING_STATUS,
} from "../../domain/task.js";
import type {
  Checkpoint,
  FlushInput,
  FlushOutcome,
  ListQuery,
  NewTask,
  TaskRepository,
} from "../../ports.js";
import { INDEX_BY_STATUS, INDEX_BY_TENANT, keys } from "../../table-schema.js";
import { DEFAULT_LIMITS } from "../../tenants.js";
import { conditionFailedAt, isConditionalCheckFailed } from "./client.js";

/** An item as plain JS values (lib-dynamodb marshalls it). */
type Item = Record<string, unknown>;
type TransactWriteItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/** Thrown by create() when the Idempotency-Key was taken by a concurrent request. */
export class IdempotencyKeyTakenError extends Error {
  constructor() {
    super("idempotency key taken");
    this.name = "IdempotencyKeyTakenError";
  }
}

export interface TaskRepositoryOptions {
  tableName: string;
  /** Fallback retention for items written without the tenant's own (default: the default limit). */
  retentionDays?: number;
  /** Fallback task life for chunk expiry when a flush names none (default: the default limit). */
  maxTaskSeconds?: number;
  now?: () => Date;
}

const CursorKey = z.string().min(1).max(1024);
const CursorSchema = z.strictObject({
  pk: CursorKey,
  sk: z.literal("TASK"),
  gsi1pk: CursorKey.optional(),
  gsi1sk: CursorKey.optional(),
  gsi2pk: CursorKey.optional(),
  gsi2sk: CursorKey.optional(),
});

const CheckpointItemSchema = z.object({
  data: z.instanceof(Uint8Array),
  turns: z.number(),
  last_seq: z.number(),
});

/** How long a task may stay pending before it starts (bounds the life of its input item). */
const PENDING_GRACE_SECONDS = 86_400;

/**
 * A task from its state item and its input item (keys and bookkeeping attributes are dropped).
 * Tasks stored before the input had an item of its own carry it in the state item.
 */
function toRecord(state: Item, input: Item | undefined): TaskRecord {
  return TaskRecordSchema.parse({ ...input, ...state });
}

/** The task ID in a task item's partition key (`TENANT#<tenant>#TASK#<id>`). */
function taskIdOfKey(tenantId: string, pk: unknown): string {
  const prefix = keys.task(tenantId, "").pk;
  if (typeof pk !== "string" || !pk.startsWith(prefix)) throw new Error("index entry of another tenant");
  return pk.slice(prefix.length);
}

function encodeCursor(key: Record<string, unknown> | undefined): string | null {
  return key ? Buffer.from(JSON.stringify(key)).toString("base64url") : null;
}

export class DynamoTaskRepository implements TaskRepository {
  private readonly now: () => Date;
  private readonly options: Required<Omit<TaskRepositoryOptions, "now">>;
  constructor(
    private readonly db: DynamoDBDocumentClient,
    options: TaskRepositoryOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.options = {
      tableName: options.tableName,
      retentionDays: options.retentionDays ?? DEFAULT_LIMITS.retention_days,
      maxTaskSeconds: options.maxTaskSeconds ?? DEFAULT_LIMITS.max_task_seconds,
    };
  }

  private get table(): string {
    return this.options.tableName;
  }

  private expiresAt(from: Date, extraSeconds = 0): number {
    return Math.floor(from.getTime() / 1000) + extraSeconds + this.options.retentionDays * 86_400;
  }

  async create({
    record,
    maxRunningTasks,
    idempotency,
    retentionSeconds,
    maxTaskSeconds,
  }: NewTask): Promise<TaskRecord> {
    const listSk = keys.listSk(record.created_at, record.id);
    const retention = retentionSeconds ?? this.options.retentionDays * 86_400;
    const { task, expected_output, ...state } = record;
    const items: TransactWriteItem[] = [
      {
        Update: {
          TableName: this.table,
          Key: keys.counters(record.tenant_id),
          UpdateExpression: "SET running = if_not_exists(running, :zero) + :one",
          ConditionExpression: "attribute_not_exists(running) OR running < :max",
          ExpressionAttributeValues: { ":zero": 0, ":one": 1, ":max": maxRunningTasks },
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: {
            ...keys.task(record.tenant_id, record.id),
            ...state,
            gsi1pk: keys.byTenant(record.tenant_id),
            gsi1sk: listSk,
            gsi2pk: keys.byStatus(record.tenant_id, record.status),
            gsi2sk: listSk,
            retention_s: retention,
          },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      },
      {
        Put: {
          TableName: this.table,
          // Outlives the state item, whose expiry is set when the task ends (at most
          // max_task_seconds after it starts, PENDING_GRACE_SECONDS after it is created).
          Item: {
            ...keys.taskInput(record.tenant_id, record.id),
            task,
            expected_output,
            expires_at:
              Math.floor(Date.parse(record.created_at) / 1000) +
              PENDING_GRACE_SECONDS +
              (maxTaskSeconds ?? this.options.maxTaskSeconds) +
              retention,
          },
        },
      },
    ];
    if (idempotency) {
      items.push({
        Put: {
          TableName: this.table,
          Item: {
            ...keys.idempotency(record.tenant_id, idempotency.key),
            task_id: record.id,
            body_hash: idempotency.bodyHash,
            expires_at: Math.floor(this.now().getTime() / 1000) + 86_400,
          },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      });
    }
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (err) {
      if (conditionFailedAt(err, 0)) throw new ConcurrencyLimitError(maxRunningTasks);
      if (idempotency && conditionFailedAt(err, 3)) throw new IdempotencyKeyTakenError();
      throw err;
    }
    return record;
  }

  async findByIdempotencyKey(
    tenantId: string,
    key: string,
  ): Promise<{ task: TaskRecord; bodyHash: string } | null> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: keys.idempotency(tenantId, key),
        ConsistentRead: true,
      }),
    );
    const item = res.Item;
    if (!item || (typeof item.expires_at === "number" && item.expires_at * 1000 < this.now().getTime())) {
      return null;
    }
    const task = await this.get(tenantId, String(item.task_id), true);
    return task ? { task, bodyHash: String(item.body_hash) } : null;
  }

  /** The task's two items (INPUT, TASK: adjacent sort keys) in one query. */
  async get(tenantId: string, taskId: string, consistent = false): Promise<TaskRecord | null> {
    const { pk } = keys.task(tenantId, taskId);
    const res = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :input AND :task",
        ExpressionAttributeValues: { ":pk": pk, ":input": "INPUT", ":task": "TASK" },
        ConsistentRead: consistent,
      }),
    );
    const items = res.Items ?? [];
    const state = items.find((i) => i.sk === "TASK");
    return state
      ? toRecord(
          state,
          items.find((i) => i.sk === "INPUT"),
        )
      : null;
  }

  async status(tenantId: string, taskId: string): Promise<TaskStatus | null> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: keys.task(tenantId, taskId),
        ConsistentRead: true,
        ProjectionExpression: "#status",
        ExpressionAttributeNames: { "#status": "status" },
      }),
    );
    return res.Item ? TaskStatusSchema.parse(res.Item.status) : null;
  }

  async getMany(tenantId: string, taskIds: string[]): Promise<Map<string, TaskRecord>> {
    const items = new Map<string, Item>();
    const unique = [...new Set(taskIds)];
    // Two items a task, at most 100 keys a BatchGetItem.
    for (let i = 0; i < unique.length; i += 50) {
      let pending: Item[] | undefined = unique
        .slice(i, i + 50)
        .flatMap((id) => [keys.task(tenantId, id), keys.taskInput(tenantId, id)]);
      while (pending && pending.length > 0) {
        const res: BatchGetCommandOutput = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }),
        );
        for (const item of res.Responses?.[this.table] ?? []) items.set(`${item.pk}|${item.sk}`, item);
        pending = res.UnprocessedKeys?.[this.table]?.Keys;
      }
    }
    const out = new Map<string, TaskRecord>();
    for (const id of unique) {
      const state = items.get(`${keys.task(tenantId, id).pk}|TASK`);
      if (state) out.set(id, toRecord(state, items.get(`${keys.task(tenantId, id).pk}|INPUT`)));
    }
    return out;
  }

  private decodeCursor(tenantId: string, cursor: string, status?: TaskStatus): Record<string, unknown> {
    let parsed: z.infer<typeof CursorSchema>;
    try {
      parsed = CursorSchema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    } catch {
      throw new InvalidRequestError("cursor is not valid: pass next_cursor from an earlier page unchanged");
    }
    // A cursor is the last key of a page: exactly the table and index keys of a task of this tenant.
    const expected = status ? keys.byStatus(tenantId, status) : keys.byTenant(tenantId);
    const [indexPk, indexSk] = status ? [parsed.gsi2pk, parsed.gsi2sk] : [parsed.gsi1pk, parsed.gsi1sk];
    const other = status ? [parsed.gsi1pk, parsed.gsi1sk] : [parsed.gsi2pk, parsed.gsi2sk];
    if (
      indexPk !== expected ||
      indexSk === undefined ||
      other.some((v) => v !== undefined) ||
      !parsed.pk.startsWith(`TENANT#${tenantId}#TASK#`)
    ) {
      throw new InvalidRequestError("cursor does not belong to this listing: pass next_cursor unchanged");
    }
    return parsed;
  }

  async list(
    tenantId: string,
    query: ListQuery,
  ): Promise<{ tasks: TaskRecord[]; nextCursor: string | null }> {
    const input: QueryCommandInput = query.status
      ? {
          TableName: this.table,
          IndexName: INDEX_BY_STATUS,
          KeyConditionExpression: "gsi2pk = :p",
          ExpressionAttributeValues: { ":p": keys.byStatus(tenantId, query.status) },
        }
      : {
          TableName: this.table,
          IndexName: INDEX_BY_TENANT,
          KeyConditionExpression: "gsi1pk = :p",
          ExpressionAttributeValues: { ":p": keys.byTenant(tenantId) },
        };
    input.ScanIndexForward = false;
    if (query.agent !== undefined) {
      input.FilterExpression = "#agent = :agent";
      input.ExpressionAttributeNames = { "#agent": "agent" };
      input.ExpressionAttributeValues = { ...input.ExpressionAttributeValues, ":agent": query.agent };
    }
    const tasks: TaskRecord[] = [];
    let start = query.cursor ? this.decodeCursor(tenantId, query.cursor, query.status) : undefined;
    // The indexes hold keys and the agent only: read a page of keys, then the tasks themselves.
    // With an agent filter a page can come back short; keep reading until it is full or done.
    do {
      const res = await this.db.send(
        new QueryCommand({
          ...input,
          Limit: query.limit - tasks.length,
          ExclusiveStartKey: start,
        }),
      );
      const ids = (res.Items ?? []).map((item: Item) => taskIdOfKey(tenantId, item.pk));
      const found = await this.getMany(tenantId, ids);
      for (const id of ids) {
        const task = found.get(id);
        if (task) tasks.push(task);
      }
      start = res.LastEvaluatedKey;
    } while (start && tasks.length < query.limit);
    return { tasks, nextCursor: encodeCursor(start) };
  }

  async listByStatus(tenantId: string, status: TaskStatus, limit: number): Promise<TaskRecord[]> {
    const { tasks } = await this.list(tenantId, { status, limit });
    return tasks;
  }

  async runningCount(tenantId: string): Promise<number> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: keys.counters(tenantId),
        ConsistentRead: true,
      }),
    );
    return typeof res.Item?.running === "number" ? res.Item.running : 0;
  }

  /**
   * A domain status move as an update: its condition (the task is in one of `move.from`) and
   * what it sets. The repository decides nothing here; it only writes what the move says.
   */
  private moveClauses(
    move: StatusMove,
    tenantId: string,
    now: Date,
  ): { condition: string; sets: string[]; values: Record<string, unknown> } {
    const values: Record<string, unknown> = { ":to": move.to, ":gsi2pk": keys.byStatus(tenantId, move.to) };
    move.from.forEach((s, i) => {
      values[`:from${i}`] = s;
    });
    const sets = ["#status = :to", "gsi2pk = :gsi2pk"];
    if (move.starts || move.ends) {
      values[":now"] = now.toISOString();
      values[":now_ms"] = now.getTime();
    }
    if (move.starts) sets.push("started_at = :now", "started_ms = :now_ms");
    if (move.ends) {
      // A task stopped before it started has no started_ms: its runtime is 0.
      sets.push(
        "ended_at = :now",
        "runtime_ms = :now_ms - if_not_exists(started_ms, :now_ms)",
        "expires_at = :now_s + if_not_exists(retention_s, :default_retention_s)",
      );
      values[":now_s"] = Math.floor(now.getTime() / 1000);
      values[":default_retention_s"] = this.options.retentionDays * 86_400;
    }
    const condition = `#status IN (${move.from.map((_, i) => `:from${i}`).join(", ")})`;
    return { condition, sets, values };
  }

  async transition(
    tenantId: string,
    taskId: string,
    to: TaskStatus,
    fields: { error?: string; result?: string } = {},
  ): Promise<{ moved: true; task: TaskRecord } | { moved: false; current: TaskRecord | null }> {
    const move = statusMove(to);
    const { condition, sets, values } = this.moveClauses(move, tenantId, this.now());
    const names: Record<string, string> = { "#status": "status" };
    if (fields.error !== undefined) {
      sets.push("#error = :error");
      names["#error"] = "error";
      values[":error"] = fields.error;
    }
    if (fields.result !== undefined) {
      sets.push("#result = :result");
      names["#result"] = "result";
      values[":result"] = fields.result;
    }
    const update = {
      TableName: this.table,
      Key: keys.task(tenantId, taskId),
      UpdateExpression: `SET ${sets.join(", ")}`,
      ConditionExpression: `attribute_exists(pk) AND ${condition}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
    try {
      if (move.ends) {
        await this.db.send(
          new TransactWriteCommand({
            TransactItems: [{ Update: update }, { Update: this.releaseSlot(tenantId) }],
          }),
        );
      } else {
        await this.db.send(new UpdateCommand(update));
      }
    } catch (err) {
      const failedCondition = isConditionalCheckFailed(err) || conditionFailedAt(err, 0);
      if (!failedCondition) throw err;
      return { moved: false, current: await this.get(tenantId, taskId, true) };
    }
    const task = await this.get(tenantId, taskId, true);
    if (!task) return { moved: false, current: null };
    return { moved: true, task };
  }

  private releaseSlot(tenantId: string) {
    return {
      TableName: this.table,
      Key: keys.counters(tenantId),
      UpdateExpression: "SET running = running - :one",
      ConditionExpression: "running > :zero",
      ExpressionAttributeValues: { ":one": 1, ":zero": 0 },
    };
  }

  async flush(input: FlushInput): Promise<FlushOutcome> {
    const now = this.now();
    const at = now.toISOString();
    const taskKey = keys.task(input.tenantId, input.taskId);
    const chunkExpiry = input.chunkExpiresAt ?? this.expiresAt(now, this.options.maxTaskSeconds);
    const items: TransactWriteItem[] = [];
    let seq = input.expectedLastSeq;
    for (const chunk of input.chunks) {
      for (const text of splitUtf8(chunk.text)) {
        seq += 1;
        items.push({
          Put: {
            TableName: this.table,
            Item: {
              pk: taskKey.pk,
              sk: keys.chunkSk(seq),
              seq,
              kind: chunk.kind,
              text,
              at,
              expires_at: chunkExpiry,
            },
          },
        });
      }
    }
    // Without a finish, a flush moves no status but is guarded like one: the task must be running.
    const move = input.finish ? finishingMove(input.finish.status) : null;
    const guard = this.moveClauses(
      move ?? { ...statusMove(WRITING_STATUS), from: [WRITING_STATUS] },
      input.tenantId,
      now,
    );
    const names: Record<string, string> = { "#status": "status", "#usage": "usage" };
    const values: Record<string, unknown> = {
      ...Object.fromEntries(Object.entries(guard.values).filter(([k]) => k.startsWith(":from"))),
      ":expected": input.expectedLastSeq,
      ":seq": seq,
      ":bytes": input.addOutputBytes,
      ":usage": input.usage,
    };
    let sets = ["last_seq = :seq", "output_bytes = output_bytes + :bytes", "#usage = :usage"];
    if (move && input.finish) {
      sets = sets.concat(guard.sets);
      Object.assign(values, guard.values);
      sets.push("#result = :result", "#error = :error");
      names["#result"] = "result";
      names["#error"] = "error";
      values[":result"] = input.finish.result ?? null;
      values[":error"] = input.finish.error ?? null;
    }
    const taskUpdate: TransactWriteItem = {
      Update: {
        TableName: this.table,
        Key: taskKey,
        UpdateExpression: `SET ${sets.join(", ")}`,
        ConditionExpression: `${guard.condition} AND last_seq = :expected`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
    const all: TransactWriteItem[] = [taskUpdate, ...items];
    if (input.finish) {
      all.push({ Update: this.releaseSlot(input.tenantId) });
      all.push({ Delete: { TableName: this.table, Key: keys.checkpoint(input.tenantId, input.taskId) } });
    } else if (input.checkpoint) {
      all.push({
        Put: {
          TableName: this.table,
          Item: {
            ...keys.checkpoint(input.tenantId, input.taskId),
            data: gzipSync(JSON.stringify(input.checkpoint.messages)),
            turns: input.checkpoint.turns,
            last_seq: seq,
            expires_at: chunkExpiry,
          },
        },
      });
    }
    if (all.length > 100) throw new Error(`flush of ${all.length} items exceeds one transaction`);
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: all }));
    } catch (err) {
      if (!conditionFailedAt(err, 0)) throw err;
      const current = await this.get(input.tenantId, input.taskId, true);
      if (current && current.status !== WRITING_STATUS) {
        return { ok: false, reason: "not_running", status: current.status };
      }
      return { ok: false, reason: "superseded" };
    }
    return { ok: true, lastSeq: seq };
  }

  async addChild(tenantId: string, parentId: string, childId: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.task(tenantId, parentId),
        UpdateExpression: "SET children = list_append(if_not_exists(children, :empty), :child)",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeValues: { ":empty": [], ":child": [childId] },
      }),
    );
  }

  async getCheckpoint(tenantId: string, taskId: string): Promise<Checkpoint | null> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: keys.checkpoint(tenantId, taskId),
        ConsistentRead: true,
      }),
    );
    if (!res.Item) return null;
    const item = CheckpointItemSchema.parse(res.Item);
    return {
      messages: JSON.parse(gunzipSync(item.data).toString("utf8")),
      turns: item.turns,
      lastSeq: item.last_seq,
    };
  }

  async chunksAfter(tenantId: string, taskId: string, after: number, limit: number): Promise<Chunk[]> {
    const res = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
        ExpressionAttributeValues: {
          ":pk": keys.task(tenantId, taskId).pk,
          ":from": keys.chunkSk(after + 1),
          ":to": "CHUNK#~",
        },
        ProjectionExpression: "seq, kind, #text, #at",
        ExpressionAttributeNames: { "#text": "text", "#at": "at" },
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return (res.Items ?? []).map((i: Item) => ChunkSchema.parse(i));
  }

  async latestChunks(tenantId: string, taskId: string, bytes: number): Promise<Chunk[]> {
    const out: Chunk[] = [];
    let total = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
          ExpressionAttributeValues: {
            ":pk": keys.task(tenantId, taskId).pk,
            ":from": "CHUNK#",
            ":to": "CHUNK#~",
          },
          ProjectionExpression: "seq, kind, #text, #at",
          ExpressionAttributeNames: { "#text": "text", "#at": "at" },
          ScanIndexForward: false,
          Limit: 50,
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of res.Items ?? []) {
        const chunk = ChunkSchema.parse(item);
        out.push(chunk);
        total += byteLength(chunk.text);
        if (total >= bytes) break;
      }
      start = res.LastEvaluatedKey;
    } while (start && total < bytes);
    return out.reverse();
  }
}
