import { HttpClient, type HttpOptions } from "./http.js";
import {
  AdminKeyListSchema,
  AdminTenantListSchema,
  AdminTenantResultSchema,
  AnyBodySchema,
  CreatedKeySchema,
  CreatedTenantSchema,
  SecretsResultSchema,
} from "./schemas.js";

const tenantPath = (id: string) => `/v1/admin/tenants/${encodeURIComponent(id)}`;

/** The admin API (SPEC §7), with `Authorization: Bearer <admin token>`. */
export class AdminClient {
  readonly http: HttpClient;

  constructor(options: HttpOptions) {
    this.http = new HttpClient(options);
  }

  async listTenants() {
    return (await this.http.json("GET", "/v1/admin/tenants", AdminTenantListSchema)).data;
  }

  /** → `{tenant, api_key}`: the tenant's first key, shown once. */
  async createTenant(id: string, config: string, limits?: Record<string, unknown>) {
    const body = { id, config, ...(limits ? { limits } : {}) };
    return (await this.http.json("POST", "/v1/admin/tenants", CreatedTenantSchema, { body })).data;
  }

  async setConfig(id: string, config: string) {
    return (
      await this.http.json("PUT", `${tenantPath(id)}/config`, AdminTenantResultSchema, { body: { config } })
    ).data;
  }

  async patchLimits(id: string, limits: Record<string, unknown>) {
    return (
      await this.http.json("PATCH", `${tenantPath(id)}/limits`, AdminTenantResultSchema, { body: limits })
    ).data;
  }

  /** Secrets are write-only: the answer never holds their values. */
  async putSecrets(id: string, secrets: Record<string, string>) {
    return (await this.http.json("PUT", `${tenantPath(id)}/secrets`, SecretsResultSchema, { body: secrets }))
      .data;
  }

  /** → `{key_id, api_key}`; `callers` binds the key to those caller agents. */
  async createKey(id: string, callers?: string[]) {
    return (
      await this.http.json("POST", `${tenantPath(id)}/keys`, CreatedKeySchema, {
        body: callers ? { callers } : {},
      })
    ).data;
  }

  async listKeys(id: string) {
    return (await this.http.json("GET", `${tenantPath(id)}/keys`, AdminKeyListSchema)).data;
  }

  async revokeKey(id: string, keyId: string) {
    return (
      await this.http.json("DELETE", `${tenantPath(id)}/keys/${encodeURIComponent(keyId)}`, AnyBodySchema)
    ).data;
  }
}
