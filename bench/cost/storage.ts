import { type DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { keys, TABLE_SCHEMA } from "../../shared/table-schema.js";
import { itemSize } from "../dynamo-json.js";
import { TENANT_ID } from "../support.js";

/** DynamoDB bills 100 bytes of overhead per stored item, and per index entry. */
const ITEM_OVERHEAD = 100;

/** Bytes an item takes in the indexes that hold it: keys and projected attributes, + overhead each. */
function indexBytes(item: Record<string, unknown>): number {
  let bytes = 0;
  for (const index of TABLE_SCHEMA.indexes) {
    if (item[index.partitionKey] === undefined) continue;
    const projected = [
      TABLE_SCHEMA.partitionKey,
      TABLE_SCHEMA.sortKey,
      index.partitionKey,
      index.sortKey,
      ...index.include,
    ];
    bytes += itemSize(item, projected) + ITEM_OVERHEAD;
  }
  return bytes;
}

/** The task's items as stored (task, chunks, checkpoint) and their index entries, read directly. */
export async function storedBytes(doc: DynamoDBDocumentClient, tableName: string, taskId: string) {
  let bytes = 0;
  let items = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": keys.task(TENANT_ID, taskId).pk },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      items += 1;
      bytes += itemSize(item) + ITEM_OVERHEAD + indexBytes(item);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return { bytes, items };
}
