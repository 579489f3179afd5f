import { type DynamoDBDocumentClient, QueryCommand as RawQueryCommand } from "@aws-sdk/lib-dynamodb";
import { DeleteItemCommand } from "dynamodb-toolbox/entity/actions/delete";
import { GetItemCommand } from "dynamodb-toolbox/entity/actions/get";
import { PutItemCommand } from "dynamodb-toolbox/entity/actions/put";
import { $append, $remove, UpdateItemCommand } from "dynamodb-toolbox/entity/actions/update";
import { QueryCommand } from "dynamodb-toolbox/table/actions/query";
import * as z from "zod";
import { INDEX_BY_STATUS, INDEX_BY_TENANT, keys } from "../../table-schema.js";
import {
  type DeliveryAttempt,
  type DeliveryRecord,
  type DeliveryRef,
  WEBHOOK_EVENT_TYPES,
  type WebhookRecord,
  type WebhookStore,
} from "../../webhooks/delivery-records.js";
import { isConditionalCheckFailed } from "./client.js";
import { createTableEntities, type TableEntities } from "./entities.js";

/** How long a delivery's record (with its attempts) is kept after it was created. */
export const DELIVERY_RETENTION_SECONDS = 30 * 86_400;

const DeliveryRecordSchema = z.object({
  tenant_id: z.string(),
  task_id: z.string(),
  webhook_id: z.string(),
  type: z.enum(WEBHOOK_EVENT_TYPES),
  state: z.enum(["pending", "delivered", "failed", "abandoned"]),
  created_at: z.string(),
  next_attempt_at: z.string().nullable(),
  attempts: z.array(
    z.object({
      at: z.string(),
      status_code: z.number().nullable(),
      error: z.string().nullable(),
      duration_ms: z.number(),
    }),
  ),
}) satisfies z.ZodType<DeliveryRecord>;

/** The due-index sort key: when it is due, then whose (tenant IDs and task IDs hold no `#`). */
const dueSk = (at: string, ref: DeliveryRef) => `${at}#${ref.tenantId}#${ref.taskId}`;

const DueEntrySchema = z.object({ gsi2sk: z.string() });

/** Tenants' webhooks and the deliveries of their tasks' ends, in the service's one table. */
export class DynamoWebhookStore implements WebhookStore {
  private readonly t: TableEntities;
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.t = createTableEntities(db, tableName);
  }

  async putWebhook(record: WebhookRecord): Promise<void> {
    await this.t.Webhook.build(PutItemCommand)
      .item({
        pk: keys.webhook(record.tenantId).pk,
        url: record.url,
        secret: record.secretBlob,
        created_at: record.createdAt,
      })
      .send();
  }

  async getWebhook(tenantId: string): Promise<WebhookRecord | null> {
    const { Item } = await this.t.Webhook.build(GetItemCommand)
      .key({ pk: keys.webhook(tenantId).pk })
      .options({ consistent: true })
      .send();
    return Item ? { tenantId, url: Item.url, secretBlob: Item.secret, createdAt: Item.created_at } : null;
  }

  async deleteWebhook(tenantId: string): Promise<boolean> {
    const { Attributes } = await this.t.Webhook.build(DeleteItemCommand)
      .key({ pk: keys.webhook(tenantId).pk })
      .options({ returnValues: "ALL_OLD" })
      .send();
    return Attributes !== undefined;
  }

  private deliveryPk(ref: DeliveryRef): string {
    return keys.webhookDelivery(ref.tenantId, ref.taskId).pk;
  }

  async createDelivery(record: DeliveryRecord): Promise<boolean> {
    const ref = { tenantId: record.tenant_id, taskId: record.task_id };
    const due = record.next_attempt_at ?? record.created_at;
    try {
      await this.t.WebhookDelivery.build(PutItemCommand)
        .item({
          ...record,
          pk: this.deliveryPk(ref),
          gsi1pk: keys.webhookDeliveriesOfTenant(record.tenant_id),
          gsi1sk: `${record.created_at}#${record.task_id}`,
          gsi2pk: keys.webhooksDuePk,
          gsi2sk: dueSk(due, ref),
          expires_at: Math.floor(Date.parse(record.created_at) / 1000) + DELIVERY_RETENTION_SECONDS,
        })
        .options({ condition: { attr: "webhook_id", exists: false } })
        .send();
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }

  async getDelivery(ref: DeliveryRef): Promise<DeliveryRecord | null> {
    const { Item } = await this.t.WebhookDelivery.build(GetItemCommand)
      .key({ pk: this.deliveryPk(ref) })
      .options({ consistent: true })
      .send();
    return Item ? DeliveryRecordSchema.parse(Item) : null;
  }

  async claim(ref: DeliveryRef, expectedNextAttemptAt: string, leaseUntil: string): Promise<boolean> {
    try {
      await this.t.WebhookDelivery.build(UpdateItemCommand)
        .item({
          pk: this.deliveryPk(ref),
          next_attempt_at: leaseUntil,
          gsi2sk: dueSk(leaseUntil, ref),
        })
        .options({
          condition: {
            and: [
              { attr: "state", eq: "pending" },
              { attr: "next_attempt_at", eq: expectedNextAttemptAt },
            ],
          },
        })
        .send();
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }

  async recordAttempt(
    ref: DeliveryRef,
    attempt: DeliveryAttempt,
    next: { state: "pending"; nextAttemptAt: string } | { state: "delivered" | "failed" | "abandoned" },
  ): Promise<void> {
    await this.t.WebhookDelivery.build(UpdateItemCommand)
      .item({
        pk: this.deliveryPk(ref),
        attempts: $append([attempt]),
        state: next.state,
        ...(next.state === "pending"
          ? { next_attempt_at: next.nextAttemptAt, gsi2sk: dueSk(next.nextAttemptAt, ref) }
          : // Done: out of the due index.
            { next_attempt_at: null, gsi2pk: $remove(), gsi2sk: $remove() }),
      })
      .options({ condition: { attr: "state", eq: "pending" } })
      .send();
  }

  async due(now: Date, limit: number): Promise<DeliveryRef[]> {
    // The index holds the keys alone: the due time, tenant and task are in its sort key.
    const { Items = [] } = await this.db.send(
      new RawQueryCommand({
        TableName: this.tableName,
        IndexName: INDEX_BY_STATUS,
        KeyConditionExpression: "gsi2pk = :pk AND gsi2sk <= :until",
        ExpressionAttributeValues: { ":pk": keys.webhooksDuePk, ":until": `${now.toISOString()}#~` },
        ProjectionExpression: "gsi2sk",
        Limit: limit,
      }),
    );
    const refs: DeliveryRef[] = [];
    for (const item of Items) {
      const parts = DueEntrySchema.parse(item).gsi2sk.split("#");
      const [tenantId, taskId] = parts.slice(-2);
      if (tenantId && taskId) refs.push({ tenantId, taskId });
    }
    return refs;
  }

  async listDeliveries(tenantId: string, limit: number): Promise<DeliveryRecord[]> {
    const { Items = [] } = await this.t.table
      .build(QueryCommand)
      .query({ index: INDEX_BY_TENANT, partition: keys.webhookDeliveriesOfTenant(tenantId) })
      .options({ reverse: true, limit, attributes: ["pk"] })
      .send();
    const refs = Items.map((item) => z.object({ pk: z.string() }).parse(item).pk);
    const prefix = keys.task(tenantId, "").pk;
    const records = await Promise.all(
      refs
        .filter((pk) => pk.startsWith(prefix))
        .map((pk) => this.getDelivery({ tenantId, taskId: pk.slice(prefix.length) })),
    );
    return records.filter((r): r is DeliveryRecord => r !== null);
  }
}
