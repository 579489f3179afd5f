import type { Tenant, TenantDirectory } from "../../shared/tenants.js";
import type { Logger, TaskService } from "../../shared/use-cases/task-service.js";
import type { TenantAdmin } from "../../shared/use-cases/tenant-admin.js";
import type { OriginPolicy } from "./origin-guard.js";
import type { InternalHarnessDeps } from "./routes/internal-harness.js";

export interface ApiDeps {
  service: TaskService;
  tenants: TenantDirectory;
  /** The admin use cases and the admin credential; without a token the admin API is disabled. */
  admin?: { service: TenantAdmin; token: string | undefined };
  log: Logger;
  /** How often an SSE stream looks for new output. */
  ssePollMs: number;
  /** Silence after which an SSE stream sends a keepalive comment (default 15 s). */
  sseKeepaliveMs?: number;
  version: string;
  /** Hosts and browser origins accepted (SPEC §8); absent: any host, only the service's own origin. */
  originPolicy?: OriginPolicy;
  /** The internal routes of harness containers (SPEC §9); absent: not served. */
  harness?: InternalHarnessDeps;
}

/** Hono environment: what the auth middleware puts on the context for the handlers. */
export interface ApiEnv {
  Variables: {
    tenant: Tenant;
    caller: string;
  };
}
