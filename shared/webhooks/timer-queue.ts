import type { Logger } from "../ports.js";
import type { DeliveryQueue, DeliveryRef } from "./delivery-records.js";
import type { WebhookDeliveries } from "./webhook-deliveries.js";

/**
 * The delivery queue of `npm start`: a timer per scheduled attempt, and a poll of the due
 * deliveries in the table (so deliveries due while the process was down, or whose timer a restart
 * lost, are sent). The timers only make an attempt sooner: the table is what is durable.
 */
export class TimerDeliveryQueue implements DeliveryQueue {
  private readonly timers = new Set<NodeJS.Timeout>();
  private poller: NodeJS.Timeout | undefined;
  private polling: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly deliveries: WebhookDeliveries,
    private readonly log: Logger,
  ) {}

  async schedule(ref: DeliveryRef, delayMs: number): Promise<void> {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.run(ref);
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** One attempt now, and the next one scheduled when it must be retried. */
  async run(ref: DeliveryRef): Promise<void> {
    try {
      const outcome = await this.deliveries.attempt(ref);
      if (outcome.kind === "retry") await this.schedule(ref, outcome.delayMs);
    } catch (err) {
      this.log.warn("webhook attempt failed", {
        tenant_id: ref.tenantId,
        task_id: ref.taskId,
        error: String(err),
      });
    }
  }

  /** Sends what is due now, then every `intervalMs` (0: never again) until close(). */
  start(intervalMs: number): void {
    let busy = false;
    const poll = () => {
      // One poll at a time: a slow receiver holds its poll up to its time-out.
      if (busy) return;
      busy = true;
      this.polling = this.deliveries
        .deliverDue({ queue: this })
        .catch((err: unknown) => this.log.warn("webhook poll failed", { error: String(err) }))
        .finally(() => {
          busy = false;
        });
    };
    poll();
    clearInterval(this.poller);
    if (intervalMs <= 0) return;
    this.poller = setInterval(poll, intervalMs);
    this.poller.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.poller);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.polling;
  }
}
