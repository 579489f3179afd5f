import { isAwsServiceError } from "../aws/aws-json-client.js";
import type { DynamoDocumentClient } from "./client.js";
import { INDEX_BY_STATUS, INDEX_BY_TENANT } from "./keys.js";

interface KeySchemaElement {
  AttributeName: string;
  KeyType: "HASH" | "RANGE";
}

/** The fields of DynamoDB's CreateTable input this table uses. */
export interface CreateTableInput {
  TableName: string;
  BillingMode: "PAY_PER_REQUEST";
  AttributeDefinitions: { AttributeName: string; AttributeType: "S" | "N" | "B" }[];
  KeySchema: KeySchemaElement[];
  GlobalSecondaryIndexes: {
    IndexName: string;
    KeySchema: KeySchemaElement[];
    Projection: { ProjectionType: "ALL" };
  }[];
}

/**
 * The table's shape, for the local runtime and the tests (CDK declares the same shape in
 * infra/constructs/task-table.ts; test/infra checks the two agree).
 */
export const TABLE_SCHEMA = {
  partitionKey: "pk",
  sortKey: "sk",
  ttlAttribute: "expires_at",
  indexes: [
    { name: INDEX_BY_TENANT, partitionKey: "gsi1pk", sortKey: "gsi1sk" },
    { name: INDEX_BY_STATUS, partitionKey: "gsi2pk", sortKey: "gsi2sk" },
  ],
} as const;

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
      Projection: { ProjectionType: "ALL" },
    })),
  };
}

/** Creates the table (and its TTL setting) unless it exists. */
export async function ensureTable(db: DynamoDocumentClient, tableName: string): Promise<void> {
  try {
    await db.call("CreateTable", createTableInput(tableName));
    await db.call("UpdateTimeToLive", {
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: TABLE_SCHEMA.ttlAttribute, Enabled: true },
    });
  } catch (err) {
    if (!isAwsServiceError(err, "ResourceInUseException")) throw err;
  }
  await db.call("DescribeTable", { TableName: tableName });
}
