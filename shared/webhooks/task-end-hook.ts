import { DynamoTaskRepository } from "../adapters/dynamo/task-repository.js";
import { isFinished, type TaskRecord, type TaskStatus } from "../domain/task.js";
import type { FlushInput, FlushOutcome } from "../ports.js";
import type { DeliveryRef } from "./delivery-records.js";

/** Told of every task end this process makes, after it is stored (the task when the move returned it). */
export type TaskEndListener = (ref: DeliveryRef, task?: TaskRecord) => void;

/**
 * The task repository, telling a listener of every move to a finished status it makes: a stop, a
 * failure (failTask, the sweep, the reconciler) and a runner's finishing flush. `npm start` hangs
 * its webhook deliveries on it; a process that dies between the end and the listener is caught by
 * the sweep (sweepMissedTaskEnds).
 */
export class TaskEndNotifyingRepository extends DynamoTaskRepository {
  private listener: TaskEndListener | undefined;

  onTaskEnd(listener: TaskEndListener): void {
    this.listener = listener;
  }

  private notify(ref: DeliveryRef, task?: TaskRecord): void {
    try {
      this.listener?.(ref, task);
    } catch {
      // A listener's fault is its own: the task's end is stored.
    }
  }

  override async transition(
    tenantId: string,
    taskId: string,
    to: TaskStatus,
    fields?: { error?: string; result?: string },
  ): Promise<{ moved: true; task: TaskRecord } | { moved: false; current: TaskRecord | null }> {
    const outcome = await super.transition(tenantId, taskId, to, fields);
    if (outcome.moved && isFinished(outcome.task.status)) this.notify({ tenantId, taskId }, outcome.task);
    return outcome;
  }

  override async flush(input: FlushInput): Promise<FlushOutcome> {
    const outcome = await super.flush(input);
    if (outcome.ok && input.finish) this.notify({ tenantId: input.tenantId, taskId: input.taskId });
    return outcome;
  }
}
