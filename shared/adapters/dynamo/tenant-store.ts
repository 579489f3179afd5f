import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { GetItemCommand } from "dynamodb-toolbox/entity/actions/get";
import { PutItemCommand } from "dynamodb-toolbox/entity/actions/put";
import { DeleteTransaction } from "dynamodb-toolbox/entity/actions/transactDelete";
import { PutTransaction } from "dynamodb-toolbox/entity/actions/transactPut";
import { $get, $set, UpdateItemCommand } from "dynamodb-toolbox/entity/actions/update";
import { QueryCommand } from "dynamodb-toolbox/table/actions/query";
import * as z from "zod";
import { KeyNotFoundError, TenantExistsError, TenantNotFoundError } from "../../domain/errors.js";
import { lazy } from "../../lazy.js";
import type { ApiKeyRecord, TenantRecord, TenantStore } from "../../ports.js";
import { keys } from "../../table-schema.js";
import { type Limits, LimitsSchema } from "../../tenants.js";
import { conditionFailedAt, executeTransaction, isConditionalCheckFailed } from "./client.js";
import { createTableEntities, type TableEntities } from "./entities.js";

export type { ApiKeyRecord, TenantRecord };

/** What is stored for a tenant (its secrets live in their own, encrypted item). */
export const TenantRecordSchema = lazy(
  () =>
    z.object({
      id: z.string(),
      /** The agent config as the admin gave it (YAML). */
      config: z.string(),
      /** The same config parsed, as JSON (agent-spec.ts): what the API and runner read. Absent on tenants stored before it existed. */
      config_json: z.string().optional(),
      limits: LimitsSchema,
      created_at: z.string(),
      updated_at: z.string(),
    }) satisfies z.ZodType<TenantRecord>,
);

export const ApiKeyRecordSchema = lazy(
  () =>
    z.object({
      key_id: z.string(),
      tenant_id: z.string(),
      key_hash: z.string(),
      callers: z.array(z.string()).nullable(),
      created_at: z.string(),
    }) satisfies z.ZodType<ApiKeyRecord>,
);

/** Tenants, their keys and their encrypted secrets, in the service's one table. */
export class DynamoTenantStore implements TenantStore {
  private readonly t: TableEntities;
  constructor(
    db: DynamoDBDocumentClient,
    tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.t = createTableEntities(db, tableName);
  }

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
      await executeTransaction(
        this.t.TenantProfile.build(PutTransaction)
          .item(record)
          .options({ condition: { attr: "id", exists: false } }),
        ...this.keyPuts(input.key),
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
    const { Attributes } = await this.t.TenantProfile.build(UpdateItemCommand)
      .item({
        id,
        config,
        config_json: configJson,
        updated_at: at,
        created_at: $get("created_at", at),
        limits: $get("limits", LimitsSchema.parse({})),
      })
      .options({ returnValues: "ALL_NEW" })
      .send();
    return TenantRecordSchema().parse(Attributes);
  }

  async get(id: string): Promise<TenantRecord | null> {
    const { Item } = await this.t.TenantProfile.build(GetItemCommand)
      .key({ id })
      .options({ consistent: true })
      .send();
    return Item ? TenantRecordSchema().parse(Item) : null;
  }

  async list(): Promise<TenantRecord[]> {
    const { Items = [] } = await this.t.table
      .build(QueryCommand)
      .entities(this.t.TenantProfile)
      .query({ partition: keys.tenantsPk, range: { beginsWith: keys.tenantProfile("").sk } })
      .options({ maxPages: Number.POSITIVE_INFINITY })
      .send();
    return Items.map((item) => TenantRecordSchema().parse(item));
  }

  private async updateProfile(
    id: string,
    fields: { config?: string; config_json?: string; limits?: ReturnType<typeof $set<Limits>> },
  ): Promise<TenantRecord> {
    try {
      const { Attributes } = await this.t.TenantProfile.build(UpdateItemCommand)
        .item({ id, ...fields, updated_at: this.now().toISOString() })
        .options({ condition: { attr: "id", exists: true }, returnValues: "ALL_NEW" })
        .send();
      return TenantRecordSchema().parse(Attributes);
    } catch (err) {
      if (isConditionalCheckFailed(err)) throw new TenantNotFoundError(id);
      throw err;
    }
  }

  setConfig(id: string, config: string, configJson: string): Promise<TenantRecord> {
    return this.updateProfile(id, { config, config_json: configJson });
  }

  setLimits(id: string, limits: Limits): Promise<TenantRecord> {
    return this.updateProfile(id, { limits: $set(limits) });
  }

  /** Replaces the tenant's secrets with an encrypted blob; only the names are readable. */
  async putSecrets(id: string, blob: Buffer, names: string[]): Promise<void> {
    if (!(await this.get(id))) throw new TenantNotFoundError(id);
    await this.t.TenantSecrets.build(PutItemCommand)
      .item({ pk: keys.tenantSecrets(id).pk, blob, names, updated_at: this.now().toISOString() })
      .send();
  }

  async getSecrets(id: string): Promise<{ blob: Uint8Array; names: string[] } | null> {
    const { Item } = await this.t.TenantSecrets.build(GetItemCommand)
      .key({ pk: keys.tenantSecrets(id).pk })
      .options({ consistent: true })
      .send();
    return Item ? { blob: Item.blob, names: Item.names } : null;
  }

  /** A key is stored twice: under its hash (authentication) and under its tenant (listing). */
  private keyPuts(key: ApiKeyRecord) {
    return [
      this.t.ApiKeyByHash.build(PutTransaction)
        .item(key)
        .options({ condition: { attr: "key_hash", exists: false } }),
      this.t.ApiKeyOfTenant.build(PutTransaction)
        .item(key)
        .options({ condition: { attr: "key_id", exists: false } }),
    ] as const;
  }

  async addKey(key: ApiKeyRecord): Promise<void> {
    if (!(await this.get(key.tenant_id))) throw new TenantNotFoundError(key.tenant_id);
    await executeTransaction(...this.keyPuts(key));
  }

  /** Registers a key unless that exact key is already registered (the local default key at start). */
  async ensureKey(key: ApiKeyRecord): Promise<void> {
    const existing = await this.findKeyByHash(key.key_hash);
    if (existing?.tenant_id === key.tenant_id) return;
    await this.addKey(key);
  }

  async listKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    const { Items = [] } = await this.t.table
      .build(QueryCommand)
      .entities(this.t.ApiKeyOfTenant)
      .query({
        partition: keys.apiKeyOfTenant(tenantId, "").pk,
        range: { beginsWith: keys.apiKeyOfTenant(tenantId, "").sk },
      })
      .options({ consistent: true })
      .send();
    return Items.map((item) => ApiKeyRecordSchema().parse(item));
  }

  async revokeKey(tenantId: string, keyId: string): Promise<void> {
    const { Item } = await this.t.ApiKeyOfTenant.build(GetItemCommand)
      .key({ tenant_id: tenantId, key_id: keyId })
      .options({ consistent: true })
      .send();
    if (!Item) throw new KeyNotFoundError(keyId);
    await executeTransaction(
      this.t.ApiKeyOfTenant.build(DeleteTransaction).key({ tenant_id: tenantId, key_id: keyId }),
      this.t.ApiKeyByHash.build(DeleteTransaction).key({ key_hash: Item.key_hash }),
    );
  }

  async findKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    const { Item } = await this.t.ApiKeyByHash.build(GetItemCommand)
      .key({ key_hash: hash })
      .options({ consistent: true })
      .send();
    return Item ? ApiKeyRecordSchema().parse(Item) : null;
  }
}
