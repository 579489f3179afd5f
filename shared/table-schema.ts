/**
 * The single table's layout, shared by the CDK stack (infra/constructs/task-table.ts), the local
 * runtime and the repositories. Pure data: no AWS client is loaded by importing it.
 *
 * Every key carries the tenant, so one tenant's IDs never reach another's items.
 */
export const SEQ_WIDTH = 12;

export const INDEX_BY_TENANT = "by_tenant";
export const INDEX_BY_STATUS = "by_status";

export const keys = {
  /** A task's state: status, times, counters, usage, result: small, updated at every flush. */
  task: (tenantId: string, taskId: string) => ({ pk: `TENANT#${tenantId}#TASK#${taskId}`, sk: "TASK" }),
  /** A task's input (task text, expected output): written once, so flushes never rewrite it. */
  taskInput: (tenantId: string, taskId: string) => ({
    pk: `TENANT#${tenantId}#TASK#${taskId}`,
    sk: "INPUT",
  }),
  chunkSk: (seq: number) => `CHUNK#${String(seq).padStart(SEQ_WIDTH, "0")}`,
  checkpoint: (tenantId: string, taskId: string) => ({
    pk: `TENANT#${tenantId}#TASK#${taskId}`,
    sk: "CHECKPOINT",
  }),
  /** The parts of a checkpoint after the first (one item holds at most PART_BYTES). */
  checkpointPartSk: (part: number) => `CHECKPOINT#${String(part).padStart(4, "0")}`,
  /** A harness task's changes (SPEC §9): base, files and branch; the patch in parts after it. */
  changes: (tenantId: string, taskId: string) => ({
    pk: `TENANT#${tenantId}#TASK#${taskId}`,
    sk: "CHANGES",
  }),
  /** The parts of a task's changes (gzipped patch, at most PART_BYTES each). */
  changesPartSk: (part: number) => `CHANGES#${String(part).padStart(4, "0")}`,
  counters: (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: "COUNTERS" }),
  idempotency: (tenantId: string, keyHash: string) => ({
    pk: `TENANT#${tenantId}#IDEMPOTENCY#${keyHash}`,
    sk: "IDEMPOTENCY",
  }),
  /** GSI `by_tenant`: all of a tenant's tasks, newest first. */
  byTenant: (tenantId: string) => `TENANT#${tenantId}`,
  /** GSI `by_status`: a tenant's tasks in one status, newest first (no scan, no filter). */
  byStatus: (tenantId: string, status: string) => `TENANT#${tenantId}#STATUS#${status}`,
  listSk: (createdAt: string, taskId: string) => `${createdAt}#${taskId}`,
  /** Every tenant's profile sits in one partition, so the tenants list is one query. */
  tenantsPk: "TENANTS",
  tenantProfile: (tenantId: string) => ({ pk: "TENANTS", sk: `TENANT#${tenantId}` }),
  /** A tenant's secrets (encrypted blob, readable names). */
  tenantSecrets: (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: "SECRETS" }),
  /** A tenant's completion webhook: URL and encrypted signing secret. */
  webhook: (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: "WEBHOOK" }),
  /** The webhook delivery of a task's end, in the task's partition. */
  webhookDelivery: (tenantId: string, taskId: string) => ({
    pk: `TENANT#${tenantId}#TASK#${taskId}`,
    sk: "WEBHOOK",
  }),
  /** GSI `by_tenant`: a tenant's webhook deliveries, newest first (apart from its tasks). */
  webhookDeliveriesOfTenant: (tenantId: string) => `TENANT#${tenantId}#WEBHOOKS`,
  /** GSI `by_status`: every tenant's pending deliveries, by when they are due (`<ISO time>#<tenant>#<task>`). */
  webhooksDuePk: "WEBHOOKS#DUE",
  /** An API key by its hash (authentication), and the same key under its tenant (listing). */
  apiKeyByHash: (keyHash: string) => ({ pk: `APIKEY#${keyHash}`, sk: "APIKEY" }),
  apiKeyOfTenant: (tenantId: string, keyId: string) => ({ pk: `TENANT#${tenantId}`, sk: `KEY#${keyId}` }),
};

/**
 * The table's shape. Both indexes project the keys and `agent` (which never changes, and which a
 * list filters on): a list query reads keys from an index and the tasks from the table, so the
 * frequent progress writes of a running task never write to an index (DynamoDB writes an index
 * entry only when an attribute it projects changes).
 */
export const TABLE_SCHEMA = {
  partitionKey: "pk",
  sortKey: "sk",
  ttlAttribute: "expires_at",
  indexes: [
    {
      name: INDEX_BY_TENANT,
      partitionKey: "gsi1pk",
      sortKey: "gsi1sk",
      projection: "INCLUDE",
      include: ["agent"],
    },
    {
      name: INDEX_BY_STATUS,
      partitionKey: "gsi2pk",
      sortKey: "gsi2sk",
      projection: "INCLUDE",
      include: ["agent"],
    },
  ],
} as const;

interface KeySchemaElement {
  AttributeName: string;
  KeyType: "HASH" | "RANGE";
}

/** The fields of DynamoDB's CreateTable input this table uses (for the local runtime and tests). */
export interface CreateTableInput {
  TableName: string;
  BillingMode: "PAY_PER_REQUEST";
  AttributeDefinitions: { AttributeName: string; AttributeType: "S" }[];
  KeySchema: KeySchemaElement[];
  GlobalSecondaryIndexes: {
    IndexName: string;
    KeySchema: KeySchemaElement[];
    Projection: { ProjectionType: "INCLUDE"; NonKeyAttributes: string[] };
  }[];
}

export function createTableInput(tableName: string): CreateTableInput {
  const attrs = new Set<string>([TABLE_SCHEMA.partitionKey, TABLE_SCHEMA.sortKey]);
  for (const i of TABLE_SCHEMA.indexes) {
    attrs.add(i.partitionKey);
    attrs.add(i.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [...attrs].map((name) => ({ AttributeName: name, AttributeType: "S" })),
    KeySchema: [
      { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: "HASH" },
      { AttributeName: TABLE_SCHEMA.sortKey, KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: TABLE_SCHEMA.indexes.map((i) => ({
      IndexName: i.name,
      KeySchema: [
        { AttributeName: i.partitionKey, KeyType: "HASH" },
        { AttributeName: i.sortKey, KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: i.projection, NonKeyAttributes: [...i.include] },
    })),
  };
}
