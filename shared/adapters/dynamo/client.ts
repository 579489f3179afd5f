import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  type DynamoDBClientConfig,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

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
