import * as z from "zod";
import { ChunkSchema as DomainChunkSchema } from "../shared/domain/chunk.js";
import { TaskSchema as DomainTaskSchema, TaskStatusSchema } from "../shared/domain/task.js";

/**
 * What the CLI expects back from the server (SPEC §3–§5, §7). Every response is parsed with these.
 * Fields a newer server adds are kept (`loose`), so `--json` passes them on to scripts.
 */

export const TaskSchema = DomainTaskSchema.loose();
export const ChunkSchema = DomainChunkSchema.loose();

export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

/** GET /v1/tasks/{id}/changes (SPEC §9). */
export const ChangesSchema = z
  .object({
    base: z.string(),
    files: z.array(
      z
        .object({ path: z.string(), status: z.string(), additions: z.number(), deletions: z.number() })
        .loose(),
    ),
    patch: z.string(),
    branch: z.string().optional(),
  })
  .loose();

export const TaskListSchema = z.object({ tasks: z.array(TaskSchema), next_cursor: z.string().nullable() });
export type TaskList = z.infer<typeof TaskListSchema>;

export const OutputPageSchema = z.object({
  chunks: z.array(ChunkSchema),
  next_after: z.number().int(),
  status: TaskStatusSchema,
});
export type OutputPage = z.infer<typeof OutputPageSchema>;

export const CallToolResultSchema = z.object({
  content: z.array(z.object({ type: z.string(), text: z.string() })),
  isError: z.boolean().optional(),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
});

export const WaitItemSchema = z.object({
  task_id: z.string(),
  status: TaskStatusSchema,
  done: z.boolean(),
  output: z.string().nullable(),
  error: z.string().nullable(),
  truncated: z.boolean(),
});
export type WaitItem = z.infer<typeof WaitItemSchema>;

export const WaitResultSchema = z.object({
  all_done: z.boolean(),
  timed_out: z.boolean(),
  tasks: z.array(WaitItemSchema),
});
export type WaitResult = z.infer<typeof WaitResultSchema>;

/** The `data:` of an SSE `status` event. */
export const StatusEventSchema = z.object({ status: TaskStatusSchema, task: TaskSchema });

// Admin (SPEC §7). Extra fields are kept, so the CLI shows what a newer server returns.
export const AdminTenantSchema = z.looseObject({
  id: z.string(),
  agents: z.array(z.string()).optional(),
  limits: z.record(z.string(), z.unknown()).optional(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
});
export type AdminTenant = z.infer<typeof AdminTenantSchema>;

/** A tenant comes back wrapped (`{"tenant": {...}}`) or bare; `tenantOf` takes either. */
const WrappedTenantSchema = z.object({ tenant: AdminTenantSchema });
export const AdminTenantResultSchema = z.union([WrappedTenantSchema, AdminTenantSchema]);
export function tenantOf(v: z.infer<typeof AdminTenantResultSchema>): AdminTenant {
  const wrapped = WrappedTenantSchema.safeParse(v);
  return wrapped.success ? wrapped.data.tenant : AdminTenantSchema.parse(v);
}

/** A list comes wrapped (`{"tenants": [...]}`) or bare; `tenantsOf` takes either. */
export const AdminTenantListSchema = z.union([
  z.object({ tenants: z.array(AdminTenantSchema) }),
  z.array(AdminTenantSchema),
]);
export function tenantsOf(v: z.infer<typeof AdminTenantListSchema>): AdminTenant[] {
  return Array.isArray(v) ? v : v.tenants;
}

export const CreatedTenantSchema = z.looseObject({ tenant: AdminTenantSchema, api_key: z.string() });

export const AdminKeySchema = z.looseObject({
  key_id: z.string(),
  callers: z.array(z.string()).nullable().optional(),
  created_at: z.string().optional(),
});
export type AdminKey = z.infer<typeof AdminKeySchema>;

export const AdminKeyListSchema = z.union([
  z.object({ keys: z.array(AdminKeySchema) }),
  z.array(AdminKeySchema),
]);
export function keysOf(v: z.infer<typeof AdminKeyListSchema>): AdminKey[] {
  return Array.isArray(v) ? v : v.keys;
}

export const CreatedKeySchema = z.looseObject({ key_id: z.string(), api_key: z.string() });

/** PUT …/secrets: write-only, so at most the names come back. */
export const SecretsResultSchema = z.looseObject({ names: z.array(z.string()).optional() }).optional();

/** Answers whose content the CLI only echoes (`--json`) or acknowledges; an empty body is fine. */
export const AnyBodySchema = z.unknown();
