import { gunzipSync, gzipSync } from "node:zlib";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { FormattedItem } from "dynamodb-toolbox/entity";
import { BatchGetRequest } from "dynamodb-toolbox/entity/actions/batchGet";
import { EntityFormatter } from "dynamodb-toolbox/entity/actions/format";
import { GetItemCommand } from "dynamodb-toolbox/entity/actions/get";
import type { Condition } from "dynamodb-toolbox/entity/actions/parseCondition";
import { PutItemCommand } from "dynamodb-toolbox/entity/actions/put";
import { DeleteTransaction } from "dynamodb-toolbox/entity/actions/transactDelete";
import { PutTransaction } from "dynamodb-toolbox/entity/actions/transactPut";
import { UpdateTransaction } from "dynamodb-toolbox/entity/actions/transactUpdate";
import {
  $add,
  $append,
  $get,
  $set,
  $subtract,
  $sum,
  UpdateItemCommand,
} from "dynamodb-toolbox/entity/actions/update";
import { BatchGetCommand, execute as executeBatchGet } from "dynamodb-toolbox/table/actions/batchGet";
import { QueryCommand } from "dynamodb-toolbox/table/actions/query";
import * as z from "zod";
import { byteLength, type Chunk, splitUtf8 } from "../../domain/chunk.js";
import { ConcurrencyLimitError, InvalidRequestError } from "../../domain/errors.js";
import {
  boundedError,
  finishingMove,
  type StatusMove,
  statusMove,
  type TaskRecord,
  TaskRecordSchema,
  type TaskStatus,
  WRITING_STATUS,
} from "../../domain/task.js";
import type { TaskChanges } from "../../harness/channel.js";
import { TaskChangesSchema } from "../../harness/channel.js";
import {
  type Checkpoint,
  type FlushInput,
  type FlushOutcome,
  IdempotencyKeyTakenError,
  type ListQuery,
  type NewTask,
  type TaskRepository,
} from "../../ports.js";
import { INDEX_BY_STATUS, INDEX_BY_TENANT, keys } from "../../table-schema.js";
import { DEFAULT_LIMITS } from "../../tenants.js";
import { conditionFailedAt, executeTransaction, isConditionalCheckFailed } from "./client.js";
import { createTableEntities, type TableEntities } from "./entities.js";

/**
 * The most of a gzipped value (a checkpoint, a harness task's patch) one item holds (DynamoDB
 * items are at most 400 KB).
 */
export const PART_BYTES = 350 * 1024;

/** `data` cut into parts of PART_BYTES (at least `min` of them, the last ones empty). */
function splitParts(data: Buffer, min: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length || parts.length < min; at += PART_BYTES)
    parts.push(data.subarray(at, at + PART_BYTES));
  return parts;
}

/**
 * A changes head's summary: the changes without the patch (which is in the parts). Its `base`
 * was checked when the route took it; read back as any string.
 */
const ChangesSummarySchema = TaskChangesSchema.omit({ patch: true }).extend({ base: z.string() });

/** A changes head's gzipped summary: base, files and (when pushed) the branch. */
function changesSummaryOf(summary: Uint8Array): Omit<TaskChanges, "patch"> {
  return ChangesSummarySchema.parse(JSON.parse(gunzipSync(summary).toString("utf8")));
}

type StateItem = FormattedItem<TableEntities["TaskState"]>;
type InputItem = FormattedItem<TableEntities["TaskInput"]>;

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

/** How long a task may stay pending before it starts (bounds the life of its input item). */
const PENDING_GRACE_SECONDS = 86_400;

/**
 * A task from its state item and its input item (keys and bookkeeping attributes are dropped).
 * Tasks stored before the input had an item of its own carry it in the state item.
 */
function toRecord(state: StateItem, input: InputItem | undefined): TaskRecord {
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

/** The partition of a task's items (state, input, chunks, checkpoint). */
const taskPk = (tenantId: string, taskId: string) => keys.task(tenantId, taskId).pk;

export class DynamoTaskRepository implements TaskRepository {
  private readonly now: () => Date;
  private readonly options: Required<Omit<TaskRepositoryOptions, "now">>;
  private readonly t: TableEntities;
  constructor(db: DynamoDBDocumentClient, options: TaskRepositoryOptions) {
    this.now = options.now ?? (() => new Date());
    this.options = {
      tableName: options.tableName,
      retentionDays: options.retentionDays ?? DEFAULT_LIMITS.retention_days,
      maxTaskSeconds: options.maxTaskSeconds ?? DEFAULT_LIMITS.max_task_seconds,
    };
    this.t = createTableEntities(db, options.tableName);
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
    const { TaskState, TaskInput, Counters, Idempotency } = this.t;
    const listSk = keys.listSk(record.created_at, record.id);
    const retention = retentionSeconds ?? this.options.retentionDays * 86_400;
    const { task, expected_output, ...state } = record;
    const pk = taskPk(record.tenant_id, record.id);
    const takeSlot = Counters.build(UpdateTransaction)
      .item({ pk: keys.counters(record.tenant_id).pk, running: $add(1) })
      .options({
        condition: {
          or: [
            { attr: "running", exists: false },
            { attr: "running", lt: maxRunningTasks },
          ],
        },
      });
    const putState = TaskState.build(PutTransaction)
      .item({
        ...state,
        gsi1pk: keys.byTenant(record.tenant_id),
        gsi1sk: listSk,
        gsi2pk: keys.byStatus(record.tenant_id, record.status),
        gsi2sk: listSk,
        retention_s: retention,
      })
      .options({ condition: { attr: "id", exists: false } });
    // Outlives the state item, whose expiry is set when the task ends (at most
    // max_task_seconds after it starts, PENDING_GRACE_SECONDS after it is created).
    const putInput = TaskInput.build(PutTransaction).item({
      pk,
      task,
      expected_output,
      expires_at:
        Math.floor(Date.parse(record.created_at) / 1000) +
        PENDING_GRACE_SECONDS +
        (maxTaskSeconds ?? this.options.maxTaskSeconds) +
        retention,
    });
    try {
      if (idempotency) {
        const takeKey = Idempotency.build(PutTransaction)
          .item({
            pk: keys.idempotency(record.tenant_id, idempotency.key).pk,
            task_id: record.id,
            body_hash: idempotency.bodyHash,
            expires_at: Math.floor(this.now().getTime() / 1000) + 86_400,
          })
          // A key past its 24 h window is free again, even before TTL removes its item (DynamoDB
          // deletes expired items within days; locally, never).
          .options({
            condition: {
              or: [
                { attr: "task_id", exists: false },
                { attr: "expires_at", lt: Math.floor(this.now().getTime() / 1000) },
              ],
            },
          });
        await executeTransaction(takeSlot, putState, putInput, takeKey);
      } else {
        await executeTransaction(takeSlot, putState, putInput);
      }
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
    const { Item: item } = await this.t.Idempotency.build(GetItemCommand)
      .key({ pk: keys.idempotency(tenantId, key).pk })
      .options({ consistent: true })
      .send();
    if (!item || item.expires_at * 1000 < this.now().getTime()) return null;
    const task = await this.get(tenantId, item.task_id, true);
    return task ? { task, bodyHash: item.body_hash } : null;
  }

  /** The task's two items (INPUT, TASK: adjacent sort keys) in one query. */
  async get(tenantId: string, taskId: string, consistent = false): Promise<TaskRecord | null> {
    const { Items: items = [] } = await this.t.table
      .build(QueryCommand)
      .query({ partition: taskPk(tenantId, taskId), range: { between: ["INPUT", "TASK"] } })
      .options({ consistent })
      .send();
    // Untyped rows of one partition: each is read by the entity its sort key names.
    const state = items.find((i) => i.sk === keys.task("", "").sk);
    const input = items.find((i) => i.sk === keys.taskInput("", "").sk);
    return state
      ? toRecord(
          this.t.TaskState.build(EntityFormatter).format(state),
          input ? this.t.TaskInput.build(EntityFormatter).format(input) : undefined,
        )
      : null;
  }

  /** The statuses alone of up to 100 tasks (state items only, one attribute): what `wait` polls. */
  async statuses(tenantId: string, taskIds: string[]): Promise<Map<string, TaskStatus>> {
    const { table, TaskState } = this.t;
    const ids = [...new Set(taskIds)];
    const out = new Map<string, TaskStatus>();
    if (ids.length === 0) return out;
    const command = table
      .build(BatchGetCommand)
      .requests(...ids.map((id) => TaskState.build(BatchGetRequest).key({ tenant_id: tenantId, id })))
      .options({ consistent: true });
    const { Responses: [found = []] = [] } = await executeBatchGet(
      { maxAttempts: Number.POSITIVE_INFINITY },
      command,
    );
    ids.forEach((id, n) => {
      const state = found[n] as StateItem | undefined;
      if (state) out.set(id, state.status);
    });
    return out;
  }

  async status(tenantId: string, taskId: string): Promise<TaskStatus | null> {
    const { Item: item } = await this.t.TaskState.build(GetItemCommand)
      .key({ tenant_id: tenantId, id: taskId })
      .options({ consistent: true, attributes: ["status"] })
      .send();
    return item ? item.status : null;
  }

  async getMany(tenantId: string, taskIds: string[]): Promise<Map<string, TaskRecord>> {
    const { table, TaskState, TaskInput } = this.t;
    const out = new Map<string, TaskRecord>();
    const unique = [...new Set(taskIds)];
    // Two items a task, at most 100 keys a BatchGetItem.
    for (let i = 0; i < unique.length; i += 50) {
      const ids = unique.slice(i, i + 50);
      const command = table
        .build(BatchGetCommand)
        .requests(
          ...ids.flatMap((id) => [
            TaskState.build(BatchGetRequest).key({ tenant_id: tenantId, id }),
            TaskInput.build(BatchGetRequest).key({ pk: taskPk(tenantId, id) }),
          ]),
        )
        .options({ consistent: true });
      const { Responses: [found = []] = [] } = await executeBatchGet(
        { maxAttempts: Number.POSITIVE_INFINITY },
        command,
      );
      ids.forEach((id, n) => {
        const state = found[2 * n] as StateItem | undefined;
        if (state) out.set(id, toRecord(state, found[2 * n + 1] as InputItem | undefined));
      });
    }
    return out;
  }

  private decodeCursor(tenantId: string, cursor: string, status?: TaskStatus): z.infer<typeof CursorSchema> {
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
    const keyQuery = query.status
      ? ({ index: INDEX_BY_STATUS, partition: keys.byStatus(tenantId, query.status) } as const)
      : ({ index: INDEX_BY_TENANT, partition: keys.byTenant(tenantId) } as const);
    const tasks: TaskRecord[] = [];
    let start: Record<string, unknown> | undefined = query.cursor
      ? this.decodeCursor(tenantId, query.cursor, query.status)
      : undefined;
    // The indexes hold keys and the agent only: read a page of keys, then the tasks themselves.
    // With an agent filter a page can come back short; keep reading until it is full or done.
    do {
      const res = await this.t.table
        .build(QueryCommand)
        .query(keyQuery)
        .options({
          reverse: true,
          limit: query.limit - tasks.length,
          ...(start ? { exclusiveStartKey: start } : {}),
          ...(query.agent !== undefined ? { filter: { attr: "agent", eq: query.agent } } : {}),
        })
        .send();
      const ids = (res.Items ?? []).map((item) => taskIdOfKey(tenantId, item.pk));
      const found = await this.getMany(tenantId, ids);
      for (const id of ids) {
        const task = found.get(id);
        if (task) tasks.push(task);
      }
      start = res.LastEvaluatedKey;
    } while (start && tasks.length < query.limit);
    return { tasks, nextCursor: encodeCursor(start) };
  }

  async runningCount(tenantId: string): Promise<number> {
    const { Item: item } = await this.t.Counters.build(GetItemCommand)
      .key({ pk: keys.counters(tenantId).pk })
      .options({ consistent: true })
      .send();
    return item?.running ?? 0;
  }

  /**
   * A domain status move as an update of the state item: its condition (the task is in one of
   * `move.from`) and what it sets. The repository decides nothing here; it only writes what the
   * move says.
   */
  private moveUpdate(move: StatusMove, tenantId: string, now: Date) {
    const nowMs = now.getTime();
    const nowS = Math.floor(nowMs / 1000);
    return {
      status: move.to,
      gsi2pk: keys.byStatus(tenantId, move.to),
      ...(move.starts ? { started_at: now.toISOString(), started_ms: nowMs } : {}),
      ...(move.ends
        ? {
            ended_at: now.toISOString(),
            // A task stopped before it started has no started_ms: its runtime is 0.
            runtime_ms: $subtract(nowMs, $get("started_ms", nowMs)),
            expires_at: $sum(nowS, $get("retention_s", this.options.retentionDays * 86_400)),
          }
        : {}),
    };
  }

  async transition(
    tenantId: string,
    taskId: string,
    to: TaskStatus,
    fields: { error?: string; result?: string } = {},
  ): Promise<{ moved: true; task: TaskRecord } | { moved: false; current: TaskRecord | null }> {
    const move = statusMove(to);
    const item = {
      tenant_id: tenantId,
      id: taskId,
      ...this.moveUpdate(move, tenantId, this.now()),
      ...(fields.error !== undefined ? { error: boundedError(fields.error) } : {}),
      ...(fields.result !== undefined ? { result: fields.result } : {}),
    };
    const condition: Condition<TableEntities["TaskState"]> = {
      and: [
        { attr: "id", exists: true },
        { attr: "status", in: [...move.from] },
      ],
    };
    try {
      if (move.ends) {
        await executeTransaction(
          this.t.TaskState.build(UpdateTransaction).item(item).options({ condition }),
          this.releaseSlot(tenantId),
        );
      } else {
        await this.t.TaskState.build(UpdateItemCommand).item(item).options({ condition }).send();
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
    return this.t.Counters.build(UpdateTransaction)
      .item({ pk: keys.counters(tenantId).pk, running: $subtract($get("running"), 1) })
      .options({ condition: { attr: "running", gt: 0 } });
  }

  async flush(input: FlushInput): Promise<FlushOutcome> {
    const { TaskState, OutputChunk, Checkpoint } = this.t;
    const now = input.at ?? this.now();
    const at = now.toISOString();
    const pk = taskPk(input.tenantId, input.taskId);
    const chunkExpiry = input.chunkExpiresAt ?? this.expiresAt(now, this.options.maxTaskSeconds);
    const chunkPuts: PutTransaction<TableEntities["OutputChunk"]>[] = [];
    let seq = input.expectedLastSeq;
    for (const chunk of input.chunks) {
      for (const text of splitUtf8(chunk.text)) {
        seq += 1;
        chunkPuts.push(
          OutputChunk.build(PutTransaction).item({
            pk,
            seq,
            kind: chunk.kind,
            text,
            at,
            expires_at: chunkExpiry,
          }),
        );
      }
    }
    // Without a finish, a flush moves no status but is guarded like one: the task must be running.
    const move = input.finish ? finishingMove(input.finish.status) : null;
    const from = move ? move.from : [WRITING_STATUS];
    // Only the small state item's counters: a flush costs the same whatever the task's size.
    const taskUpdate = TaskState.build(UpdateTransaction)
      .item({
        tenant_id: input.tenantId,
        id: input.taskId,
        last_seq: seq,
        output_bytes: $add(input.addOutputBytes),
        // The whole usage object replaced, as before (not merged field by field).
        usage: $set(input.usage),
        ...(move && input.finish
          ? {
              ...this.moveUpdate(move, input.tenantId, now),
              result: input.finish.result ?? null,
              error: input.finish.error == null ? null : boundedError(input.finish.error),
            }
          : {}),
      })
      .options({
        condition: {
          and: [
            { attr: "status", in: [...from] },
            { attr: "last_seq", eq: input.expectedLastSeq },
          ],
        },
      });
    const checkpointKey = { pk };
    const last = input.finish
      ? // Parts after the first are left to expire with the chunks: without the head they are never read.
        [this.releaseSlot(input.tenantId), Checkpoint.build(DeleteTransaction).key(checkpointKey)]
      : input.checkpoint
        ? this.checkpointPuts(pk, input.checkpoint, seq, chunkExpiry)
        : [];
    const all = [taskUpdate, ...chunkPuts, ...last];
    if (all.length > 100) throw new Error(`flush of ${all.length} items exceeds one transaction`);
    try {
      if (input.requestToken) await executeTransaction({ clientRequestToken: input.requestToken }, ...all);
      else await executeTransaction(...all);
    } catch (err) {
      if (!conditionFailedAt(err, 0)) throw err;
      // Why it was refused: the status alone tells (not the task's input).
      const status = await this.status(input.tenantId, input.taskId);
      if (status && status !== WRITING_STATUS) return { ok: false, reason: "not_running", status };
      return { ok: false, reason: "superseded" };
    }
    return { ok: true, lastSeq: seq };
  }

  async addChild(tenantId: string, parentId: string, childId: string): Promise<void> {
    await this.t.TaskState.build(UpdateItemCommand)
      .item({ tenant_id: tenantId, id: parentId, children: $append([childId]) })
      .options({ condition: { attr: "id", exists: true } })
      .send();
  }

  /**
   * A checkpoint as items: the gzipped conversation cut into parts of PART_BYTES, the
   * first in the head item (with the turn count), the rest in CHECKPOINT#0001… A long conversation
   * (a large tool result, many turns) then never passes DynamoDB's 400 KB item limit; what bounds
   * it is the transaction's 4 MB.
   */
  private checkpointPuts(
    pk: string,
    checkpoint: Omit<Checkpoint, "lastSeq">,
    seq: number,
    expiresAt: number,
  ) {
    const parts = splitParts(gzipSync(JSON.stringify(checkpoint.messages)), 1);
    const [first = Buffer.alloc(0), ...rest] = parts;
    return [
      this.t.Checkpoint.build(PutTransaction).item({
        pk,
        data: first,
        parts: parts.length,
        turns: checkpoint.turns,
        last_seq: seq,
        expires_at: expiresAt,
      }),
      ...rest.map((part, i) =>
        this.t.CheckpointPart.build(PutTransaction).item({
          pk,
          part: i + 1,
          data: part,
          expires_at: expiresAt,
        }),
      ),
    ];
  }

  async getCheckpoint(tenantId: string, taskId: string): Promise<Checkpoint | null> {
    const pk = taskPk(tenantId, taskId);
    const { Item: head } = await this.t.Checkpoint.build(GetItemCommand)
      .key({ pk })
      .options({ consistent: true })
      .send();
    if (!head) return null;
    const rest = await this.readParts("checkpoint", 1, (head.parts ?? 1) - 1, (part) =>
      this.t.CheckpointPart.build(GetItemCommand).key({ pk, part }).options({ consistent: true }).send(),
    );
    const parts = [head.data, ...rest];
    return {
      messages: JSON.parse(gunzipSync(Buffer.concat(parts)).toString("utf8")),
      turns: head.turns,
      lastSeq: head.last_seq,
    };
  }

  /** Up to `limit` chunks in order: chunk items only, in a range of their sort keys. */
  private chunkQuery(
    tenantId: string,
    taskId: string,
    from: string,
    options: { limit: number; reverse?: boolean; exclusiveStartKey?: Record<string, unknown> },
  ) {
    const { table, OutputChunk } = this.t;
    return table
      .build(QueryCommand)
      .entities(OutputChunk)
      .query({ partition: taskPk(tenantId, taskId), range: { between: [from, "CHUNK#~"] } })
      .options({ ...options, consistent: true, attributes: ["seq", "kind", "text", "at"] })
      .send();
  }

  async chunksAfter(tenantId: string, taskId: string, after: number, limit: number): Promise<Chunk[]> {
    const { Items = [] } = await this.chunkQuery(tenantId, taskId, keys.chunkSk(after + 1), { limit });
    return Items;
  }

  async latestChunks(tenantId: string, taskId: string, bytes: number): Promise<Chunk[]> {
    const out: Chunk[] = [];
    let total = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.chunkQuery(tenantId, taskId, "CHUNK#", {
        limit: 50,
        reverse: true,
        ...(start ? { exclusiveStartKey: start } : {}),
      });
      for (const chunk of res.Items ?? []) {
        out.push(chunk);
        total += byteLength(chunk.text);
        if (total >= bytes) break;
      }
      start = res.LastEvaluatedKey;
    } while (start && total < bytes);
    return out.reverse();
  }

  async putChanges(tenantId: string, taskId: string, changes: TaskChanges, expiresAt: number): Promise<void> {
    const pk = taskPk(tenantId, taskId);
    const { patch, ...rest } = changes;
    const parts = splitParts(gzipSync(patch), 0);
    // The parts first: a head is only ever read with all its parts in place.
    for (const [i, part] of parts.entries()) {
      await this.t.TaskChangesPart.build(PutItemCommand)
        .item({ pk, part: i + 1, data: part, expires_at: expiresAt })
        .send();
    }
    await this.t.TaskChangesHead.build(PutItemCommand)
      .item({ pk, summary: gzipSync(JSON.stringify(rest)), parts: parts.length, expires_at: expiresAt })
      .send();
  }

  private async changesHead(tenantId: string, taskId: string) {
    const { Item } = await this.t.TaskChangesHead.build(GetItemCommand)
      .key({ pk: taskPk(tenantId, taskId) })
      .options({ consistent: true })
      .send();
    return Item ?? null;
  }

  async changesSummary(tenantId: string, taskId: string): Promise<Omit<TaskChanges, "patch"> | null> {
    const head = await this.changesHead(tenantId, taskId);
    return head ? changesSummaryOf(head.summary) : null;
  }

  async getChanges(tenantId: string, taskId: string): Promise<TaskChanges | null> {
    const head = await this.changesHead(tenantId, taskId);
    if (!head) return null;
    const pk = taskPk(tenantId, taskId);
    const parts = await this.readParts("changes", 1, head.parts, (part) =>
      this.t.TaskChangesPart.build(GetItemCommand).key({ pk, part }).options({ consistent: true }).send(),
    );
    const patch = parts.length ? gunzipSync(Buffer.concat(parts)).toString("utf8") : "";
    return { ...changesSummaryOf(head.summary), patch };
  }

  /** Parts `from` … `to` of a checkpoint or of a task's changes, in order, each read by `get`. */
  private async readParts(
    of: "checkpoint" | "changes",
    from: number,
    to: number,
    get: (part: number) => Promise<{ Item?: { data: Uint8Array } }>,
  ): Promise<Uint8Array[]> {
    const parts: Uint8Array[] = [];
    for (let part = from; part <= to; part++) {
      const { Item } = await get(part);
      if (!Item) throw new Error(`${of} part ${part} of ${to} is missing`);
      parts.push(Item.data);
    }
    return parts;
  }
}
