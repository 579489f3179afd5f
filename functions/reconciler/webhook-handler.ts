import * as z from "zod";
import { DynamoWebhookStore } from "../../shared/adapters/dynamo/webhook-store.js";
import {
  createPowertools,
  type LambdaInvocationContext,
} from "../../shared/adapters/observability/powertools.js";
import { createSqsClient, SqsDeliveryQueue } from "../../shared/adapters/sqs/webhook-queue.js";
import { lambdaSecrets, serviceKeysFromSecret, tableFromEnv } from "../../shared/composition.js";
import { ConfigError, loadEnv } from "../../shared/config.js";
import { WebhookDeliveries } from "../../shared/webhooks/webhook-deliveries.js";
import { deliverQueued } from "./webhooks.js";

/** Logger and metrics: once per cold start. */
const powertools = createPowertools("bga-webhooks");

/** What the sender needs beyond shared/config.ts: set by infra/constructs/webhook-delivery.ts. */
const CloudEnvSchema = z.object({
  BGA_WEBHOOK_QUEUE_URL: z.url(),
  /** Decrypts the tenants' webhook signing secrets. */
  BGA_SERVICE_SECRET_ARN: z.string().startsWith("arn:"),
});

type Sender = Parameters<typeof deliverQueued>[0];
let cached: Promise<Sender> | undefined;

async function build(): Promise<Sender> {
  const env = loadEnv();
  const parsed = CloudEnvSchema.safeParse(process.env);
  if (!parsed.success) throw new ConfigError(`invalid environment:\n${z.prettifyError(parsed.error)}`);
  const table = tableFromEnv(env);
  const serviceSecret = await lambdaSecrets().getSecretString(parsed.data.BGA_SERVICE_SECRET_ARN);
  const store = new DynamoWebhookStore(table.doc, table.tableName);
  const deliveries = new WebhookDeliveries(
    store,
    table.tasks,
    serviceKeysFromSecret(serviceSecret),
    powertools.log,
    {
      // The cloud's rule (SPEC §6): the guarded fetch refuses loopback, private and link-local peers.
      allowPrivateNetwork: env.BGA_ALLOW_PRIVATE_NETWORK ?? false,
      metrics: powertools.sink,
    },
  );
  const queue = new SqsDeliveryQueue(
    createSqsClient({ region: env.AWS_REGION }),
    parsed.data.BGA_WEBHOOK_QUEUE_URL,
  );
  return { deliveries, queue, log: powertools.log };
}

/**
 * Lambda entry point of the webhook delivery queue (SQS, partial batch responses): each message
 * is one task end to deliver (functions/reconciler/webhooks.ts). Configuration and the service
 * secret are read once per cold start.
 */
export async function handler(event: unknown, context?: LambdaInvocationContext) {
  return powertools.invocation(context, async () => {
    cached ??= build().catch((err: unknown) => {
      cached = undefined;
      throw err;
    });
    return deliverQueued(await cached, event);
  });
}
