import { createHash, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { type AgentConfig, parseAgentConfig } from "./agent-config.js";
import {
  type AuthenticatedKey,
  DEFAULT_LIMITS,
  type Limits,
  type Tenant,
  type TenantDirectory,
} from "./tenants.js";

export const DEFAULT_TENANT_ID = "default";

/** Reads BGA_CONFIG: a path to a YAML file, or the YAML text itself. */
export function readConfigSource(source: string): string {
  return !source.includes("\n") && existsSync(source) ? readFileSync(source, "utf8") : source;
}

function hashKey(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

/**
 * The single default tenant of the local path: config from BGA_CONFIG, key from BGA_API_KEY
 * (kept only as a hash, compared in constant time), provider keys from the process environment.
 */
export class SingleTenantDirectory implements TenantDirectory {
  private readonly tenant: Tenant;
  private readonly keyHash: Buffer | null;
  /** Without `apiKey` (the runner, which never authenticates) every key is refused. */
  constructor(options: {
    config: AgentConfig;
    apiKey?: string;
    limits?: Partial<Limits>;
    env?: NodeJS.ProcessEnv;
  }) {
    const env = options.env ?? process.env;
    this.tenant = {
      id: DEFAULT_TENANT_ID,
      config: options.config,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
      credentials: { get: (name) => env[name] },
    };
    this.keyHash = options.apiKey ? hashKey(options.apiKey) : null;
  }

  static fromYaml(yaml: string, apiKey: string, limits?: Partial<Limits>): SingleTenantDirectory {
    return new SingleTenantDirectory({
      config: parseAgentConfig(yaml),
      apiKey,
      ...(limits ? { limits } : {}),
    });
  }

  async authenticate(apiKey: string): Promise<AuthenticatedKey | null> {
    if (!this.keyHash) return null;
    return timingSafeEqual(hashKey(apiKey), this.keyHash)
      ? { tenant: this.tenant, keyId: "default", callers: null }
      : null;
  }

  async get(tenantId: string): Promise<Tenant | null> {
    return tenantId === this.tenant.id ? this.tenant : null;
  }

  async listIds(): Promise<string[]> {
    return [this.tenant.id];
  }
}
