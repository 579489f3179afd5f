import { agentKind, subAgentsOf } from "../agent-spec.js";
import { byteLength, type Chunk, headUtf8 } from "../domain/chunk.js";
import {
  AgentNotAllowedError,
  ChangesNotFoundError,
  ConcurrencyLimitError,
  ExecutionStartError,
  IdempotencyConflictError,
  TaskNotFoundError,
  TaskNotRunningError,
  TaskTooLargeError,
} from "../domain/errors.js";
import { isFinished, newTaskRecord, TaskIdSchema, type TaskRecord, type TaskStatus } from "../domain/task.js";
import type { TaskChanges } from "../harness/channel.js";

/** Only well-formed IDs are looked up; any other is answered like a missing task. */
function isTaskId(id: string): boolean {
  return TaskIdSchema.safeParse(id).success;
}

import {
  type Executions,
  IdempotencyKeyTakenError,
  type Logger,
  type MetricsSink,
  NO_METRICS,
  type TaskRepository,
} from "../ports.js";
import type { Tenant } from "../tenants.js";

export interface RunRequest {
  tenant: Tenant;
  caller: string;
  agent: string;
  task: string;
  expected_output?: string | undefined;
  metadata?: Record<string, string> | undefined;
  idempotency?: { key: string; bodyHash: string } | undefined;
  parent?: { id: string; depth: number } | undefined;
}

export interface WaitResultItem {
  task_id: string;
  status: TaskStatus;
  done: boolean;
  output: string | null;
  error: string | null;
  truncated: boolean;
}

export interface WaitResult {
  all_done: boolean;
  timed_out: boolean;
  tasks: WaitResultItem[];
}

/** The Logger port, also importable from here (functions/api and the reconciler do). */
export type { Logger };

/** Text bounds for a model's context (SPEC §3). */
export const VIEW_OUTPUT_BYTES = 32 * 1024;
export const RESULT_BYTES = 64 * 1024;

/** The use cases behind every surface (MCP tools, REST, tool gateway): they see ports, not SDKs. */
export class TaskService {
  constructor(
    private readonly repo: TaskRepository,
    private readonly executions: Executions,
    private readonly log: Logger,
    private readonly options: { waitPollMs: number; metrics?: MetricsSink } = { waitPollMs: 500 },
  ) {}

  private get metrics(): MetricsSink {
    return this.options.metrics ?? NO_METRICS;
  }

  /** Starts a task; `created` is false when an Idempotency-Key matched an earlier request. */
  async run(req: RunRequest): Promise<{ task: TaskRecord; created: boolean }> {
    const allowed = subAgentsOf(req.tenant.config, req.caller);
    if (!allowed.includes(req.agent)) throw new AgentNotAllowedError(req.agent, allowed);
    // The task and its expected output together: both are the sub-agent's goal, and both live in the task item.
    const bytes = byteLength(req.task) + byteLength(req.expected_output ?? "");
    if (bytes > req.tenant.limits.max_task_bytes) {
      throw new TaskTooLargeError(bytes, req.tenant.limits.max_task_bytes);
    }
    if (req.idempotency) {
      const earlier = await this.replay(req.tenant.id, req.idempotency);
      if (earlier) return { task: earlier, created: false };
    }
    const record = newTaskRecord({
      tenant_id: req.tenant.id,
      agent: req.agent,
      caller: req.caller,
      task: req.task,
      expected_output: req.expected_output,
      metadata: req.metadata,
      parent: req.parent,
    });
    try {
      await this.repo.create({
        record,
        maxRunningTasks: req.tenant.limits.max_running_tasks,
        retentionSeconds: req.tenant.limits.retention_days * 86_400,
        maxTaskSeconds: req.tenant.limits.max_task_seconds,
        ...(req.idempotency ? { idempotency: req.idempotency } : {}),
      });
    } catch (err) {
      if (err instanceof ConcurrencyLimitError) this.metrics.count("TasksRefusedConcurrencyLimit");
      if (err instanceof IdempotencyKeyTakenError && req.idempotency) {
        const earlier = await this.replay(req.tenant.id, req.idempotency);
        if (earlier) return { task: earlier, created: false };
      }
      throw err;
    }
    if (req.parent) await this.repo.addChild(req.tenant.id, req.parent.id, record.id);
    try {
      const agent = req.tenant.config.agents[req.agent];
      await this.executions.start({
        tenantId: record.tenant_id,
        taskId: record.id,
        kind: agent ? agentKind(agent) : "model",
      });
    } catch (err) {
      this.log.error("execution start failed", { task_id: record.id, error: String(err) });
      await this.repo.transition(record.tenant_id, record.id, "failed", {
        error: "the task's execution could not be started; please try again",
      });
      throw new ExecutionStartError(`task ${record.id} could not be started; it was marked failed`);
    }
    this.metrics.count("TasksStarted");
    return { task: record, created: true };
  }

  private async replay(
    tenantId: string,
    idem: { key: string; bodyHash: string },
  ): Promise<TaskRecord | null> {
    const found = await this.repo.findByIdempotencyKey(tenantId, idem.key);
    if (!found) return null;
    if (found.bodyHash !== idem.bodyHash) throw new IdempotencyConflictError();
    return found.task;
  }

  /**
   * A task of the tenant. With `parentId` (a sub-agent using the tools), only the tasks that parent
   * started: any other ID is answered exactly like a missing one.
   */
  async get(tenant: Tenant, taskId: string, parentId?: string): Promise<TaskRecord> {
    if (!isTaskId(taskId)) throw new TaskNotFoundError(taskId);
    const task = await this.repo.get(tenant.id, taskId, true);
    if (!task || (parentId !== undefined && task.parent_id !== parentId)) throw new TaskNotFoundError(taskId);
    return task;
  }

  /** The tasks a task started, newest first. */
  async children(tenant: Tenant, parentId: string): Promise<TaskRecord[]> {
    const parent = await this.repo.get(tenant.id, parentId, true);
    const ids = parent?.children ?? [];
    const found = await this.repo.getMany(tenant.id, ids);
    return ids
      .map((id) => found.get(id))
      .filter((t): t is TaskRecord => t !== undefined)
      .reverse();
  }

  list(tenant: Tenant, query: { status?: TaskStatus; agent?: string; limit: number; cursor?: string }) {
    return this.repo.list(tenant.id, query);
  }

  async output(
    tenant: Tenant,
    taskId: string,
    after: number,
    limit: number,
  ): Promise<{ chunks: Chunk[]; next_after: number; status: TaskStatus }> {
    // Read the status first: chunks read after it are at least as new, so a finished status
    // with an empty page really means the end.
    const task = await this.get(tenant, taskId);
    const chunks = await this.repo.chunksAfter(tenant.id, taskId, after, limit);
    const last = chunks[chunks.length - 1];
    return { chunks, next_after: last ? last.seq : after, status: task.status };
  }

  /** The newest output, at most `bytes` of it, and how many bytes before it were left out. */
  async recentOutput(
    tenant: Tenant,
    task: TaskRecord,
    bytes: number,
  ): Promise<{ text: string; omitted: number }> {
    const chunks = await this.repo.latestChunks(tenant.id, task.id, bytes);
    let text = chunks.map(renderChunk).join("");
    let shown = byteLength(text);
    if (shown > bytes) {
      const buf = Buffer.from(text, "utf8");
      text = buf
        .subarray(buf.length - bytes)
        .toString("utf8")
        .replace(/^\uFFFD+/, "");
      shown = byteLength(text);
    }
    return { text, omitted: Math.max(0, task.output_bytes - shown) };
  }

  /** A harness task's changes (SPEC §9); TaskNotFoundError for a task that has none. */
  async changes(tenant: Tenant, taskId: string): Promise<TaskChanges> {
    await this.get(tenant, taskId);
    const changes = await this.repo.getChanges(tenant.id, taskId);
    if (!changes) throw new ChangesNotFoundError(taskId);
    return changes;
  }

  /** The changes summary of a harness task, for its view (null: none, or not a harness agent). */
  async changesSummary(tenant: Tenant, task: TaskRecord): Promise<Omit<TaskChanges, "patch"> | null> {
    const agent = tenant.config.agents[task.agent];
    if (!agent || agentKind(agent) !== "harness") return null;
    return this.repo.changesSummary(tenant.id, task.id);
  }

  async stop(tenant: Tenant, taskId: string, parentId?: string): Promise<TaskRecord> {
    if (!isTaskId(taskId)) throw new TaskNotFoundError(taskId);
    if (parentId !== undefined) await this.get(tenant, taskId, parentId);
    const moved = await this.repo.transition(tenant.id, taskId, "stopped");
    if (!moved.moved) {
      if (!moved.current) throw new TaskNotFoundError(taskId);
      throw new TaskNotRunningError(taskId, moved.current.status);
    }
    this.metrics.count("TasksStopped");
    await this.stopExecution(tenant, taskId);
    await this.stopChildren(tenant, moved.task);
    return moved.task;
  }

  /** Stopping a parent stops every task it started that is still pending or running, and theirs. */
  private async stopChildren(tenant: Tenant, parent: TaskRecord): Promise<void> {
    if (!parent.children?.length) return;
    const children = await this.repo.getMany(tenant.id, parent.children);
    for (const child of children.values()) {
      if (isFinished(child.status)) continue;
      const moved = await this.repo.transition(tenant.id, child.id, "stopped", {
        error: "stopped with its parent task",
      });
      if (moved.moved) {
        await this.stopExecution(tenant, child.id);
        await this.stopChildren(tenant, moved.task);
      }
    }
  }

  private async stopExecution(tenant: Tenant, taskId: string): Promise<void> {
    // The stop is recorded: the running step notices it at its next flush. StopExecution ends the
    // execution itself; if it fails, the step still ends at its next flush.
    try {
      await this.executions.stop({ tenantId: tenant.id, taskId, cause: "stopped by the API" });
    } catch (err) {
      this.log.warn("StopExecution failed; the step will notice the stop at its next flush", {
        task_id: taskId,
        error: String(err),
      });
    }
  }

  async wait(
    tenant: Tenant,
    taskIds: string[],
    timeoutSeconds: number,
    signal?: AbortSignal,
    /** Called with the statuses after every poll (MCP progress notifications report them). */
    onPoll?: (statuses: ReadonlyMap<string, TaskStatus>) => void,
  ): Promise<WaitResult> {
    const malformed = taskIds.find((id) => !isTaskId(id));
    if (malformed !== undefined) throw new TaskNotFoundError(malformed);
    const deadline = Date.now() + timeoutSeconds * 1000;
    // Polls the statuses alone (small state items), then reads the tasks once, at the end.
    for (;;) {
      const statuses = await this.repo.statuses(tenant.id, taskIds);
      const missing = taskIds.find((id) => !statuses.has(id));
      if (missing) throw new TaskNotFoundError(missing);
      onPoll?.(statuses);
      const allDone = [...statuses.values()].every(isFinished);
      const timedOut = !allDone && (Date.now() >= deadline || Boolean(signal?.aborted));
      if (allDone || timedOut) {
        const found = await this.repo.getMany(tenant.id, taskIds);
        const tasks = taskIds.map((id) => found.get(id)).filter((t): t is TaskRecord => t !== undefined);
        // From the tasks as read last (one may have ended since its status was polled).
        const done = tasks.every((t) => isFinished(t.status));
        return { all_done: done, timed_out: !done, tasks: tasks.map(waitItem) };
      }
      await sleep(Math.min(this.options.waitPollMs, Math.max(0, deadline - Date.now())), signal);
    }
  }
}

function waitItem(task: TaskRecord): WaitResultItem {
  const result = task.result ?? null;
  const output = result === null ? null : headUtf8(result, RESULT_BYTES);
  return {
    task_id: task.id,
    status: task.status,
    done: isFinished(task.status),
    output,
    error: task.error,
    truncated: output !== null && result !== null && output.length < result.length,
  };
}

export function renderChunk(chunk: Chunk): string {
  switch (chunk.kind) {
    case "text":
      return chunk.text;
    case "tool_call":
      return `\n[tool call] ${chunk.text}\n`;
    case "tool_result":
      return `[tool result] ${chunk.text}\n`;
    case "status":
      return `\n${chunk.text}\n`;
  }
}

/** Waits `ms`, or less if the signal aborts; leaves no listener behind (a wait polls hundreds of times). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
