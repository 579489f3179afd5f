import { type AgentConfig, storedAgentConfig } from "../../agent-spec.js";
import { secretsContext, type TenantStore } from "../../ports.js";
import { ServiceKeys } from "../../security/service-secret.js";
import type { AuthenticatedKey, Tenant, TenantDirectory } from "../../tenants.js";

export interface TenantDirectoryOptions {
  /** The one tenant whose `${env.NAME}` and provider keys come from this process's environment: the local default tenant. Never set in the cloud. */
  processEnvTenantId?: string;
  /** How long a tenant (config, limits, secrets) and a key lookup are cached. */
  cacheMs?: number;
  env?: NodeJS.ProcessEnv;
  /** The clock the cache ages by, in milliseconds since the epoch; default `Date.now` (tests inject one). */
  now?: () => number;
}

/** Tenants from DynamoDB, with a short cache so a warm Lambda does not read them on every call. */
export class DynamoTenantDirectory implements TenantDirectory {
  private readonly tenants = new Map<string, { at: number; tenant: Promise<Tenant | null> }>();
  private readonly keys = new Map<string, { at: number; key: Promise<AuthenticatedKeyRef | null> }>();
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: TenantStore,
    private readonly serviceKeys: ServiceKeys,
    private readonly options: TenantDirectoryOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  /** Forget what is cached about a tenant (after an admin change on this instance). */
  invalidate(tenantId?: string): void {
    if (tenantId) this.tenants.delete(tenantId);
    else this.tenants.clear();
    this.keys.clear();
  }

  async authenticate(apiKey: string): Promise<AuthenticatedKey | null> {
    const hash = this.serviceKeys.hashApiKey(apiKey);
    const now = this.now();
    let entry = this.keys.get(hash);
    if (!entry || now - entry.at > this.cacheMs) {
      entry = { at: now, key: this.lookupKey(hash) };
      this.keys.set(hash, entry);
      if (this.keys.size > 10_000) this.keys.clear();
    }
    const ref = await entry.key;
    if (!ref) return null;
    const tenant = await this.get(ref.tenantId);
    return tenant ? { tenant, keyId: ref.keyId, callers: ref.callers } : null;
  }

  private async lookupKey(hash: string): Promise<AuthenticatedKeyRef | null> {
    const key = await this.store.findKeyByHash(hash);
    if (!key || !ServiceKeys.sameHash(key.key_hash, hash)) return null;
    return { tenantId: key.tenant_id, keyId: key.key_id, callers: key.callers };
  }

  async get(tenantId: string): Promise<Tenant | null> {
    const now = this.now();
    let entry = this.tenants.get(tenantId);
    if (!entry || now - entry.at > this.cacheMs) {
      entry = { at: now, tenant: this.load(tenantId) };
      this.tenants.set(tenantId, entry);
      entry.tenant.catch(() => this.tenants.delete(tenantId));
    }
    return entry.tenant;
  }

  private async load(tenantId: string): Promise<Tenant | null> {
    const record = await this.store.get(tenantId);
    if (!record) return null;
    let config: AgentConfig;
    try {
      config = await storedAgentConfig(record);
    } catch {
      // Configs are checked when written; one that no longer reads (an older format) has no agents.
      config = { agents: {} };
    }
    let secrets: Record<string, string> = {};
    if (this.options.processEnvTenantId === tenantId) {
      const env = this.options.env ?? process.env;
      // Own variables only: `${env.constructor}` is no variable, not Object's constructor.
      const get = (name: string) => (Object.hasOwn(env, name) ? env[name] : undefined);
      return { id: tenantId, config, limits: record.limits, credentials: { get } };
    }
    const stored = await this.store.getSecrets(tenantId);
    if (stored) secrets = JSON.parse(this.serviceKeys.decrypt(stored.blob, secretsContext(tenantId)));
    return {
      id: tenantId,
      config,
      limits: record.limits,
      credentials: { get: (name) => (Object.hasOwn(secrets, name) ? secrets[name] : undefined) },
    };
  }

  async listIds(): Promise<string[]> {
    return (await this.store.list()).map((t) => t.id);
  }
}

interface AuthenticatedKeyRef {
  tenantId: string;
  keyId: string;
  callers: string[] | null;
}
