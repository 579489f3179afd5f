import * as z from "zod";
import { DeliveryMessageSchema } from "../../shared/adapters/sqs/webhook-queue.js";
import type { Logger, TaskRepository } from "../../shared/ports.js";
import type { DeliveryQueue, DeliveryRef, WebhookStore } from "../../shared/webhooks/delivery-records.js";
import { sweepMissedTaskEnds } from "../../shared/webhooks/missed-task-ends.js";
import type { WebhookDeliveries } from "../../shared/webhooks/webhook-deliveries.js";
import type { ExecutionStatusChangeEvent } from "./reconcile.js";

/** Execution statuses after which the task has ended, whoever ended it: its webhook is due. */
export const EXECUTION_END_STATUSES = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] as const;

/**
 * The reconciler's part in completion push (SPEC §11): a task's execution ended (its runner
 * finished it, a stop aborted it, it failed or timed out), so if the tenant has a webhook, the
 * task's end goes on the delivery queue. The sender records the delivery (idempotent) and sends it.
 */
export async function queueTaskEnd(
  deps: { webhooks: Pick<WebhookStore, "getWebhook">; queue: DeliveryQueue },
  detail: ExecutionStatusChangeEvent["detail"],
): Promise<DeliveryRef | null> {
  if (!(EXECUTION_END_STATUSES as readonly string[]).includes(detail.status) || !detail.input) return null;
  const ref = { tenantId: detail.input.tenant_id, taskId: detail.input.task_id };
  if (!(await deps.webhooks.getWebhook(ref.tenantId))) return null;
  await deps.queue.schedule(ref, 0);
  return ref;
}

/**
 * The sweep's webhook half, on the reconciler's schedule: task ends whose delivery was never
 * recorded (a lost status event, a process that died) are recorded, and every delivery due now
 * (a retry longer than SQS's 15-minute delay, an attempt whose worker died) goes on the queue.
 */
export async function sweepWebhooks(deps: {
  repo: TaskRepository;
  deliveries: WebhookDeliveries;
  store: Pick<WebhookStore, "due">;
  queue: DeliveryQueue;
  tenantIds: () => Promise<string[]>;
  now?: () => Date;
}): Promise<{ recorded: number; queued: number }> {
  const recorded = await sweepMissedTaskEnds(deps);
  const due = await deps.store.due((deps.now ?? (() => new Date()))(), 500);
  const refs = new Map([...recorded, ...due].map((r) => [`${r.tenantId}#${r.taskId}`, r]));
  for (const ref of refs.values()) await deps.queue.schedule(ref, 0);
  return { recorded: recorded.length, queued: refs.size };
}

/** The SQS event the delivery queue sends its consumer: the fields read. */
export const DeliveryQueueEventSchema = z.object({
  Records: z.array(z.object({ messageId: z.string(), body: z.string() })),
});

/**
 * The delivery queue's consumer: each message is one task end to deliver. It records the
 * delivery if no one has (idempotent), makes the attempt if it is due, and queues the retry
 * (SQS delays up to 15 minutes; a longer wait is left to the sweep). A message that fails for a
 * reason of ours (the table unreachable, a malformed body) is reported back to SQS, which tries
 * it again and at last moves it to the dead-letter queue (an alarm watches it).
 */
export async function deliverQueued(
  deps: { deliveries: WebhookDeliveries; queue: DeliveryQueue; log: Logger },
  rawEvent: unknown,
): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> {
  const event = DeliveryQueueEventSchema.parse(rawEvent);
  const batchItemFailures: { itemIdentifier: string }[] = [];
  for (const record of event.Records) {
    try {
      const body = DeliveryMessageSchema.parse(JSON.parse(record.body));
      const ref = { tenantId: body.tenant_id, taskId: body.task_id };
      await deps.deliveries.taskEnded(ref);
      const outcome = await deps.deliveries.attempt(ref);
      if (outcome.kind === "retry") await deps.queue.schedule(ref, outcome.delayMs);
    } catch (err) {
      deps.log.error("webhook delivery message failed", { message_id: record.messageId, error: String(err) });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
