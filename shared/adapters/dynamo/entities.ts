import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Entity } from "dynamodb-toolbox/entity";
import { anyOf } from "dynamodb-toolbox/schema/anyOf";
import { binary } from "dynamodb-toolbox/schema/binary";
import { item } from "dynamodb-toolbox/schema/item";
import { list } from "dynamodb-toolbox/schema/list";
import { map } from "dynamodb-toolbox/schema/map";
import { nul } from "dynamodb-toolbox/schema/nul";
import { number } from "dynamodb-toolbox/schema/number";
import { record } from "dynamodb-toolbox/schema/record";
import { string } from "dynamodb-toolbox/schema/string";
import { Table } from "dynamodb-toolbox/table";
import { CHUNK_KINDS } from "../../domain/chunk.js";
import { TASK_STATUSES } from "../../domain/task.js";
import { INDEX_BY_STATUS, INDEX_BY_TENANT, keys, TABLE_SCHEMA } from "../../table-schema.js";

/**
 * The single table and the items stored in it, declared once: keys (from `keys` in
 * table-schema.ts, so every key format is the one the table has always had) and attributes.
 * The repositories build their reads and writes from these with dynamodb-toolbox commands.
 *
 * The stored layout is exactly the hand-written one it replaces: no entity attribute (`_et`)
 * and no timestamps (`_ct`/`_md`). An item whose IDs are not attributes of its own (a task's
 * input, chunks and checkpoint; the counters; the secrets) takes its partition key as its key.
 */

const [byTenant, byStatus] = TABLE_SCHEMA.indexes;

/** DynamoDB NULL or a value (a task's result before it ends, an unbound key's callers). */
const nullableString = () => anyOf(string(), nul());
/** No entity name (`_et`) and no timestamps (`_ct`/`_md`): items stay as the table has always held them. */
const plain = { entityAttribute: false, timestamps: false } as const;

export function createTableEntities(documentClient: DynamoDBDocumentClient, tableName: string) {
  const table = new Table({
    documentClient,
    name: tableName,
    partitionKey: { name: TABLE_SCHEMA.partitionKey, type: "string" },
    sortKey: { name: TABLE_SCHEMA.sortKey, type: "string" },
    indexes: {
      [INDEX_BY_TENANT]: {
        type: "global",
        partitionKey: { name: byTenant.partitionKey, type: "string" },
        sortKey: { name: byTenant.sortKey, type: "string" },
      },
      [INDEX_BY_STATUS]: {
        type: "global",
        partitionKey: { name: byStatus.partitionKey, type: "string" },
        sortKey: { name: byStatus.sortKey, type: "string" },
      },
    },
  });

  /** A task's state (sk TASK): small, updated at every flush; the indexes list it. */
  const TaskState = new Entity({
    name: "TaskState",
    table,
    ...plain,
    schema: item({
      tenant_id: string().key(),
      id: string().key(),
      agent: string(),
      caller: string(),
      status: string().enum(...TASK_STATUSES),
      created_at: string(),
      started_at: nullableString(),
      ended_at: nullableString(),
      runtime_ms: anyOf(number(), nul()),
      result: nullableString(),
      error: nullableString(),
      usage: map({
        input_tokens: number(),
        output_tokens: number(),
        model_calls: number(),
        tool_calls: number(),
      }),
      output_bytes: number(),
      last_seq: number(),
      metadata: record(string(), string()),
      depth: number(),
      parent_id: nullableString(),
      children: list(string()).optional(),
      /** Tasks stored before the input had an item of its own carry it here. */
      task: string().optional(),
      expected_output: nullableString().optional(),
      // The index keys: set by create (and gsi2pk by every status move); optional only so that
      // items written by hand without them (tests, repairs) still read.
      gsi1pk: string().optional().hidden(),
      gsi1sk: string().optional().hidden(),
      gsi2pk: string().optional().hidden(),
      gsi2sk: string().optional().hidden(),
      started_ms: number().optional().hidden(),
      /** The tenant's retention when the task was created: its expiry once it ends. */
      retention_s: number().optional().hidden(),
      expires_at: number().optional().hidden(),
    }),
    computeKey: ({ tenant_id, id }) => keys.task(tenant_id, id),
  });

  /** A task's input (sk INPUT): written once at creation, so flushes never rewrite it. */
  const TaskInput = new Entity({
    name: "TaskInput",
    table,
    ...plain,
    schema: item({
      pk: string().key().hidden(),
      task: string(),
      expected_output: nullableString(),
      expires_at: number().hidden(),
    }),
    computeKey: ({ pk }) => ({ pk, sk: keys.taskInput("", "").sk }),
  });

  /** One numbered piece of a task's output (sk CHUNK#<12-digit seq>). */
  const OutputChunk = new Entity({
    name: "OutputChunk",
    table,
    ...plain,
    schema: item({
      pk: string().key().hidden(),
      seq: number().key(),
      kind: string().enum(...CHUNK_KINDS),
      text: string(),
      at: string(),
      expires_at: number().hidden(),
    }),
    computeKey: ({ pk, seq }) => ({ pk, sk: keys.chunkSk(seq) }),
  });

  /** A running task's conversation (gzipped JSON), to resume from (sk CHECKPOINT). */
  const Checkpoint = new Entity({
    name: "Checkpoint",
    table,
    ...plain,
    schema: item({
      pk: string().key().hidden(),
      /** The first part of the gzipped conversation. */
      data: binary(),
      /** How many parts it has in all; absent on checkpoints stored in one part before parts existed. */
      parts: number().optional(),
      turns: number(),
      last_seq: number(),
      expires_at: number().hidden(),
    }),
    computeKey: ({ pk }) => ({ pk, sk: keys.checkpoint("", "").sk }),
  });

  /**
   * Further parts of a value too large for one item (DynamoDB's 400 KB): a checkpoint's after
   * the first, a task's changes' patch. The same item shape under each value's own sort keys.
   */
  const partEntity = <NAME extends string>(name: NAME, sk: (part: number) => string) =>
    new Entity({
      name,
      table,
      ...plain,
      schema: item({
        pk: string().key().hidden(),
        part: number().key(),
        data: binary(),
        expires_at: number().hidden(),
      }),
      computeKey: ({ pk, part }) => ({ pk, sk: sk(part) }),
    });
  const CheckpointPart = partEntity("CheckpointPart", keys.checkpointPartSk);

  /** A harness task's changes (sk CHANGES): the summary; the gzipped patch in TaskChangesPart items. */
  const TaskChangesHead = new Entity({
    name: "TaskChanges",
    table,
    ...plain,
    schema: item({
      pk: string().key().hidden(),
      /** Gzipped JSON of {base, files, branch}. */
      summary: binary(),
      /** How many patch parts follow. */
      parts: number(),
      expires_at: number().hidden(),
    }),
    computeKey: ({ pk }) => ({ pk, sk: keys.changes("", "").sk }),
  });

  /** The parts of a task's gzipped patch. */
  const TaskChangesPart = partEntity("TaskChangesPart", keys.changesPartSk);

  /** A tenant's running-task count (the concurrency limit). */
  const Counters = new Entity({
    name: "Counters",
    table,
    ...plain,
    schema: item({
      pk: string().key().hidden(),
      running: number().optional(),
    }),
    computeKey: ({ pk }) => ({ pk, sk: keys.counters("").sk }),
  });

  /** An Idempotency-Key taken by a create, for a day. */
  const Idempotency = new Entity({
    name: "Idempotency",
    table,
    ...plain,
    schema: item({
      pk: string().key().hidden(),
      task_id: string(),
      body_hash: string(),
      expires_at: number(),
    }),
    computeKey: ({ pk }) => ({ pk, sk: keys.idempotency("", "").sk }),
  });

  /** A tenant: its agent config (YAML and parsed JSON) and limits. */
  const TenantProfile = new Entity({
    name: "TenantProfile",
    table,
    ...plain,
    schema: item({
      id: string().key(),
      config: string(),
      config_json: string().optional(),
      // Each optional: limits stored before a limit existed take its default when read.
      limits: map({
        max_running_tasks: number().optional(),
        max_task_seconds: number().optional(),
        max_output_bytes: number().optional(),
        max_task_bytes: number().optional(),
        retention_days: number().optional(),
      }),
      created_at: string(),
      updated_at: string(),
    }),
    computeKey: ({ id }) => keys.tenantProfile(id),
  });

  /** A tenant's secrets: an encrypted blob; only the names are readable. */
  const TenantSecrets = new Entity({
    name: "TenantSecrets",
    table,
    ...plain,
    schema: item({
      pk: string().key().hidden(),
      blob: binary(),
      names: list(string()),
      updated_at: string(),
    }),
    computeKey: ({ pk }) => ({ pk, sk: keys.tenantSecrets("").sk }),
  });

  const apiKeyAttributes = {
    key_id: string(),
    tenant_id: string(),
    key_hash: string(),
    callers: anyOf(list(string()), nul()),
    created_at: string(),
  };

  /** An API key under its hash: what authentication reads. */
  const ApiKeyByHash = new Entity({
    name: "ApiKeyByHash",
    table,
    ...plain,
    schema: item({ ...apiKeyAttributes, key_hash: string().key() }),
    computeKey: ({ key_hash }) => keys.apiKeyByHash(key_hash),
  });

  /** The same key under its tenant: what the key list reads. */
  const ApiKeyOfTenant = new Entity({
    name: "ApiKeyOfTenant",
    table,
    ...plain,
    schema: item({ ...apiKeyAttributes, tenant_id: string().key(), key_id: string().key() }),
    computeKey: ({ tenant_id, key_id }) => keys.apiKeyOfTenant(tenant_id, key_id),
  });

  /** A tenant's completion webhook (sk WEBHOOK): its URL and its signing secret, encrypted. */
  const Webhook = new Entity({
    name: "Webhook",
    table,
    ...plain,
    schema: item({
      pk: string().key().hidden(),
      url: string(),
      secret: binary(),
      created_at: string(),
    }),
    computeKey: ({ pk }) => ({ pk, sk: keys.webhook("").sk }),
  });

  /** The webhook delivery of one task end (sk WEBHOOK in the task's partition), every attempt in it. */
  const WebhookDelivery = new Entity({
    name: "WebhookDelivery",
    table,
    ...plain,
    schema: item({
      pk: string().key().hidden(),
      tenant_id: string(),
      task_id: string(),
      webhook_id: string(),
      type: string(),
      state: string().enum("pending", "delivered", "failed", "abandoned"),
      created_at: string(),
      next_attempt_at: nullableString(),
      attempts: list(
        map({
          at: string(),
          status_code: anyOf(number(), nul()),
          error: nullableString(),
          duration_ms: number(),
        }),
      ),
      /** The tenant's deliveries, newest first (index by_tenant under their own partition key). */
      gsi1pk: string().hidden(),
      gsi1sk: string().hidden(),
      /** Pending deliveries by when they are due (index by_status, one partition); removed once done. */
      gsi2pk: string().optional().hidden(),
      gsi2sk: string().optional().hidden(),
      expires_at: number().hidden(),
    }),
    computeKey: ({ pk }) => ({ pk, sk: keys.webhookDelivery("", "").sk }),
  });

  return {
    table,
    Webhook,
    WebhookDelivery,
    TaskState,
    TaskInput,
    OutputChunk,
    Checkpoint,
    CheckpointPart,
    TaskChangesHead,
    TaskChangesPart,
    Counters,
    Idempotency,
    TenantProfile,
    TenantSecrets,
    ApiKeyByHash,
    ApiKeyOfTenant,
  };
}

export type TableEntities = ReturnType<typeof createTableEntities>;
