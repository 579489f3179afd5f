import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { GetCommand, PutCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  conditionFailedAt,
  createDynamoDocumentClient,
  createLocalDynamoDocumentClient,
  isConditionalCheckFailed,
} from "../../shared/adapters/dynamo/client.js";
import { ensureTable } from "../../shared/adapters/dynamo/table.js";

// The official SDK clients against DynamoDB Local: what the repositories rely on of them.
const endpoint = inject("dynamodbEndpoint");
const doc = createLocalDynamoDocumentClient(endpoint);
const TableName = `bga-sdk-${randomUUID()}`;

beforeAll(async () => {
  await ensureTable(doc, TableName);
  await ensureTable(doc, TableName); // a second start finds the table and goes on
});

describe("DynamoDB document client (official SDK, DynamoDB Local)", () => {
  it("round-trips plain values, binary as Uint8Array, and drops undefined ones", async () => {
    const item = { pk: "SDK#1", sk: "A", text: "héllo", n: 42, nothing: null, blob: Buffer.from([0, 254]) };
    await doc.send(new PutCommand({ TableName, Item: { ...item, gone: undefined } }));
    const { Item } = await doc.send(new GetCommand({ TableName, Key: { pk: "SDK#1", sk: "A" } }));
    expect(Item).toEqual({ ...item, blob: new Uint8Array([0, 254]) });
    expect(Item && "gone" in Item).toBe(false);
  });

  it("a refused condition is a typed ConditionalCheckFailedException", async () => {
    await doc.send(new PutCommand({ TableName, Item: { pk: "SDK#C", sk: "A" } }));
    const err = await doc
      .send(
        new PutCommand({
          TableName,
          Item: { pk: "SDK#C", sk: "A" },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      )
      .catch((e: unknown) => e);
    expect(isConditionalCheckFailed(err)).toBe(true);
    expect(conditionFailedAt(err, 0)).toBe(false);
    expect(isConditionalCheckFailed(new Error("ConditionalCheckFailedException"))).toBe(false);
  });

  it("a cancelled transaction names the item whose condition failed, and writes nothing", async () => {
    await doc.send(new PutCommand({ TableName, Item: { pk: "SDK#T", sk: "A", v: 1 } }));
    const err = await doc
      .send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName, Item: { pk: "SDK#T", sk: "B" } } },
            {
              Update: {
                TableName,
                Key: { pk: "SDK#T", sk: "A" },
                UpdateExpression: "SET v = :two",
                ConditionExpression: "v = :zero",
                ExpressionAttributeValues: { ":two": 2, ":zero": 0 },
              },
            },
          ],
        }),
      )
      .catch((e: unknown) => e);
    expect(conditionFailedAt(err, 1)).toBe(true);
    expect(conditionFailedAt(err, 0)).toBe(false);
    expect(isConditionalCheckFailed(err)).toBe(false);
    expect(
      (await doc.send(new GetCommand({ TableName, Key: { pk: "SDK#T", sk: "B" } }))).Item,
    ).toBeUndefined();
  });
});

describe("the default credential chain", () => {
  // An ECS/Fargate task gets its role's credentials from the container credentials endpoint
  // (AWS_CONTAINER_CREDENTIALS_FULL_URI); here a loopback server plays that endpoint.
  const served = { AccessKeyId: "ASIACONTAINERROLE", SecretAccessKey: "secret", Token: "container-token" };
  const requests: { url: string | undefined; authorization: string | undefined }[] = [];
  const credentialsEndpoint = createServer((req, res) => {
    requests.push({ url: req.url, authorization: req.headers.authorization });
    const expiration = new Date(Date.now() + 3_600_000).toISOString();
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ ...served, Expiration: expiration }));
  });
  const saved = { ...process.env };

  beforeAll(async () => {
    credentialsEndpoint.listen(0, "127.0.0.1");
    await once(credentialsEndpoint, "listening");
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"])
      delete process.env[name];
    const { port } = credentialsEndpoint.address() as AddressInfo;
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `http://127.0.0.1:${port}/v2/credentials/role`;
    process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = "container-auth-token";
    process.env.AWS_CONFIG_FILE = "/nonexistent/config";
    process.env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/credentials";
  });
  afterAll(() => {
    process.env = saved;
    credentialsEndpoint.close();
  });

  it("a container role works: the client signs with the credentials the container endpoint serves", async () => {
    const cloud = createDynamoDocumentClient({ region: "us-east-1", endpoint });
    await cloud.send(new PutCommand({ TableName, Item: { pk: "SDK#ROLE", sk: "A" } }));
    const { Item } = await cloud.send(new GetCommand({ TableName, Key: { pk: "SDK#ROLE", sk: "A" } }));
    expect(Item).toEqual({ pk: "SDK#ROLE", sk: "A" });
    expect(requests[0]).toEqual({ url: "/v2/credentials/role", authorization: "container-auth-token" });
    const credentials = await cloud.config.credentials();
    expect(credentials).toMatchObject({ accessKeyId: served.AccessKeyId, sessionToken: served.Token });
  });
});
