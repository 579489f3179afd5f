import * as z from "zod";
import type { TaskCapabilities } from "../../shared/security/task-capability.js";
import { failTask, type RunnerDeps, runAgent } from "../../shared/use-cases/run-agent.js";
import { PrepareHarnessInputSchema, type PrepareHarnessOutput, prepareHarness } from "../harness/prepare.js";

/**
 * The runner step as the state machine calls it (shared/state-machine/definition.ts): its input
 * parsed, the agent-loop use case (shared/use-cases/run-agent.ts) called, its output shaped.
 */

/** The input Step Functions passes to the runner Lambda. */
export const StepInputSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("run"), tenant_id: z.string().min(1), task_id: z.string().min(1) }),
  z.object({
    action: z.literal("fail"),
    tenant_id: z.string().min(1),
    task_id: z.string().min(1),
    error: z.string().optional(),
    cause: z.unknown().optional(),
  }),
  PrepareHarnessInputSchema,
]);
export type StepInput = z.infer<typeof StepInputSchema>;
export interface StepOutput {
  tenant_id: string;
  task_id: string;
  done: boolean;
}

export async function runAgentStep(
  deps: RunnerDeps,
  input: Exclude<StepInput, { action: "prepare_harness" }>,
): Promise<StepOutput> {
  const out = { tenant_id: input.tenant_id, task_id: input.task_id };
  const ref = { tenantId: input.tenant_id, taskId: input.task_id };
  if (input.action === "fail") {
    await failTask(deps, ref, describeFailure(input.error, input.cause), {
      error: input.error,
      cause: input.cause,
    });
    return { ...out, done: true };
  }
  return { ...out, done: await runAgent(deps, ref) };
}

/** What the PrepareHarness state needs: the capabilities, keyed from the service secret. */
export interface HarnessStepDeps {
  capabilities: () => Promise<TaskCapabilities>;
}

/** The step handler: parse the state input, run the use case, return the state output. */
export function createStepHandler(
  deps: RunnerDeps,
  harness?: HarnessStepDeps,
): (event: unknown) => Promise<StepOutput | PrepareHarnessOutput> {
  return async (event) => {
    const input = StepInputSchema.parse(event);
    if (input.action === "prepare_harness") {
      if (!harness) throw new Error("this runner cannot prepare harness tasks (no capabilities)");
      return prepareHarness({ capabilities: harness.capabilities, tenants: deps.tenants }, input);
    }
    return runAgentStep(deps, input);
  };
}

/**
 * RunHarness (`ecs:runTask.sync`) fails with the ECS task as its cause when the container stops
 * unsuccessfully (killed, out of memory, exited non-zero): say so, with ECS's reason and exit code.
 */
function harnessContainerStopped(cause: unknown): string | undefined {
  const parsed = z
    .object({
      StoppedReason: z.string().max(1024),
      Containers: z
        .array(z.object({ ExitCode: z.number().optional(), Reason: z.string().max(1024).optional() }))
        .optional(),
    })
    .safeParse(cause);
  if (!parsed.success) return undefined;
  const container = parsed.data.Containers?.[0];
  const exit = container?.ExitCode !== undefined ? ` (exit code ${container.ExitCode})` : "";
  const reason = container?.Reason ? `: ${container.Reason}` : "";
  return `the harness container stopped before the task ended: ${parsed.data.StoppedReason}${exit}${reason}`;
}

/** Turns a Step Functions error (name + cause) into the task's one-line error. No internals leak. */
export function describeFailure(name: string | undefined, cause: unknown): string {
  let message: string | undefined;
  if (typeof cause === "string") {
    try {
      const parsed = JSON.parse(cause) as { errorMessage?: unknown };
      message = typeof parsed.errorMessage === "string" ? parsed.errorMessage : cause;
      const stopped = harnessContainerStopped(parsed);
      if (stopped) return stopped;
    } catch {
      message = cause;
    }
  }
  switch (name) {
    case "PermanentError":
    case "TransientError":
      return message ?? "the model call failed";
    case "States.Timeout":
      return "a runner step exceeded its time limit";
    case "States.TaskFailed":
    case undefined:
      return "the runner step failed";
    default:
      return `internal error in the runner step (${name})`;
  }
}
