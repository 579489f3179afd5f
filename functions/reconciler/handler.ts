import * as z from "zod";
import { DynamoTenantStore } from "../../shared/adapters/dynamo/tenant-store.js";
import {
  createPowertools,
  type LambdaInvocationContext,
} from "../../shared/adapters/observability/powertools.js";
import { agentKind, storedAgentConfig } from "../../shared/agent-spec.js";
import { stepFunctionsExecutions, tableFromEnv } from "../../shared/composition.js";
import { ConfigError, loadEnv } from "../../shared/config.js";
import { type SweepOutcome, sweepStuckTasks } from "../../shared/use-cases/sweep.js";
import { type ReconcileOutcome, reconcileExecution } from "./reconcile.js";

/** Logger and metrics: once per cold start. */
const powertools = createPowertools("bga-reconciler");

/** What the sweep needs beyond shared/config.ts: set by infra/constructs/reconciler.ts. */
const CloudEnvSchema = z.object({ BGA_STATE_MACHINE_ARN: z.string().startsWith("arn:") });

/** The input the EventBridge Scheduler schedule sends (infra/constructs/reconciler.ts). */
export const SweepEventSchema = z.object({ action: z.literal("sweep") });

interface Reconciler {
  reconcile: (event: unknown) => Promise<ReconcileOutcome>;
  sweep: () => Promise<SweepOutcome>;
}

let cached: Reconciler | undefined;

function build(): Reconciler {
  const env = loadEnv();
  const parsed = CloudEnvSchema.safeParse(process.env);
  if (!parsed.success) throw new ConfigError(`invalid environment:\n${z.prettifyError(parsed.error)}`);
  const table = tableFromEnv(env);
  const log = powertools.log;
  const store = new DynamoTenantStore(table.doc, table.tableName);
  const executions = stepFunctionsExecutions({
    region: env.AWS_REGION,
    stateMachineArn: parsed.data.BGA_STATE_MACHINE_ARN,
  });
  return {
    reconcile: (event) => reconcileExecution({ repo: table.tasks, log }, event),
    sweep: () =>
      sweepStuckTasks({
        repo: table.tasks,
        executions,
        tenantIds: async () => (await store.list()).map((t) => t.id),
        // A harness agent's execution takes the harness branch (SPEC §9).
        agentKind: async (tenantId, agent) => {
          const record = await store.get(tenantId);
          const spec = record ? (await storedAgentConfig(record)).agents[agent] : undefined;
          return spec ? agentKind(spec) : "model";
        },
        log,
      }),
  };
}

/**
 * Lambda entry point for two events: EventBridge "Step Functions Execution Status Change" events
 * of the task state machine (FAILED, TIMED_OUT, ABORTED), and the scheduled sweep for tasks stuck
 * open. Configuration is read once per cold start. A thrown error makes Lambda retry the event,
 * then send it to the dead-letter queue.
 */
export async function handler(
  event: unknown,
  context?: LambdaInvocationContext,
): Promise<ReconcileOutcome | SweepOutcome> {
  return powertools.invocation(context, async () => {
    cached ??= build();
    if (SweepEventSchema.safeParse(event).success) {
      const outcome = await cached.sweep();
      powertools.sink.count("TasksStartedBySweep", outcome.started.length);
      powertools.sink.count("TasksFailedBySweep", outcome.failed.length);
      return outcome;
    }
    const outcome = await cached.reconcile(event);
    if (outcome.action === "failed") powertools.sink.count("TasksFailedByReconciler");
    return outcome;
  });
}
