import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  type DynamoDBClientConfig,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type ExecuteTransactWriteInput, execute } from "dynamodb-toolbox/entity/actions/transactWrite";

/** Credentials, or a provider of them, as the SDK clients take them. */
export type AwsCredentials = NonNullable<DynamoDBClientConfig["credentials"]>;

export interface DynamoClientOptions {
  region: string;
  /** DynamoDB Local or another endpoint; default the region's DynamoDB endpoint. */
  endpoint?: string | undefined;
  /** Default: the SDK's default credential chain (environment, SSO/profiles, ECS container, EC2). */
  credentials?: AwsCredentials | undefined;
  /** Attempts per call; default the SDK's (standard retry mode: 3 attempts, with a retry quota). */
  maxAttempts?: number | undefined;
}

/**
 * The one DynamoDB document client of a process (one per cold start), passed to every repository
 * that needs it: the official SDK v3 client in standard retry mode, with plain JS values in and
 * out (lib-dynamodb marshalls keys, items and expression values; undefined values are dropped).
 */
export function createDynamoDocumentClient(options: DynamoClientOptions): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: options.region,
    retryMode: "standard",
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    // convertClassInstanceToMap: a map whose own key is named `constructor` ({"constructor": "z"}
    // in a task's metadata) is still a map, not an unsupported "class instance".
    marshallOptions: {
      removeUndefinedValues: true,
      convertEmptyValues: false,
      convertClassInstanceToMap: true,
    },
  });
}

/** DynamoDB Local accepts any credentials: fixed ones, so no credential chain is consulted. */
export const LOCAL_CREDENTIALS: AwsCredentials = { accessKeyId: "local", secretAccessKey: "local" };

/** A client for DynamoDB Local (the embedded store of `npm start`, the tests and the benches). */
export function createLocalDynamoDocumentClient(
  endpoint: string,
  options: { maxAttempts?: number } = {},
): DynamoDBDocumentClient {
  return createDynamoDocumentClient({
    region: "us-east-1",
    endpoint,
    credentials: LOCAL_CREDENTIALS,
    ...options,
  });
}

/** A transaction refused because the condition of its item at `index` failed. */
export function conditionFailedAt(err: unknown, index: number): boolean {
  return (
    err instanceof TransactionCanceledException &&
    err.CancellationReasons?.[index]?.Code === "ConditionalCheckFailed"
  );
}

/** A conditional single-item write refused. */
export function isConditionalCheckFailed(err: unknown): boolean {
  return err instanceof ConditionalCheckFailedException;
}

/**
 * A transaction cancelled only because another one touched one of its items at the same time
 * (DynamoDB's TransactionConflict), not because a condition failed: it may simply run again.
 */
export function isTransactionConflict(err: unknown): boolean {
  if (!(err instanceof TransactionCanceledException)) return false;
  const codes = (err.CancellationReasons ?? []).map((r) => r.Code);
  return codes.includes("TransactionConflict") && !codes.includes("ConditionalCheckFailed");
}

/** Attempts of a transaction that keeps conflicting; the backoff doubles from 25 ms (full jitter). */
export const TRANSACTION_ATTEMPTS = 6;

/**
 * Runs a write transaction (dynamodb-toolbox's execute), again with backoff while it only
 * conflicts with another transaction. The SDK retries throttling and 5xx itself, but not
 * conflicts (DynamoDB leaves those to the caller): a task's finishing write touches its tenant's
 * counters item, which a concurrent create may hold at that moment.
 */
export async function executeTransaction(...transactions: ExecuteTransactWriteInput): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await execute(...transactions);
      return;
    } catch (err) {
      if (!isTransactionConflict(err) || attempt >= TRANSACTION_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
    }
  }
}
