import { isFinished, type TaskRecord, toPublicTask } from "../domain/task.js";
import type { Logger, MetricsSink, TaskRepository } from "../ports.js";
import { guardedFetch, redactUrl } from "../security/network-guard.js";
import type { ServiceKeys } from "../security/service-secret.js";
import {
  type DeliveryAttempt,
  type DeliveryQueue,
  type DeliveryRecord,
  type DeliveryRef,
  eventTypeOf,
  type WebhookStore,
  webhookSecretContext,
} from "./delivery-records.js";
import { signWebhook } from "./signing.js";

/**
 * The waits before each retry of a delivery that did not get a 2xx, after the first attempt: the
 * schedule the Standard Webhooks specification gives as an example (5 s, 5 min, 30 min, 2 h, 5 h,
 * 10 h, 10 h), 8 attempts over 27.6 hours (SPEC §11: at least 24 h, the first retry within 10 s).
 */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
];

/** How long one POST may take (connect to the last byte of the answer's head). */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;

/** The most of an error text an attempt keeps. */
const MAX_ATTEMPT_ERROR = 300;

export interface WebhookDeliveriesOptions {
  /** Waits before each retry. @default DEFAULT_RETRY_SCHEDULE_MS */
  readonly retryScheduleMs?: readonly number[];
  /** @default DEFAULT_DELIVERY_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** Whether a webhook may be on a loopback/private address (BGA_ALLOW_PRIVATE_NETWORK). @default false */
  readonly allowPrivateNetwork?: boolean;
  readonly now?: () => Date;
  readonly metrics?: MetricsSink;
}

/** What one attempt led to. */
export type AttemptOutcome =
  | { readonly kind: "delivered" | "gave_up" | "abandoned" | "not_due" | "missing" }
  | { readonly kind: "retry"; readonly delayMs: number };

/**
 * Completion push (SPEC §11): when a task ends, one delivery (one `webhook-id`) of
 * `{type, data: task}` to the tenant's webhook, signed per Standard Webhooks, tried until a 2xx
 * or the retry schedule runs out, every attempt recorded. The delivery's record, not a process,
 * carries it: whoever finds it due (a timer in `npm start`, the SQS consumer or the sweep in the
 * cloud) makes the next attempt.
 */
export class WebhookDeliveries {
  private readonly schedule: readonly number[];
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;
  private readonly now: () => Date;

  constructor(
    private readonly store: WebhookStore,
    private readonly tasks: Pick<TaskRepository, "get">,
    /** Decrypts webhook secrets; absent where deliveries are only recorded (the reconciler). */
    private readonly keys: Pick<ServiceKeys, "decrypt"> | undefined,
    private readonly log: Logger,
    private readonly options: WebhookDeliveriesOptions = {},
  ) {
    this.schedule = options.retryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
    this.now = options.now ?? (() => new Date());
    // Redirects are not followed: a receiver answers where it was registered.
    this.fetch = guardedFetch({ redirect: "manual", allowPrivate: options.allowPrivateNetwork ?? false });
  }

  /**
   * Records the delivery of a task's end, when its tenant has a webhook: due at once. Idempotent
   * (a second call for the same end finds the record and writes nothing). Null when there is
   * nothing to deliver (no webhook, the task is not finished or is gone).
   */
  async taskEnded(ref: DeliveryRef, task?: TaskRecord): Promise<DeliveryRecord | null> {
    const webhook = await this.store.getWebhook(ref.tenantId);
    if (!webhook) return null;
    const record = task ?? (await this.tasks.get(ref.tenantId, ref.taskId, true));
    if (!record || !isFinished(record.status)) return null;
    const type = eventTypeOf(record.status);
    if (!type) return null;
    const at = this.now().toISOString();
    const delivery: DeliveryRecord = {
      tenant_id: ref.tenantId,
      task_id: ref.taskId,
      // One ID for this task end, whoever records it first: the receiver's idempotency key.
      webhook_id: `msg_${ref.taskId}`,
      type,
      state: "pending",
      created_at: at,
      next_attempt_at: at,
      attempts: [],
    };
    const created = await this.store.createDelivery(delivery);
    if (created) this.options.metrics?.count("WebhookDeliveriesCreated");
    return created ? delivery : await this.store.getDelivery(ref);
  }

  /** The wait after `failures` failed attempts, or null when the schedule has run out. */
  retryDelay(failures: number): number | null {
    return this.schedule[failures - 1] ?? null;
  }

  /**
   * Makes the next attempt of a delivery if it is due: takes it (so no other worker sends it at
   * the same time), POSTs the signed event, records the attempt and the next time.
   */
  async attempt(ref: DeliveryRef): Promise<AttemptOutcome> {
    const keys = this.keys;
    if (!keys) throw new Error("this process records webhook deliveries but does not send them");
    const delivery = await this.store.getDelivery(ref);
    if (!delivery) return { kind: "missing" };
    if (delivery.state !== "pending" || delivery.next_attempt_at === null) return { kind: "not_due" };
    const now = this.now();
    const dueIn = Date.parse(delivery.next_attempt_at) - now.getTime();
    if (dueIn > 0) return { kind: "not_due" };
    // The lease: if this worker dies mid-attempt, the delivery is due again when it runs out.
    const lease = new Date(now.getTime() + this.timeoutMs + 5_000).toISOString();
    if (!(await this.store.claim(ref, delivery.next_attempt_at, lease))) return { kind: "not_due" };

    const webhook = await this.store.getWebhook(ref.tenantId);
    const task = await this.tasks.get(ref.tenantId, ref.taskId, true);
    if (!webhook || !task) {
      const attempt = this.attemptRecord(now, null, webhook ? "the task is gone" : "the webhook was removed");
      await this.store.recordAttempt(ref, attempt, { state: "abandoned" });
      return { kind: "abandoned" };
    }
    const body = JSON.stringify({ type: delivery.type, data: toPublicTask(task) });
    let secret: string | null = null;
    try {
      secret = keys.decrypt(webhook.secretBlob, webhookSecretContext(ref.tenantId));
    } catch {
      // Another service secret wrote it: recorded as a failed attempt, retried on schedule (an
      // operator may restore the secret), never sent unsigned.
    }
    const { statusCode, error } = secret
      ? await this.post(webhook.url, secret, delivery.webhook_id, body)
      : { statusCode: null, error: "the signing secret cannot be decrypted with this service secret" };
    const attempt = this.attemptRecord(now, statusCode, error);
    const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
    const failures = delivery.attempts.length + 1;
    this.options.metrics?.count(ok ? "WebhookDeliveriesSucceeded" : "WebhookAttemptsFailed");
    if (ok) {
      await this.store.recordAttempt(ref, attempt, { state: "delivered" });
      return { kind: "delivered" };
    }
    const delayMs = this.retryDelay(failures);
    const fields = {
      tenant_id: ref.tenantId,
      task_id: ref.taskId,
      webhook_id: delivery.webhook_id,
      url: redactUrl(webhook.url),
      status_code: statusCode,
      error,
      attempt: failures,
    };
    if (delayMs === null) {
      await this.store.recordAttempt(ref, attempt, { state: "failed" });
      this.options.metrics?.count("WebhookDeliveriesGivenUp");
      this.log.warn("webhook delivery given up: its retries ran out", fields);
      return { kind: "gave_up" };
    }
    const nextAttemptAt = new Date(this.now().getTime() + delayMs).toISOString();
    await this.store.recordAttempt(ref, attempt, { state: "pending", nextAttemptAt });
    this.log.info("webhook delivery failed; retrying", { ...fields, next_attempt_at: nextAttemptAt });
    return { kind: "retry", delayMs };
  }

  private attemptRecord(start: Date, statusCode: number | null, error: string | null): DeliveryAttempt {
    return {
      at: start.toISOString(),
      status_code: statusCode,
      error: error === null ? null : error.slice(0, MAX_ATTEMPT_ERROR),
      duration_ms: Math.max(0, this.now().getTime() - start.getTime()),
    };
  }

  private async post(
    url: string,
    secret: string,
    webhookId: string,
    body: string,
  ): Promise<{ statusCode: number | null; error: string | null }> {
    const headers = signWebhook(secret, webhookId, this.now(), body);
    try {
      const res = await this.fetch(url, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json", "user-agent": "bga-webhooks/1" },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // The answer's body is not read: only its status counts.
      await res.body?.cancel().catch(() => {});
      return { statusCode: res.status, error: res.status >= 300 ? `HTTP ${res.status}` : null };
    } catch (err) {
      return { statusCode: null, error: describeFetchError(err) };
    }
  }

  /**
   * Attempts every delivery due now (at most `limit`), one after another; each that must be
   * retried is handed to `queue` when given. The catch-up after a restart and the scheduled sweep.
   */
  async deliverDue(options: { limit?: number; queue?: DeliveryQueue } = {}): Promise<number> {
    const refs = await this.store.due(this.now(), options.limit ?? 100);
    let attempted = 0;
    for (const ref of refs) {
      const outcome = await this.attempt(ref).catch((err: unknown) => {
        this.log.warn("webhook attempt failed", { ...refOf(ref), error: String(err) });
        return { kind: "missing" } as const;
      });
      if (outcome.kind !== "not_due" && outcome.kind !== "missing") attempted += 1;
      if (outcome.kind === "retry") await options.queue?.schedule(ref, outcome.delayMs);
    }
    return attempted;
  }

  /**
   * Repairs missed task ends: each given finished task of a tenant with a webhook that has no
   * delivery gets one (a process that died between a task's end and its delivery record).
   */
  async recordMissing(tasks: readonly TaskRecord[]): Promise<DeliveryRef[]> {
    const created: DeliveryRef[] = [];
    for (const task of tasks) {
      const ref = { tenantId: task.tenant_id, taskId: task.id };
      if (!isFinished(task.status) || (await this.store.getDelivery(ref))) continue;
      const delivery = await this.taskEnded(ref, task);
      if (delivery) created.push(ref);
    }
    return created;
  }

  /** Whether the tenant has a webhook (the sweep looks only at those tenants' tasks). */
  async hasWebhook(tenantId: string): Promise<{ createdAt: string } | null> {
    const webhook = await this.store.getWebhook(tenantId);
    return webhook ? { createdAt: webhook.createdAt } : null;
  }
}

function refOf(ref: DeliveryRef) {
  return { tenant_id: ref.tenantId, task_id: ref.taskId };
}

/** An attempt's error as recorded: the cause's code or message, never the URL's query. */
function describeFetchError(err: unknown): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return "timed out";
  }
  if (err instanceof Error) {
    const cause = err.cause;
    if (cause instanceof Error) {
      const code = (cause as NodeJS.ErrnoException).code;
      return code ? `${code}: ${cause.message}` : cause.message;
    }
    return err.message;
  }
  return String(err);
}
