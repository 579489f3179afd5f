import type { TaskRepository } from "../ports.js";
import { tasksInStatus } from "../use-cases/sweep.js";
import type { DeliveryRef } from "./delivery-records.js";
import type { WebhookDeliveries } from "./webhook-deliveries.js";

/** How far back the sweep looks for finished tasks without a delivery. @default 2 hours */
export const DEFAULT_MISSED_WINDOW_MS = 2 * 3_600_000;

/**
 * The repair for a process that died between a task's end and its delivery record (or a lost
 * Step Functions status event in the cloud): every finished task of a tenant with a webhook,
 * created within `windowMs` and after the webhook was set, gets its delivery if it has none.
 * Newest first, so it reads only the tasks within the window.
 */
export async function sweepMissedTaskEnds(deps: {
  repo: TaskRepository;
  deliveries: WebhookDeliveries;
  tenantIds: () => Promise<string[]>;
  now?: () => Date;
  windowMs?: number;
}): Promise<DeliveryRef[]> {
  const now = (deps.now ?? (() => new Date()))().getTime();
  const created: DeliveryRef[] = [];
  for (const tenantId of await deps.tenantIds()) {
    const webhook = await deps.deliveries.hasWebhook(tenantId);
    if (!webhook) continue;
    const since = Math.max(Date.parse(webhook.createdAt), now - (deps.windowMs ?? DEFAULT_MISSED_WINDOW_MS));
    for (const status of ["completed", "failed", "stopped"] as const) {
      for await (const task of tasksInStatus(deps.repo, tenantId, status)) {
        if (Date.parse(task.created_at) < since) break;
        created.push(...(await deps.deliveries.recordMissing([task])));
      }
    }
  }
  return created;
}
