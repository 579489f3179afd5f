import { createTableInput, TABLE_SCHEMA } from "../../table-schema.js";
import { isAwsServiceError } from "../aws/aws-json-client.js";
import type { DynamoDocumentClient } from "./client.js";

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
