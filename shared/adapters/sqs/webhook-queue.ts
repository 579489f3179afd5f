import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import * as z from "zod";
import type { DeliveryQueue, DeliveryRef } from "../../webhooks/delivery-records.js";

/** The longest delay SQS gives one message (15 minutes). */
export const MAX_SQS_DELAY_MS = 900_000;

/** The body of a delivery queue message: which task end to deliver. */
export const DeliveryMessageSchema = z.object({
  tenant_id: z.string().min(1),
  task_id: z.string().min(1),
});

/**
 * The one SQS client of a process. The endpoint is the region's (or AWS_ENDPOINT_URL_SQS), not the
 * queue URL's host: in AWS they are the same, and a stand-in endpoint then serves every call.
 */
export function createSqsClient(options: { region: string }): SQSClient {
  return new SQSClient({ region: options.region, useQueueUrlAsEndpoint: false });
}

/**
 * The cloud's delivery queue: an attempt is an SQS message, delayed by the retry's wait when it
 * is at most 15 minutes. A longer wait sends nothing: the reconciler's sweep finds the delivery
 * due in the table and sends its message then.
 */
export class SqsDeliveryQueue implements DeliveryQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async schedule(ref: DeliveryRef, delayMs: number): Promise<void> {
    if (delayMs > MAX_SQS_DELAY_MS) return;
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify({ tenant_id: ref.tenantId, task_id: ref.taskId }),
        DelaySeconds: Math.max(0, Math.ceil(delayMs / 1000)),
      }),
    );
  }
}
