import * as z from "zod";
import type { AgentConfig } from "./agent-config.js";
import type { ProviderCredentials } from "./ports.js";

/** No tenant's max_task_seconds can exceed this; the state machine's own time-out sits just above it. */
export const MAX_TASK_SECONDS_CEILING = 86_400;

/** A task's text and expected output live in one DynamoDB item (400 KB at most) with its result. */
export const MAX_TASK_BYTES_CEILING = 200 * 1024;

/** Each limit and its range (no defaults: a PATCH must not reset what it does not name). */
const LIMIT_FIELDS = {
  max_running_tasks: z.number().int().min(1).max(10_000),
  max_task_seconds: z.number().int().min(1).max(MAX_TASK_SECONDS_CEILING),
  max_output_bytes: z
    .number()
    .int()
    .min(1)
    .max(1024 ** 3),
  max_task_bytes: z.number().int().min(16).max(MAX_TASK_BYTES_CEILING),
  retention_days: z.number().int().min(1).max(3650),
};

/** Per-tenant limits (SPEC §7) with their defaults. */
export const LimitsSchema = z.strictObject({
  max_running_tasks: LIMIT_FIELDS.max_running_tasks.default(20),
  max_task_seconds: LIMIT_FIELDS.max_task_seconds.default(3600),
  max_output_bytes: LIMIT_FIELDS.max_output_bytes.default(10 * 1024 * 1024),
  max_task_bytes: LIMIT_FIELDS.max_task_bytes.default(100 * 1024),
  retention_days: LIMIT_FIELDS.retention_days.default(30),
});
export type Limits = z.infer<typeof LimitsSchema>;
export const DEFAULT_LIMITS: Limits = LimitsSchema.parse({});
/** A PATCH of limits: any subset, each checked against its range; what it does not name stays. */
export const LimitsPatchSchema = z.strictObject(LIMIT_FIELDS).partial();

export interface Tenant {
  id: string;
  config: AgentConfig;
  limits: Limits;
  /** Where `${env.NAME}` and provider keys come from for this tenant. */
  credentials: ProviderCredentials;
}

/** A key that authenticated: its tenant, and the caller agents it is bound to (null: any). */
export interface AuthenticatedKey {
  tenant: Tenant;
  keyId: string;
  callers: string[] | null;
}

/** Looks up tenants: by API key for the API, by ID for the runner. */
export interface TenantDirectory {
  authenticate(apiKey: string): Promise<AuthenticatedKey | null>;
  get(tenantId: string): Promise<Tenant | null>;
  /** Every tenant ID (the local runtime resumes their running tasks after a restart). */
  listIds(): Promise<string[]>;
}
