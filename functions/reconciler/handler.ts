import { createDynamoDocumentClient } from "../../shared/adapters/dynamo/client.js";
import { DynamoTaskRepository } from "../../shared/adapters/dynamo/task-repository.js";
import { createPowertools } from "../../shared/adapters/observability/powertools.js";
import { loadEnv } from "../../shared/config.js";
import { type ReconcileOutcome, reconcileExecution } from "./reconcile.js";

/** Logger, metrics and tracer: once per cold start. */
const powertools = createPowertools("bga-reconciler");

let cached: ((event: unknown) => Promise<ReconcileOutcome>) | undefined;

/**
 * Lambda entry point for EventBridge "Step Functions Execution Status Change" events of the
 * task state machine (FAILED, TIMED_OUT, ABORTED). Configuration is read once per cold start.
 * A thrown error makes Lambda retry the event, then send it to the dead-letter queue.
 */
export async function handler(event: unknown): Promise<ReconcileOutcome> {
  if (!cached) {
    const env = loadEnv();
    const log = powertools.log;
    // `fetch` underneath: the tracer traces each request as a subsegment named after the host.
    const doc = createDynamoDocumentClient({ region: env.AWS_REGION, endpoint: env.BGA_DYNAMODB_ENDPOINT });
    const repo = new DynamoTaskRepository(doc, { tableName: env.BGA_TABLE_NAME });
    cached = (e) => reconcileExecution({ repo, log }, e);
  }
  try {
    const outcome = await cached(event);
    if (outcome.action === "failed") powertools.sink.count("TasksFailedByReconciler");
    return outcome;
  } finally {
    powertools.flush();
  }
}
