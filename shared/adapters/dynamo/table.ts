import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createTableInput, TABLE_SCHEMA } from "../../table-schema.js";

/** Creates the table (and its TTL setting) unless it exists: for the local runtime and the tests. */
export async function ensureTable(db: DynamoDBDocumentClient, tableName: string): Promise<void> {
  try {
    await db.send(new CreateTableCommand(createTableInput(tableName)));
    await db.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TABLE_SCHEMA.ttlAttribute, Enabled: true },
      }),
    );
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
  }
  await db.send(new DescribeTableCommand({ TableName: tableName }));
}
