import type { TaskStatus } from "../domain/task.js";

/** The event types of a task's end (SPEC §11). */
export const WEBHOOK_EVENT_TYPES = ["task.completed", "task.failed", "task.stopped"] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function eventTypeOf(status: TaskStatus): WebhookEventType | null {
  switch (status) {
    case "completed":
      return "task.completed";
    case "failed":
      return "task.failed";
    case "stopped":
      return "task.stopped";
    default:
      return null;
  }
}

/** A tenant's webhook as stored: the signing secret only encrypted (see webhookSecretContext). */
export interface WebhookRecord {
  tenantId: string;
  url: string;
  secretBlob: Uint8Array;
  createdAt: string;
}

/** The encryption context of a tenant's webhook secret (ServiceKeys.encrypt/decrypt). */
export function webhookSecretContext(tenantId: string): string {
  return `webhook:${tenantId}`;
}

/** One try at a delivery: when, how it ended (an HTTP status, or an error), how long it took. */
export interface DeliveryAttempt {
  at: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

/**
 * `pending`: not yet answered with a 2xx (due at `next_attempt_at`); `delivered`: a 2xx came;
 * `failed`: the retry schedule ran out; `abandoned`: the tenant's webhook was removed first.
 */
export type DeliveryState = "pending" | "delivered" | "failed" | "abandoned";

/** The delivery of one task end: one `webhook-id` for every attempt. */
export interface DeliveryRecord {
  tenant_id: string;
  task_id: string;
  webhook_id: string;
  type: WebhookEventType;
  state: DeliveryState;
  created_at: string;
  next_attempt_at: string | null;
  attempts: DeliveryAttempt[];
}

export interface DeliveryRef {
  tenantId: string;
  taskId: string;
}

/** Where webhooks and their deliveries are kept (shared/adapters/dynamo/webhook-store.ts). */
export interface WebhookStore {
  putWebhook(record: WebhookRecord): Promise<void>;
  getWebhook(tenantId: string): Promise<WebhookRecord | null>;
  /** False when the tenant had none. */
  deleteWebhook(tenantId: string): Promise<boolean>;
  /** Writes a new pending delivery due now; false when the task end already has one. */
  createDelivery(record: DeliveryRecord): Promise<boolean>;
  getDelivery(ref: DeliveryRef): Promise<DeliveryRecord | null>;
  /**
   * Takes a due delivery for one attempt: moves `next_attempt_at` to `leaseUntil` if it still is
   * `expectedNextAttemptAt` (another worker that took it first makes this false). A worker that
   * dies mid-attempt leaves the delivery due again at `leaseUntil`.
   */
  claim(ref: DeliveryRef, expectedNextAttemptAt: string, leaseUntil: string): Promise<boolean>;
  /** Records an attempt and the delivery's new state (pending with its next time, or done). */
  recordAttempt(
    ref: DeliveryRef,
    attempt: DeliveryAttempt,
    next: { state: "pending"; nextAttemptAt: string } | { state: "delivered" | "failed" | "abandoned" },
  ): Promise<void>;
  /** Pending deliveries due at `now` or before, oldest first. */
  due(now: Date, limit: number): Promise<DeliveryRef[]>;
  /** A tenant's deliveries, newest first. */
  listDeliveries(tenantId: string, limit: number): Promise<DeliveryRecord[]>;
}

/** Starts an attempt after a delay: a timer in `npm start`, an SQS message (≤ 15 min) in the cloud. */
export interface DeliveryQueue {
  schedule(ref: DeliveryRef, delayMs: number): Promise<void>;
}
