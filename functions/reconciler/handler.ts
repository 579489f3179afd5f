import * as z from "zod";
import { DynamoTenantStore } from "../../shared/adapters/dynamo/tenant-store.js";
import { DynamoWebhookStore } from "../../shared/adapters/dynamo/webhook-store.js";
import {
  createPowertools,
  type LambdaInvocationContext,
} from "../../shared/adapters/observability/powertools.js";
import { createSqsClient, SqsDeliveryQueue } from "../../shared/adapters/sqs/webhook-queue.js";
import { agentKind, storedAgentConfig } from "../../shared/agent-spec.js";
import { stepFunctionsExecutions, tableFromEnv } from "../../shared/composition.js";
import { ConfigError, loadEnv } from "../../shared/config.js";
import { type SweepOutcome, sweepStuckTasks } from "../../shared/use-cases/sweep.js";
import { WebhookDeliveries } from "../../shared/webhooks/webhook-deliveries.js";
import { ExecutionStatusChangeEventSchema, type ReconcileOutcome, reconcileExecution } from "./reconcile.js";
import { queueTaskEnd, sweepWebhooks } from "./webhooks.js";

/** Logger and metrics: once per cold start. */
const powertools = createPowertools("bga-reconciler");

/** What the sweep needs beyond shared/config.ts: set by infra/constructs/reconciler.ts. */
const CloudEnvSchema = z.object({
  BGA_STATE_MACHINE_ARN: z.string().startsWith("arn:"),
  /** The completion webhooks' delivery queue (infra/constructs/webhook-delivery.ts). */
  BGA_WEBHOOK_QUEUE_URL: z.url(),
});

/** The input the EventBridge Scheduler schedule sends (infra/constructs/reconciler.ts). */
export const SweepEventSchema = z.object({ action: z.literal("sweep") });

interface Reconciler {
  reconcile: (event: unknown) => Promise<ReconcileOutcome>;
  sweep: () => Promise<SweepOutcome>;
  /** A task's execution ended: its webhook delivery goes on the queue (when the tenant has one). */
  queueTaskEnd: (event: unknown) => Promise<unknown>;
  sweepWebhooks: () => Promise<{ recorded: number; queued: number }>;
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
  const tenantIds = async () => (await store.list()).map((t) => t.id);
  const webhooks = new DynamoWebhookStore(table.doc, table.tableName);
  const queue = new SqsDeliveryQueue(
    createSqsClient({ region: env.AWS_REGION }),
    parsed.data.BGA_WEBHOOK_QUEUE_URL,
  );
  // Records deliveries (the sweep's repair) but sends none: the queue's consumer does, with the keys.
  const deliveries = new WebhookDeliveries(webhooks, table.tasks, undefined, log);
  return {
    reconcile: (event) => reconcileExecution({ repo: table.tasks, log }, event),
    sweep: () =>
      sweepStuckTasks({
        repo: table.tasks,
        executions,
        tenantIds,
        // A harness agent's execution takes the harness branch (SPEC §9).
        agentKind: async (tenantId, agent) => {
          const record = await store.get(tenantId);
          const spec = record ? (await storedAgentConfig(record)).agents[agent] : undefined;
          return spec ? agentKind(spec) : "model";
        },
        log,
      }),
    queueTaskEnd: (event) =>
      queueTaskEnd({ webhooks, queue }, ExecutionStatusChangeEventSchema.parse(event).detail),
    sweepWebhooks: () => sweepWebhooks({ repo: table.tasks, deliveries, store: webhooks, queue, tenantIds }),
  };
}

/**
 * Lambda entry point for two events: EventBridge "Step Functions Execution Status Change" events
 * of the task state machine (FAILED, TIMED_OUT, ABORTED end a task left open; these and SUCCEEDED
 * put an ended task on the webhook delivery queue when its tenant has a webhook), and the scheduled
 * sweep for tasks stuck open (and for webhook deliveries due or missed). Configuration is read
 * once per cold start. A thrown error makes Lambda retry the event, then send it to the
 * dead-letter queue.
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
      // Tasks the sweep just failed have ended: the webhook half runs after it.
      const webhooks = await cached.sweepWebhooks();
      powertools.sink.count("WebhookDeliveriesQueuedBySweep", webhooks.queued);
      return outcome;
    }
    const outcome = await cached.reconcile(event);
    if (outcome.action === "failed") powertools.sink.count("TasksFailedByReconciler");
    // Every execution end (SUCCEEDED too: the runner finished the task) may owe a webhook.
    await cached.queueTaskEnd(event);
    return outcome;
  });
}
