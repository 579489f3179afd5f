import {
  createPowertools,
  type LambdaInvocationContext,
} from "../../shared/adapters/observability/powertools.js";
import { tableFromEnv } from "../../shared/composition.js";
import { loadEnv } from "../../shared/config.js";
import { type ReconcileOutcome, reconcileExecution } from "./reconcile.js";

/** Logger and metrics: once per cold start. */
const powertools = createPowertools("bga-reconciler");

let cached: ((event: unknown) => Promise<ReconcileOutcome>) | undefined;

/**
 * Lambda entry point for EventBridge "Step Functions Execution Status Change" events of the
 * task state machine (FAILED, TIMED_OUT, ABORTED). Configuration is read once per cold start.
 * A thrown error makes Lambda retry the event, then send it to the dead-letter queue.
 */
export async function handler(event: unknown, context?: LambdaInvocationContext): Promise<ReconcileOutcome> {
  return powertools.invocation(context, async () => {
    if (!cached) {
      const { tasks } = tableFromEnv(loadEnv());
      const log = powertools.log;
      cached = (e) => reconcileExecution({ repo: tasks, log }, e);
    }
    const outcome = await cached(event);
    if (outcome.action === "failed") powertools.sink.count("TasksFailedByReconciler");
    return outcome;
  });
}
