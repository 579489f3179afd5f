import { randomUUID } from "node:crypto";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import {
  type AwsCredentials,
  AwsJsonClient,
  AwsServiceError,
  DYNAMODB,
  isRecord,
} from "../aws/aws-json-client.js";

/** An item, key or set of expression values as plain JS values (what the repositories use). */
export type Item = Record<string, unknown>;

type Names = Record<string, string>;

interface ConditionFields {
  ConditionExpression?: string;
  ExpressionAttributeNames?: Names;
  ExpressionAttributeValues?: Item;
  ReturnValuesOnConditionCheckFailure?: "ALL_OLD" | "NONE";
}

export interface GetInput {
  TableName: string;
  Key: Item;
  ConsistentRead?: boolean;
  ProjectionExpression?: string;
  ExpressionAttributeNames?: Names;
}
export interface GetOutput {
  Item?: Item;
}

export interface PutInput extends ConditionFields {
  TableName: string;
  Item: Item;
  ReturnValues?: "NONE" | "ALL_OLD";
}
export interface PutOutput {
  Attributes?: Item;
}

export interface UpdateInput extends ConditionFields {
  TableName: string;
  Key: Item;
  UpdateExpression: string;
  ReturnValues?: "NONE" | "ALL_OLD" | "UPDATED_OLD" | "ALL_NEW" | "UPDATED_NEW";
}
export interface UpdateOutput {
  Attributes?: Item;
}

export interface DeleteInput extends ConditionFields {
  TableName: string;
  Key: Item;
  ReturnValues?: "NONE" | "ALL_OLD";
}
export interface DeleteOutput {
  Attributes?: Item;
}

export interface QueryInput {
  TableName: string;
  IndexName?: string;
  KeyConditionExpression: string;
  FilterExpression?: string;
  ProjectionExpression?: string;
  ExpressionAttributeNames?: Names;
  ExpressionAttributeValues?: Item;
  ScanIndexForward?: boolean;
  ConsistentRead?: boolean;
  Limit?: number;
  ExclusiveStartKey?: Item | undefined;
}
export interface QueryOutput {
  Items?: Item[];
  Count?: number;
  LastEvaluatedKey?: Item;
}

export interface KeysAndAttributes {
  Keys: Item[];
  ConsistentRead?: boolean;
  ProjectionExpression?: string;
  ExpressionAttributeNames?: Names;
}
export interface BatchGetInput {
  RequestItems: Record<string, KeysAndAttributes>;
}
export interface BatchGetOutput {
  Responses?: Record<string, Item[]>;
  UnprocessedKeys?: Record<string, KeysAndAttributes>;
}

/** One write of a BatchWriteItem: exactly one of the two. */
export interface WriteRequest {
  PutRequest?: { Item: Item };
  DeleteRequest?: { Key: Item };
}
export interface BatchWriteInput {
  RequestItems: Record<string, WriteRequest[]>;
}
export interface BatchWriteOutput {
  UnprocessedItems?: Record<string, WriteRequest[]>;
}

/** One item of a TransactWriteItems: exactly one of the four. */
export interface TransactWriteItem {
  Put?: Omit<PutInput, "ReturnValues">;
  Update?: Omit<UpdateInput, "ReturnValues">;
  Delete?: Omit<DeleteInput, "ReturnValues">;
  ConditionCheck?: ConditionFields & { TableName: string; Key: Item; ConditionExpression: string };
}
export interface TransactWriteInput {
  TransactItems: TransactWriteItem[];
  /** Makes a retried transaction idempotent for 10 minutes; a fresh one per call by default (as the SDK). */
  ClientRequestToken?: string;
}

/** A reason of a TransactionCanceledException, one per item, in the order of TransactItems. */
export interface CancellationReason {
  /** `None`, `ConditionalCheckFailed`, `TransactionConflict`, … */
  Code?: string;
  Message?: string;
  /** The item as it was, when the item asked for ReturnValuesOnConditionCheckFailure: ALL_OLD. */
  Item?: Item;
}

const MARSHALL_OPTIONS = { removeUndefinedValues: true, convertEmptyValues: false };

function toWire(item: Item) {
  return marshall(item, MARSHALL_OPTIONS);
}

function optionalToWire(item: Item | undefined) {
  return item === undefined ? undefined : toWire(item);
}

function base64ToBytes(text: string): Uint8Array {
  const b = Buffer.from(text, "base64");
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Binary attributes arrive as base64 text in the JSON protocol: make them bytes again. */
function decodeBinary(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeBinary);
  if (!isRecord(value)) return value;
  if (typeof value.B === "string") return { B: base64ToBytes(value.B) };
  if (Array.isArray(value.BS))
    return { BS: value.BS.map((b) => (typeof b === "string" ? base64ToBytes(b) : b)) };
  if (Array.isArray(value.L)) return { L: value.L.map(decodeBinary) };
  if (isRecord(value.M)) return { M: decodeMap(value.M) };
  return value;
}

function decodeMap(map: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(map)) out[name] = decodeBinary(value);
  return out;
}

/** An item in DynamoDB JSON (from a response) as plain JS values. */
function fromWire(value: unknown): Item {
  if (!isRecord(value)) throw new TypeError("DynamoDB returned an item that is not an object");
  return unmarshall(decodeMap(value) as Parameters<typeof unmarshall>[0]);
}

function optionalFromWire(value: unknown): Item | undefined {
  return value === undefined ? undefined : fromWire(value);
}

function itemsFromWire(value: unknown): Item[] | undefined {
  return Array.isArray(value) ? value.map(fromWire) : undefined;
}

function withConditionValues<T extends ConditionFields>(input: T) {
  return { ...input, ExpressionAttributeValues: optionalToWire(input.ExpressionAttributeValues) };
}

function writeRequestsToWire(requests: Record<string, WriteRequest[]>) {
  return Object.fromEntries(
    Object.entries(requests).map(([table, writes]) => [
      table,
      writes.map((w) => ({
        ...(w.PutRequest ? { PutRequest: { Item: toWire(w.PutRequest.Item) } } : {}),
        ...(w.DeleteRequest ? { DeleteRequest: { Key: toWire(w.DeleteRequest.Key) } } : {}),
      })),
    ]),
  );
}

function writeRequestsFromWire(value: unknown): Record<string, WriteRequest[]> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, WriteRequest[]> = {};
  for (const [table, writes] of Object.entries(value)) {
    out[table] = (Array.isArray(writes) ? writes : []).filter(isRecord).map((w) => ({
      ...(isRecord(w.PutRequest) ? { PutRequest: { Item: fromWire(w.PutRequest.Item) } } : {}),
      ...(isRecord(w.DeleteRequest) ? { DeleteRequest: { Key: fromWire(w.DeleteRequest.Key) } } : {}),
    }));
  }
  return out;
}

function keysAndAttributesToWire(requests: Record<string, KeysAndAttributes>) {
  return Object.fromEntries(
    Object.entries(requests).map(([table, r]) => [table, { ...r, Keys: r.Keys.map(toWire) }]),
  );
}

function keysAndAttributesFromWire(value: unknown): Record<string, KeysAndAttributes> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, KeysAndAttributes> = {};
  for (const [table, r] of Object.entries(value)) {
    if (!isRecord(r)) continue;
    out[table] = { ...r, Keys: itemsFromWire(r.Keys) ?? [] };
  }
  return out;
}

function transactItemToWire(item: TransactWriteItem) {
  const { Put, Update, Delete, ConditionCheck } = item;
  return {
    ...(Put ? { Put: { ...withConditionValues(Put), Item: toWire(Put.Item) } } : {}),
    ...(Update ? { Update: { ...withConditionValues(Update), Key: toWire(Update.Key) } } : {}),
    ...(Delete ? { Delete: { ...withConditionValues(Delete), Key: toWire(Delete.Key) } } : {}),
    ...(ConditionCheck
      ? { ConditionCheck: { ...withConditionValues(ConditionCheck), Key: toWire(ConditionCheck.Key) } }
      : {}),
  };
}

/**
 * An error response with its items as plain JS values: the `Item` of each of a
 * TransactionCanceledException's CancellationReasons, and of a ConditionalCheckFailedException.
 */
function withNativeItems(err: AwsServiceError): AwsServiceError {
  const { CancellationReasons: reasons, Item: item } = err.body;
  if (!Array.isArray(reasons) && item === undefined) return err;
  const body: Record<string, unknown> = { ...err.body };
  if (Array.isArray(reasons)) {
    body.CancellationReasons = reasons.map((r) =>
      isRecord(r) && r.Item !== undefined ? { ...r, Item: fromWire(r.Item) } : r,
    );
  }
  if (item !== undefined) body.Item = fromWire(item);
  return new AwsServiceError({
    code: err.code,
    message: err.message,
    statusCode: err.statusCode,
    body,
    requestId: err.requestId,
  });
}

/**
 * The CancellationReasons of a TransactionCanceledException from DynamoDocumentClient (items as
 * plain values), or undefined for any other error.
 */
export function cancellationReasons(err: unknown): CancellationReason[] | undefined {
  if (!(err instanceof AwsServiceError) || err.code !== "TransactionCanceledException") return undefined;
  const reasons = err.body.CancellationReasons;
  if (!Array.isArray(reasons)) return [];
  return reasons.map((r): CancellationReason => {
    if (!isRecord(r)) return {};
    return {
      ...(typeof r.Code === "string" ? { Code: r.Code } : {}),
      ...(typeof r.Message === "string" ? { Message: r.Message } : {}),
      ...(isRecord(r.Item) ? { Item: r.Item } : {}),
    };
  });
}

/** A transaction refused because the condition of its item at `index` failed. */
export function conditionFailedAt(err: unknown, index: number): boolean {
  return cancellationReasons(err)?.[index]?.Code === "ConditionalCheckFailed";
}

/** A conditional write refused: a ConditionalCheckFailedException (single-item writes). */
export function isConditionalCheckFailed(err: unknown): boolean {
  return err instanceof AwsServiceError && err.code === "ConditionalCheckFailedException";
}

/**
 * DynamoDB with plain JS values in and out, like the SDK's DynamoDBDocumentClient: keys, items
 * and expression values are marshalled (util-dynamodb), items in responses unmarshalled. Only
 * the operations this service uses; `call` sends any other operation as it is (DynamoDB JSON).
 */
export class DynamoDocumentClient {
  constructor(private readonly client: AwsJsonClient) {}

  /** The endpoint requests go to. */
  get endpoint(): string {
    return this.client.endpoint;
  }

  /** Any operation, input and output in DynamoDB's own JSON (e.g. CreateTable, DescribeTable). */
  call<T>(operation: string, input: object): Promise<T> {
    return this.client.call<T>(operation, input);
  }

  /** A data operation; error responses come with their items as plain values. */
  private async send(operation: string, input: object): Promise<Record<string, unknown>> {
    try {
      return await this.client.call<Record<string, unknown>>(operation, input);
    } catch (err) {
      throw err instanceof AwsServiceError ? withNativeItems(err) : err;
    }
  }

  async get(input: GetInput): Promise<GetOutput> {
    const out = await this.send("GetItem", { ...input, Key: toWire(input.Key) });
    return { Item: optionalFromWire(out.Item) };
  }

  async put(input: PutInput): Promise<PutOutput> {
    const out = await this.send("PutItem", { ...withConditionValues(input), Item: toWire(input.Item) });
    return { Attributes: optionalFromWire(out.Attributes) };
  }

  async update(input: UpdateInput): Promise<UpdateOutput> {
    const out = await this.send("UpdateItem", { ...withConditionValues(input), Key: toWire(input.Key) });
    return { Attributes: optionalFromWire(out.Attributes) };
  }

  async delete(input: DeleteInput): Promise<DeleteOutput> {
    const out = await this.send("DeleteItem", { ...withConditionValues(input), Key: toWire(input.Key) });
    return { Attributes: optionalFromWire(out.Attributes) };
  }

  async query(input: QueryInput): Promise<QueryOutput> {
    const out = await this.send("Query", {
      ...input,
      ExpressionAttributeValues: optionalToWire(input.ExpressionAttributeValues),
      ExclusiveStartKey: optionalToWire(input.ExclusiveStartKey),
    });
    return {
      Items: itemsFromWire(out.Items) ?? [],
      ...(typeof out.Count === "number" ? { Count: out.Count } : {}),
      LastEvaluatedKey: optionalFromWire(out.LastEvaluatedKey),
    };
  }

  async batchGet(input: BatchGetInput): Promise<BatchGetOutput> {
    const out = await this.send("BatchGetItem", {
      RequestItems: keysAndAttributesToWire(input.RequestItems),
    });
    const responses: Record<string, Item[]> = {};
    if (isRecord(out.Responses)) {
      for (const [table, items] of Object.entries(out.Responses))
        responses[table] = itemsFromWire(items) ?? [];
    }
    return { Responses: responses, UnprocessedKeys: keysAndAttributesFromWire(out.UnprocessedKeys) };
  }

  async batchWrite(input: BatchWriteInput): Promise<BatchWriteOutput> {
    const out = await this.send("BatchWriteItem", { RequestItems: writeRequestsToWire(input.RequestItems) });
    return { UnprocessedItems: writeRequestsFromWire(out.UnprocessedItems) };
  }

  /**
   * All the writes or none. A refused condition throws an AwsServiceError named
   * TransactionCanceledException: read its reasons with cancellationReasons().
   */
  async transactWrite(input: TransactWriteInput): Promise<void> {
    await this.send("TransactWriteItems", {
      TransactItems: input.TransactItems.map(transactItemToWire),
      ClientRequestToken: input.ClientRequestToken ?? randomUUID(),
    });
  }
}

export interface DynamoClientOptions {
  region: string;
  /** DynamoDB Local or another endpoint; it is then called with fixed credentials (any work there). */
  endpoint?: string | undefined;
  credentials?: AwsCredentials | undefined;
  /** Default 4: what the SDK's DynamoDB client used (its DynamoDB-specific default). */
  maxAttempts?: number | undefined;
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

/**
 * One document client per process, shared by every repository that needs it. Requests go
 * through the platform's `fetch`: in Lambda, the Powertools Tracer (captureHTTPsRequests, on by
 * default) traces each one as a subsegment named after the host, with its status, from undici's
 * diagnostics channels; it does not know the DynamoDB operation or table.
 */
export function createDynamoDocumentClient(options: DynamoClientOptions): DynamoDocumentClient {
  const local = options.endpoint !== undefined && options.credentials === undefined;
  return new DynamoDocumentClient(
    new AwsJsonClient({
      service: DYNAMODB,
      region: options.region,
      endpoint: options.endpoint,
      // DynamoDB Local accepts any credentials.
      credentials: local ? { accessKeyId: "local", secretAccessKey: "local" } : options.credentials,
      maxAttempts: options.maxAttempts ?? 4,
      sleep: options.sleep,
    }),
  );
}
