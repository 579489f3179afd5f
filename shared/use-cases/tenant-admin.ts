import * as z from "zod";
import { agentConfigToJson, parseAgentConfigText as parseConfig, storedAgentConfig } from "../agent-spec.js";
import {
  ConfigTooLargeError,
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
  TenantNotFoundError,
} from "../domain/errors.js";
import { type ApiKeyRecord, secretsContext, type TenantRecord, type TenantStore } from "../ports.js";
import { newApiKey, newKeyId, type ServiceKeys } from "../security/service-secret.js";
import { type Limits, LimitsSchema } from "../tenants.js";
import {
  type DeliveryRecord,
  type WebhookStore,
  webhookSecretContext,
} from "../webhooks/delivery-records.js";
import { newWebhookSecret } from "../webhooks/webhook-secret.js";

export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;
export const TENANT_ID_RULE = "tenant IDs are 2-63 lowercase letters, digits and dashes";
export const TenantIdSchema = z.string().regex(TENANT_ID_PATTERN, TENANT_ID_RULE);
export const SecretNameSchema = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]{0,127}$/,
    "secret names are letters, digits and _ (not starting with a digit)",
  );
export const CallerNameSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, "not an agent name");

/**
 * A tenant's config is stored as its YAML and its parsed form in one DynamoDB item (400 KB at
 * most): both together, in UTF-8 bytes (limits on text count characters), leave room for the rest.
 */
export const MAX_STORED_CONFIG_BYTES = 350 * 1024;

/** The parsed form of a config as stored: 422 with every problem, 413 when it cannot be stored. */
async function storedConfigJson(
  config: string,
  allowPrivateNetwork: boolean,
  localTenant = false,
): Promise<string> {
  const json = agentConfigToJson(await parseConfig(config, { allowPrivateNetwork, localTenant }));
  const bytes = Buffer.byteLength(config) + Buffer.byteLength(json);
  if (bytes > MAX_STORED_CONFIG_BYTES) throw new ConfigTooLargeError(bytes, MAX_STORED_CONFIG_BYTES);
  return json;
}

/** All of a tenant's secrets, as JSON, fit in one DynamoDB item with room to spare. */
export const MAX_SECRETS_BYTES = 64 * 1024;

export interface TenantView {
  id: string;
  config: string;
  agents: string[];
  limits: Limits;
  created_at: string;
  updated_at: string;
}

export interface KeyView {
  key_id: string;
  callers: string[] | null;
  created_at: string;
}

export interface TenantAdminOptions {
  /**
   * The deployment's limits for new tenants: the base that a `create` call's own limits
   * override, each missing one taken from LimitsSchema. @default {} (LimitsSchema's defaults)
   */
  readonly defaultLimits?: Partial<Limits>;
  /**
   * Whether configs may name loopback, private or link-local hosts (BGA_ALLOW_PRIVATE_NETWORK,
   * as the runner has it): when false, such a model `base_url` or MCP `remote.url` is a 422 at
   * write time. @default false
   */
  readonly allowPrivateNetwork?: boolean;
  /**
   * The tenant whose `${env.NAME}` resolve from the server's own environment (the local default
   * tenant, configured by BGA_CONFIG at start). Its config and secrets are not changeable through
   * the admin API: a config written there could read the host's environment. @default none
   */
  readonly processEnvTenantId?: string | undefined;
  /** Where tenants' completion webhooks are kept (SPEC §11); without it the webhook routes are 404. */
  readonly webhooks?: WebhookStore | undefined;
  /** How many of a tenant's tasks hold a running slot now (the list shows it). @default none */
  readonly runningCount?: ((tenantId: string) => Promise<number>) | undefined;
}

export interface WebhookView {
  url: string;
  created_at: string;
}

/** The most deliveries one read of a tenant's deliveries returns. */
export const MAX_DELIVERIES_LISTED = 100;

/** A change the admin API may not make to the process-environment tenant. */
export class ProcessEnvTenantError extends ForbiddenError {
  constructor(id: string, what: "config" | "secrets") {
    super(
      `tenant "${id}" is configured by BGA_CONFIG when the server starts and reads \${env.NAME} from the server's environment; its ${what} cannot be changed through the admin API (change BGA_CONFIG and restart)`,
    );
  }
}

/** The admin use cases (SPEC §7): tenants, configs, limits, write-only secrets, keys. */
export class TenantAdmin {
  private readonly defaultLimits: Partial<Limits>;
  private readonly allowPrivateNetwork: boolean;
  private readonly processEnvTenantId: string | undefined;
  private readonly webhooks: WebhookStore | undefined;
  private readonly runningCount: ((tenantId: string) => Promise<number>) | undefined;

  constructor(
    private readonly store: TenantStore,
    private readonly keys: ServiceKeys,
    /** Called after every change so cached tenants are not served stale on this instance. */
    private readonly onChange: (tenantId: string) => void = () => {},
    options: TenantAdminOptions = {},
  ) {
    this.defaultLimits = options.defaultLimits ?? {};
    this.allowPrivateNetwork = options.allowPrivateNetwork ?? false;
    this.processEnvTenantId = options.processEnvTenantId;
    this.webhooks = options.webhooks;
    this.runningCount = options.runningCount;
  }

  private async webhookStoreOf(id: string): Promise<WebhookStore> {
    if (!this.webhooks) throw new NotFoundError("completion webhooks are not enabled on this server");
    if (!(await this.store.get(id))) throw new TenantNotFoundError(id);
    return this.webhooks;
  }

  /**
   * Sets (or replaces) the tenant's completion webhook with a new signing secret, returned this
   * once: only its encryption is stored (AES-256-GCM bound to the tenant, as its secrets).
   */
  async setWebhook(id: string, url: string): Promise<WebhookView & { secret: string }> {
    // Loaded on first use: the URL check brings the network guard and ipaddr.js, which nothing
    // else the API does at a cold start needs.
    const { assertWebhookUrl } = await import("../webhooks/webhook-url.js");
    const checked = assertWebhookUrl(url, this.allowPrivateNetwork).href;
    const webhooks = await this.webhookStoreOf(id);
    const secret = newWebhookSecret();
    const createdAt = new Date().toISOString();
    await webhooks.putWebhook({
      tenantId: id,
      url: checked,
      secretBlob: this.keys.encrypt(secret, webhookSecretContext(id)),
      createdAt,
    });
    return { url: checked, secret, created_at: createdAt };
  }

  /** The tenant's webhook without its secret. */
  async getWebhook(id: string): Promise<WebhookView> {
    const webhook = await (await this.webhookStoreOf(id)).getWebhook(id);
    if (!webhook) throw new NotFoundError(`tenant "${id}" has no webhook`);
    return { url: webhook.url, created_at: webhook.createdAt };
  }

  /** Removes the tenant's webhook; deliveries still pending are abandoned at their next attempt. */
  async deleteWebhook(id: string): Promise<void> {
    if (!(await (await this.webhookStoreOf(id)).deleteWebhook(id))) {
      throw new NotFoundError(`tenant "${id}" has no webhook`);
    }
  }

  /** The tenant's recent deliveries, newest first, each with its attempts. */
  async webhookDeliveries(id: string, limit: number): Promise<DeliveryRecord[]> {
    const webhooks = await this.webhookStoreOf(id);
    return webhooks.listDeliveries(id, Math.min(Math.max(1, limit), MAX_DELIVERIES_LISTED));
  }

  private configJson(config: string): Promise<string> {
    return storedConfigJson(config, this.allowPrivateNetwork);
  }

  private refuseProcessEnvTenant(id: string, what: "config" | "secrets"): void {
    if (id === this.processEnvTenantId) throw new ProcessEnvTenantError(id, what);
  }

  private async view(record: TenantRecord): Promise<TenantView> {
    const { config_json: _json, ...rest } = record;
    let agents: string[] = [];
    try {
      agents = Object.keys((await storedAgentConfig(record)).agents);
    } catch {
      agents = [];
    }
    return { ...rest, agents };
  }

  private newKey(tenantId: string, callers: string[] | null, apiKey = newApiKey()) {
    const record: ApiKeyRecord = {
      key_id: newKeyId(),
      tenant_id: tenantId,
      key_hash: this.keys.hashApiKey(apiKey),
      callers,
      created_at: new Date().toISOString(),
    };
    return { record, apiKey };
  }

  async create(input: { id: string; config: string; limits?: Partial<Limits> }) {
    const configJson = await this.configJson(input.config); // 422 with every problem, 413 too large
    const limits = LimitsSchema.parse({ ...this.defaultLimits, ...input.limits });
    const { record, apiKey } = this.newKey(input.id, null);
    const tenant = await this.store.create({
      id: input.id,
      config: input.config,
      configJson,
      limits,
      key: record,
    });
    return { tenant: await this.view(tenant), api_key: apiKey, key_id: record.key_id };
  }

  /** Every tenant, with `running_tasks` (its tasks holding a running slot now) when counted. */
  async list(): Promise<(TenantView & { running_tasks?: number })[]> {
    const count = this.runningCount;
    return Promise.all(
      (await this.store.list()).map(async (t) => {
        const view = await this.view(t);
        return count ? { ...view, running_tasks: await count(t.id) } : view;
      }),
    );
  }

  async get(id: string): Promise<TenantView> {
    const record = await this.store.get(id);
    if (!record) throw new TenantNotFoundError(id);
    return await this.view(record);
  }

  async setConfig(id: string, config: string): Promise<TenantView> {
    this.refuseProcessEnvTenant(id, "config");
    const record = await this.store.setConfig(id, config, await this.configJson(config));
    this.onChange(id);
    return await this.view(record);
  }

  async patchLimits(id: string, patch: Partial<Limits>): Promise<TenantView> {
    const current = await this.store.get(id);
    if (!current) throw new TenantNotFoundError(id);
    const limits = LimitsSchema.parse({ ...current.limits, ...patch });
    const record = await this.store.setLimits(id, limits);
    this.onChange(id);
    return await this.view(record);
  }

  /** Replaces the tenant's secrets. They are encrypted and never returned; only names are. */
  async putSecrets(id: string, secrets: Record<string, string>): Promise<{ names: string[] }> {
    this.refuseProcessEnvTenant(id, "secrets");
    const names = Object.keys(secrets).sort();
    for (const name of names) {
      if (!SecretNameSchema.safeParse(name).success)
        throw new InvalidRequestError(`invalid secret name: ${name}`);
    }
    const plain = JSON.stringify(secrets);
    if (Buffer.byteLength(plain) > MAX_SECRETS_BYTES) {
      throw new InvalidRequestError(`a tenant's secrets are at most ${MAX_SECRETS_BYTES} bytes in total`);
    }
    const blob = this.keys.encrypt(plain, secretsContext(id));
    await this.store.putSecrets(id, blob, names);
    this.onChange(id);
    return { names };
  }

  async createKey(
    id: string,
    callers: string[] | null,
  ): Promise<{ key_id: string; api_key: string; callers: string[] | null }> {
    const { record, apiKey } = this.newKey(id, callers);
    await this.store.addKey(record);
    return { key_id: record.key_id, api_key: apiKey, callers };
  }

  async listKeys(id: string): Promise<KeyView[]> {
    if (!(await this.store.get(id))) throw new TenantNotFoundError(id);
    return (await this.store.listKeys(id)).map((k) => ({
      key_id: k.key_id,
      callers: k.callers,
      created_at: k.created_at,
    }));
  }

  async revokeKey(id: string, keyId: string): Promise<void> {
    await this.store.revokeKey(id, keyId);
    this.onChange(id);
  }

  /** The local default tenant: config from BGA_CONFIG (replaced at every start), key from BGA_API_KEY. */
  async ensureDefaultTenant(id: string, config: string, apiKey: string): Promise<void> {
    // Not a write through the admin API but the operator's own BGA_CONFIG: its URLs meet the
    // network guard when a task connects (and a task that names a refused one fails saying so).
    // The local default tenant (BGA_CONFIG): its harness may name a command, a working_dir, a local repository.
    await this.store.upsert(id, config, await storedConfigJson(config, true, true));
    const hash = this.keys.hashApiKey(apiKey);
    const previous = (await this.store.listKeys(id)).find((k) => k.key_id === "key_default");
    // A changed BGA_API_KEY replaces the old default key.
    if (previous && previous.key_hash !== hash) await this.store.revokeKey(id, previous.key_id);
    await this.store.ensureKey({
      key_id: "key_default",
      tenant_id: id,
      key_hash: hash,
      callers: null,
      created_at: new Date().toISOString(),
    });
    this.onChange(id);
  }
}
