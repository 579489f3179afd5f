import { isFinished, type TaskRecord, type TaskStatus } from "../domain/task.js";
import type { Executions, Logger, TaskRepository } from "../ports.js";

export interface SweepDeps {
  repo: TaskRepository;
  executions: Executions;
  /** Every tenant's ID. */
  tenantIds: () => Promise<string[]>;
  /** How an agent of the tenant runs, for the execution's input (SPEC §9). @default "model" */
  agentKind?: (tenantId: string, agent: string) => Promise<"model" | "harness">;
  log: Logger;
  now?: () => Date;
}

export interface SweepOptions {
  /** A pending task younger than this is left alone: its execution may be starting right now. @default 60 s */
  graceMs?: number;
}

export interface SweepOutcome {
  /** Pending tasks whose execution was never started (the API died in between): started now. */
  started: string[];
  /** Tasks whose execution is gone or ended without ending them: failed, their slots freed. */
  failed: string[];
}

/** The error of a task whose execution ended, or vanished, while the task was still open. */
export const LOST_EXECUTION_ERROR =
  "the task's execution ended without finishing the task (found by the sweep)";

/** Every task of a tenant in a status, page by page (`pageSize` tasks a query). */
export async function* tasksInStatus(
  repo: TaskRepository,
  tenantId: string,
  status: TaskStatus,
  pageSize = 100,
): AsyncGenerator<TaskRecord> {
  let cursor: string | undefined;
  do {
    const page = await repo.list(tenantId, { status, limit: pageSize, ...(cursor ? { cursor } : {}) });
    yield* page.tasks;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

/**
 * Finds tasks stuck open and ends or restarts them, so no task stays pending or running forever
 * holding a slot: Step Functions' status events are best effort, and the API can die between
 * writing a task and starting its execution. Run on a schedule (EventBridge Scheduler → the
 * reconciler in the cloud; a timer in `npm start`).
 */
export async function sweepStuckTasks(deps: SweepDeps, options: SweepOptions = {}): Promise<SweepOutcome> {
  const now = (deps.now ?? (() => new Date()))().getTime();
  const graceMs = options.graceMs ?? 60_000;
  const outcome: SweepOutcome = { started: [], failed: [] };
  for (const tenantId of await deps.tenantIds()) {
    for (const status of ["pending", "running"] as const) {
      for await (const task of tasksInStatus(deps.repo, tenantId, status)) {
        // A running task's execution exists (its step moved it to running); a pending one's may
        // be starting right now.
        if (status === "pending" && now - Date.parse(task.created_at) < graceMs) continue;
        const ref = { tenantId, taskId: task.id };
        const execution = await deps.executions.describe(ref);
        if (execution === "running") continue;
        if (execution === "missing" && status === "pending") {
          const kind = deps.agentKind ? await deps.agentKind(tenantId, task.agent) : "model";
          await deps.executions.start({ ...ref, kind });
          outcome.started.push(task.id);
          deps.log.warn("sweep: started the execution of a pending task that had none", {
            tenant_id: tenantId,
            task_id: task.id,
          });
          continue;
        }
        const moved = await deps.repo.transition(tenantId, task.id, "failed", {
          error: LOST_EXECUTION_ERROR,
        });
        if (moved.moved) {
          outcome.failed.push(task.id);
          deps.log.warn("sweep: failed a task whose execution is gone", {
            tenant_id: tenantId,
            task_id: task.id,
            execution,
          });
        } else if (moved.current && !isFinished(moved.current.status)) {
          deps.log.warn("sweep: a task moved while it was looked at", {
            tenant_id: tenantId,
            task_id: task.id,
          });
        }
      }
    }
  }
  return outcome;
}
