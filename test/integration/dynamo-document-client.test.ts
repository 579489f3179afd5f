import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { AwsServiceError } from "../../shared/adapters/aws/aws-json-client.js";
import {
  cancellationReasons,
  createDynamoDocumentClient,
  isConditionalCheckFailed,
} from "../../shared/adapters/dynamo/client.js";
import { ensureTable } from "../../shared/adapters/dynamo/table.js";

// The document client against DynamoDB Local: plain values in and out, and DynamoDB's own
// error responses as AwsServiceError.

const doc = createDynamoDocumentClient({ region: "us-east-1", endpoint: inject("dynamodbEndpoint") });
const TableName = `bga-doc-${randomUUID()}`;

beforeAll(async () => {
  await ensureTable(doc, TableName);
});

const item = {
  pk: "DOC#1",
  sk: "A",
  text: "héllo",
  count: 42,
  ratio: 0.5,
  flag: true,
  nothing: null,
  list: ["a", 1, { deep: [false] }],
  map: { nested: { n: -3 }, bytes: new Uint8Array([0, 1, 254, 255]) },
  blob: Buffer.from("gzip bytes"),
  tags: new Set(["x", "y"]),
};

describe("DynamoDB document client (DynamoDB Local)", () => {
  it("writes and reads plain JS values, binary included, dropping undefined ones", async () => {
    await doc.put({ TableName, Item: { ...item, gone: undefined } });
    const { Item } = await doc.get({ TableName, Key: { pk: "DOC#1", sk: "A" }, ConsistentRead: true });
    expect(Item).toEqual({
      ...item,
      map: { nested: { n: -3 }, bytes: new Uint8Array([0, 1, 254, 255]) },
      blob: new Uint8Array(Buffer.from("gzip bytes")),
    });
    expect(Item?.blob).toBeInstanceOf(Uint8Array);
    expect(Item && "gone" in Item).toBe(false);
    expect((await doc.get({ TableName, Key: { pk: "DOC#1", sk: "none" } })).Item).toBeUndefined();
  });

  it("updates with expression values and returns the attributes; deletes with the old ones", async () => {
    const updated = await doc.update({
      TableName,
      Key: { pk: "DOC#2", sk: "A" },
      UpdateExpression: "SET #n = if_not_exists(#n, :zero) + :one, tags = :tags",
      ExpressionAttributeNames: { "#n": "n" },
      ExpressionAttributeValues: { ":zero": 0, ":one": 1, ":tags": ["t"] },
      ReturnValues: "ALL_NEW",
    });
    expect(updated.Attributes).toEqual({ pk: "DOC#2", sk: "A", n: 1, tags: ["t"] });
    const deleted = await doc.delete({ TableName, Key: { pk: "DOC#2", sk: "A" }, ReturnValues: "ALL_OLD" });
    expect(deleted.Attributes).toEqual({ pk: "DOC#2", sk: "A", n: 1, tags: ["t"] });
  });

  it("queries page by page with LastEvaluatedKey / ExclusiveStartKey as plain keys", async () => {
    await doc.batchWrite({
      RequestItems: {
        [TableName]: ["1", "2", "3", "4", "5"].map((sk) => ({
          PutRequest: { Item: { pk: "DOC#Q", sk, v: sk } },
        })),
      },
    });
    const seen: unknown[] = [];
    let start: Record<string, unknown> | undefined;
    let pages = 0;
    do {
      const page = await doc.query({
        TableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": "DOC#Q" },
        Limit: 2,
        ExclusiveStartKey: start,
      });
      pages += 1;
      seen.push(...(page.Items ?? []).map((i) => i.v));
      start = page.LastEvaluatedKey;
      if (start) expect(start).toEqual({ pk: "DOC#Q", sk: String(seen.length) });
    } while (start);
    expect(seen).toEqual(["1", "2", "3", "4", "5"]);
    expect(pages).toBe(3);
    const got = await doc.batchGet({
      RequestItems: {
        [TableName]: {
          Keys: [
            { pk: "DOC#Q", sk: "2" },
            { pk: "DOC#Q", sk: "9" },
          ],
        },
      },
    });
    expect(got.Responses?.[TableName]).toEqual([{ pk: "DOC#Q", sk: "2", v: "2" }]);
  });

  it("a refused condition is a ConditionalCheckFailedException, with the item when asked", async () => {
    await doc.put({ TableName, Item: { pk: "DOC#C", sk: "A", v: 1 } });
    const err = await doc
      .put({
        TableName,
        Item: { pk: "DOC#C", sk: "A", v: 2 },
        ConditionExpression: "attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsServiceError);
    expect(isConditionalCheckFailed(err)).toBe(true);
    expect(err).toMatchObject({
      name: "ConditionalCheckFailedException",
      statusCode: 400,
      message: expect.stringMatching(/conditional request failed/i),
      body: { Item: { pk: "DOC#C", sk: "A", v: 1 } },
    });
  });

  it("a cancelled transaction is a TransactionCanceledException with a reason per item", async () => {
    await doc.put({ TableName, Item: { pk: "DOC#T", sk: "A", v: 1, data: Buffer.from([7]) } });
    const err = await doc
      .transactWrite({
        TransactItems: [
          { Put: { TableName, Item: { pk: "DOC#T", sk: "B", v: 1 } } },
          {
            Update: {
              TableName,
              Key: { pk: "DOC#T", sk: "A" },
              UpdateExpression: "SET v = :two",
              ConditionExpression: "v = :zero",
              ExpressionAttributeValues: { ":two": 2, ":zero": 0 },
              ReturnValuesOnConditionCheckFailure: "ALL_OLD",
            },
          },
        ],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsServiceError);
    expect(err).toMatchObject({ name: "TransactionCanceledException", statusCode: 400 });
    expect(cancellationReasons(err)).toEqual([
      { Code: "None" },
      {
        Code: "ConditionalCheckFailed",
        Message: expect.any(String),
        Item: { pk: "DOC#T", sk: "A", v: 1, data: new Uint8Array([7]) },
      },
    ]);
    expect(cancellationReasons(new Error("x"))).toBeUndefined();
    // Nothing of the transaction was written.
    expect((await doc.get({ TableName, Key: { pk: "DOC#T", sk: "B" } })).Item).toBeUndefined();
  });

  it("a transaction retried with its ClientRequestToken is applied once", async () => {
    const write = {
      TransactItems: [
        {
          Update: {
            TableName,
            Key: { pk: "DOC#I", sk: "A" },
            UpdateExpression: "SET n = if_not_exists(n, :zero) + :one",
            ExpressionAttributeValues: { ":zero": 0, ":one": 1 },
          },
        },
      ],
      ClientRequestToken: randomUUID(),
    };
    await doc.transactWrite(write);
    await doc.transactWrite(write);
    const { Item } = await doc.get({ TableName, Key: { pk: "DOC#I", sk: "A" }, ConsistentRead: true });
    expect(Item?.n).toBe(1);
  });

  it("other operations go as they are; their errors too", async () => {
    const tables = await doc.call<{ TableNames: string[] }>("ListTables", {});
    expect(tables.TableNames).toContain(TableName);
    await expect(doc.call("DescribeTable", { TableName: "no-such-table" })).rejects.toMatchObject({
      name: "ResourceNotFoundException",
      statusCode: 400,
    });
    await expect(doc.get({ TableName, Key: { pk: "only the hash key" } })).rejects.toMatchObject({
      name: "ValidationException",
    });
  });
});
