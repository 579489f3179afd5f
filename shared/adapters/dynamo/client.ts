import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** One document client per process, shared by every repository that needs it. */
export function createDocumentClient(options: {
  region: string;
  endpoint?: string | undefined;
  /** Runs on the low-level client before the document client wraps it (e.g. X-Ray capture). */
  instrument?: (client: DynamoDBClient) => void;
}): {
  raw: DynamoDBClient;
  doc: DynamoDBDocumentClient;
} {
  const raw = new DynamoDBClient({
    region: options.region,
    ...(options.endpoint
      ? {
          endpoint: options.endpoint,
          // DynamoDB Local accepts any credentials.
          credentials: { accessKeyId: "local", secretAccessKey: "local" },
        }
      : {}),
  });
  options.instrument?.(raw);
  const doc = DynamoDBDocumentClient.from(raw, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
  return { raw, doc };
}
