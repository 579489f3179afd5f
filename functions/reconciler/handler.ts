import { createDocumentClient } from "../../shared/adapters/dynamo/client.js";
import { DynamoTaskRepository } from "../../shared/adapters/dynamo/task-repository.js";
import { loadEnv } from "../../shared/config.js";
import { createLogger } from "../../shared/logger.js";
import { DEFAULT_LIMITS } from "../../shared/tenants.js";
import { type ReconcileOutcome, reconcileExecution } from "./reconcile.js";

let cached: ((event: unknown) => Promise<ReconcileOutcome>) | undefined;

/**
 * Lambda entry point for EventBridge "Step Functions Execution Status Change" events of the
 * task state machine (FAILED, TIMED_OUT, ABORTED). Configuration is read once per cold start.
 * A thrown error makes Lambda retry the event, then send it to the dead-letter queue.
 */
export async function handler(event: unknown): Promise<ReconcileOutcome> {
  if (!cached) {
    const env = loadEnv();
    const log = createLogger(env.BGA_LOG_LEVEL, "bga-reconciler");
    const { doc } = createDocumentClient({ region: env.AWS_REGION, endpoint: env.BGA_DYNAMODB_ENDPOINT });
    const repo = new DynamoTaskRepository(doc, {
      tableName: env.BGA_TABLE_NAME,
      retentionDays: DEFAULT_LIMITS.retention_days,
      maxTaskSeconds: DEFAULT_LIMITS.max_task_seconds,
    });
    cached = (e) => reconcileExecution({ repo, log }, e);
  }
  return cached(event);
}
