import * as z from "zod";
import { PermanentError } from "../../shared/domain/errors.js";
import { CAPABILITY_GRACE_SECONDS, type TaskCapabilities } from "../../shared/security/task-capability.js";
import type { TenantDirectory } from "../../shared/tenants.js";

/**
 * The PrepareHarness state (shared/state-machine/definition.ts), run by the runner Lambda, which
 * holds the service secret: mints the capability the harness container uses for its own task,
 * and nothing else. The container gets it in its ECS overrides; it grants nothing on any other
 * task, and it expires when the task's own limit (the tenant's max_task_seconds) has passed.
 */

export const PrepareHarnessInputSchema = z.object({
  action: z.literal("prepare_harness"),
  tenant_id: z.string().min(1),
  task_id: z.string().min(1),
});
export type PrepareHarnessInput = z.infer<typeof PrepareHarnessInputSchema>;

/** What PrepareHarness adds to the execution's state (at `$.harness`). */
export interface PrepareHarnessOutput {
  capability: string;
  /** When the capability stops being accepted (epoch seconds). */
  expires_at: number;
}

export interface PrepareHarnessDeps {
  /** Built from the service secret (read on first use in the cloud). */
  capabilities: () => Promise<TaskCapabilities>;
  tenants: Pick<TenantDirectory, "get">;
  now?: () => Date;
}

export async function prepareHarness(
  deps: PrepareHarnessDeps,
  input: PrepareHarnessInput,
): Promise<PrepareHarnessOutput> {
  const tenant = await deps.tenants.get(input.tenant_id);
  if (!tenant) throw new PermanentError(`tenant ${input.tenant_id} not found`);
  const now = (deps.now ?? (() => new Date()))();
  const expiresAt =
    Math.floor(now.getTime() / 1000) + tenant.limits.max_task_seconds + CAPABILITY_GRACE_SECONDS;
  const capabilities = await deps.capabilities();
  const capability = capabilities.mint({
    tenantId: input.tenant_id,
    taskId: input.task_id,
    expiresAt,
  });
  return { capability, expires_at: expiresAt };
}
