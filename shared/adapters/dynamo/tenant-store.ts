import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { KeyNotFoundError, TenantExistsError, TenantNotFoundError } from "../../domain/errors.js";
import type { ApiKeyRecord, TenantRecord, TenantStore } from "../../ports.js";
import { type Limits, LimitsSchema } from "../../tenants.js";
import { conditionFailedAt, isConditionalCheckFailed } from "./client.js";

export type { ApiKeyRecord, TenantRecord };

/** What is stored for a tenant (its secrets live in their own, encrypted item). */
export const TenantRecordSchema = z.object({
  id: z.string(),
  /** The agent config as the admin gave it (YAML). */
  config: z.string(),
  /** The same config parsed, as JSON (agent-spec.ts): what the API and runner read. Absent on tenants stored before it existed. */
  config_json: z.string().optional(),
  limits: LimitsSchema,
  created_at: z.string(),
  updated_at: z.string(),
}) satisfies z.ZodType<TenantRecord>;

export const ApiKeyRecordSchema = z.object({
  key_id: z.string(),
  tenant_id: z.string(),
  key_hash: z.string(),
  callers: z.array(z.string()).nullable(),
  created_at: z.string(),
}) satisfies z.ZodType<ApiKeyRecord>;

const tenantKeys = {
  profile: (id: string) => ({ pk: "TENANTS", sk: `TENANT#${id}` }),
  secrets: (id: string) => ({ pk: `TENANT#${id}`, sk: "SECRETS" }),
  keyByHash: (hash: string) => ({ pk: `APIKEY#${hash}`, sk: "APIKEY" }),
  keyOfTenant: (id: string, keyId: string) => ({ pk: `TENANT#${id}`, sk: `KEY#${keyId}` }),
};

const SecretsItemSchema = z.object({ blob: z.instanceof(Uint8Array), names: z.array(z.string()) });

/** Tenants, their keys and their encrypted secrets, in the service's one table. */
export class DynamoTenantStore implements TenantStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(input: {
    id: string;
    config: string;
    configJson: string;
    limits: Limits;
    key: ApiKeyRecord;
  }): Promise<TenantRecord> {
    const at = this.now().toISOString();
    const record: TenantRecord = {
      id: input.id,
      config: input.config,
      config_json: input.configJson,
      limits: input.limits,
      created_at: at,
      updated_at: at,
    };
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: { ...tenantKeys.profile(input.id), ...record },
                ConditionExpression: "attribute_not_exists(pk)",
              },
            },
            ...this.keyPuts(input.key),
          ],
        }),
      );
    } catch (err) {
      if (conditionFailedAt(err, 0)) throw new TenantExistsError(input.id);
      throw err;
    }
    return record;
  }

  /** Creates the tenant, or replaces its config (used for the local default tenant at each start). */
  async upsert(id: string, config: string, configJson: string): Promise<TenantRecord> {
    const at = this.now().toISOString();
    const res = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: tenantKeys.profile(id),
        UpdateExpression:
          "SET id = :id, config = :config, config_json = :json, updated_at = :at, created_at = if_not_exists(created_at, :at), limits = if_not_exists(limits, :limits)",
        ExpressionAttributeValues: {
          ":id": id,
          ":config": config,
          ":json": configJson,
          ":at": at,
          ":limits": LimitsSchema.parse({}),
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    return TenantRecordSchema.parse(res.Attributes);
  }

  async get(id: string): Promise<TenantRecord | null> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: tenantKeys.profile(id),
        ConsistentRead: true,
      }),
    );
    return res.Item ? TenantRecordSchema.parse(res.Item) : null;
  }

  async list(): Promise<TenantRecord[]> {
    const out: TenantRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": "TENANTS", ":prefix": "TENANT#" },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of res.Items ?? []) out.push(TenantRecordSchema.parse(item));
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }

  private async updateProfile(
    id: string,
    set: string,
    values: Record<string, unknown>,
  ): Promise<TenantRecord> {
    try {
      const res = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: tenantKeys.profile(id),
          UpdateExpression: `SET ${set}, updated_at = :at`,
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ...values, ":at": this.now().toISOString() },
          ReturnValues: "ALL_NEW",
        }),
      );
      return TenantRecordSchema.parse(res.Attributes);
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new TenantNotFoundError(id);
      throw err;
    }
  }

  setConfig(id: string, config: string, configJson: string): Promise<TenantRecord> {
    return this.updateProfile(id, "config = :config, config_json = :json", {
      ":config": config,
      ":json": configJson,
    });
  }

  setLimits(id: string, limits: Limits): Promise<TenantRecord> {
    return this.updateProfile(id, "limits = :limits", { ":limits": limits });
  }

  /** Replaces the tenant's secrets with an encrypted blob; only the names are readable. */
  async putSecrets(id: string, blob: Buffer, names: string[]): Promise<void> {
    if (!(await this.get(id))) throw new TenantNotFoundError(id);
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...tenantKeys.secrets(id), blob, names, updated_at: this.now().toISOString() },
      }),
    );
  }

  async getSecrets(id: string): Promise<{ blob: Uint8Array; names: string[] } | null> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: tenantKeys.secrets(id),
        ConsistentRead: true,
      }),
    );
    return res.Item ? SecretsItemSchema.parse(res.Item) : null;
  }

  private keyPuts(key: ApiKeyRecord) {
    return [
      {
        Put: {
          TableName: this.tableName,
          Item: { ...tenantKeys.keyByHash(key.key_hash), ...key },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      },
      {
        Put: {
          TableName: this.tableName,
          Item: { ...tenantKeys.keyOfTenant(key.tenant_id, key.key_id), ...key },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      },
    ];
  }

  async addKey(key: ApiKeyRecord): Promise<void> {
    if (!(await this.get(key.tenant_id))) throw new TenantNotFoundError(key.tenant_id);
    await this.db.send(new TransactWriteCommand({ TransactItems: this.keyPuts(key) }));
  }

  /** Registers a key unless that exact key is already registered (the local default key at start). */
  async ensureKey(key: ApiKeyRecord): Promise<void> {
    const existing = await this.findKeyByHash(key.key_hash);
    if (existing?.tenant_id === key.tenant_id) return;
    await this.addKey(key);
  }

  async listKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    const res = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues: { ":pk": `TENANT#${tenantId}`, ":prefix": "KEY#" },
        ConsistentRead: true,
      }),
    );
    return (res.Items ?? []).map((i: Record<string, unknown>) => ApiKeyRecordSchema.parse(i));
  }

  async revokeKey(tenantId: string, keyId: string): Promise<void> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: tenantKeys.keyOfTenant(tenantId, keyId),
        ConsistentRead: true,
      }),
    );
    if (!res.Item) throw new KeyNotFoundError(keyId);
    const key = ApiKeyRecordSchema.parse(res.Item);
    await this.db.send(
      new TransactWriteCommand({
        TransactItems: [
          { Delete: { TableName: this.tableName, Key: tenantKeys.keyOfTenant(tenantId, keyId) } },
          { Delete: { TableName: this.tableName, Key: tenantKeys.keyByHash(key.key_hash) } },
        ],
      }),
    );
  }

  async findKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: tenantKeys.keyByHash(hash),
        ConsistentRead: true,
      }),
    );
    return res.Item ? ApiKeyRecordSchema.parse(res.Item) : null;
  }
}
