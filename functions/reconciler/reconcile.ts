import * as z from "zod";
import { TaskIdSchema } from "../../shared/domain/task.js";
import type { TaskRepository } from "../../shared/ports.js";
import type { Logger } from "../../shared/use-cases/task-service.js";

/** The execution input the API starts every execution with (shared/adapters/sfn/sfn-executions.ts). */
export const ExecutionInputSchema = z.object({
  tenant_id: z.string().min(1),
  task_id: TaskIdSchema,
});

const JsonText = z.string().transform((text, ctx) => {
  try {
    const value: unknown = JSON.parse(text);
    return value;
  } catch {
    ctx.addIssue({ code: "custom", message: "not JSON text" });
    return z.NEVER;
  }
});

/** An EventBridge "Step Functions Execution Status Change" event: the fields this handler reads. */
export const ExecutionStatusChangeEventSchema = z.object({
  source: z.literal("aws.states"),
  "detail-type": z.literal("Step Functions Execution Status Change"),
  detail: z.object({
    executionArn: z.string(),
    stateMachineArn: z.string(),
    name: z.string(),
    /** RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE, or one added later. */
    status: z.string().min(1),
    /** Execution input as JSON text; null when it was too large to include (ours never is). */
    input: JsonText.pipe(ExecutionInputSchema).nullable(),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});
export type ExecutionStatusChangeEvent = z.infer<typeof ExecutionStatusChangeEventSchema>;

export type ReconcileOutcome =
  /** The status is not one that ends a task behind the API's back (e.g. SUCCEEDED). */
  | { action: "ignored"; status: string }
  /** The task was pending/running and is now failed with this error. */
  | { action: "failed"; taskId: string; error: string }
  /** The task had already finished (completed, failed, or stopped through the API) or does not exist. */
  | { action: "unchanged"; taskId: string; status: string | null };

/** The task error for an execution that ended without the task being finished. */
export function executionEndError(detail: ExecutionStatusChangeEvent["detail"]): string | null {
  switch (detail.status) {
    case "TIMED_OUT":
      return "the execution timed out";
    case "FAILED":
      // Only the error name: a cause may carry internal text that must not reach a client.
      return `the execution failed: ${detail.error || "unknown error"}`;
    case "ABORTED":
      return "the execution was aborted outside the API";
    default:
      return null;
  }
}

export class ExecutionInputMissingError extends Error {
  constructor(executionArn: string) {
    super(`execution ${executionArn} ended without its input in the event; its task cannot be found`);
    this.name = "ExecutionInputMissingError";
  }
}

/**
 * Marks a task failed when its execution failed, timed out or was aborted while the task was
 * still pending or running. The move is the repository's conditional transition, so a task that
 * already finished (a stop through the API also aborts the execution) is left as it is.
 */
export async function reconcileExecution(
  deps: { repo: TaskRepository; log: Logger },
  rawEvent: unknown,
): Promise<ReconcileOutcome> {
  const event = ExecutionStatusChangeEventSchema.parse(rawEvent);
  const { detail } = event;
  const error = executionEndError(detail);
  if (error === null) return { action: "ignored", status: detail.status };
  if (!detail.input) throw new ExecutionInputMissingError(detail.executionArn);

  const { tenant_id: tenantId, task_id: taskId } = detail.input;
  const moved = await deps.repo.transition(tenantId, taskId, "failed", { error });
  if (moved.moved) {
    deps.log.warn("task failed because its execution ended", {
      tenant_id: tenantId,
      task_id: taskId,
      execution_status: detail.status,
      execution_error: detail.error ?? null,
      execution_cause: detail.cause ?? null,
    });
    return { action: "failed", taskId, error };
  }
  if (!moved.current) {
    deps.log.warn("execution ended for a task that does not exist", { tenant_id: tenantId, task_id: taskId });
  }
  return { action: "unchanged", taskId, status: moved.current?.status ?? null };
}
