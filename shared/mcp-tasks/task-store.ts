import type { CreateTaskOptions, TaskStore } from "@modelcontextprotocol/sdk/experimental/tasks";
import {
  type CallToolResult,
  ErrorCode,
  McpError,
  type Task as McpTask,
  type Request,
  type RequestId,
} from "@modelcontextprotocol/sdk/types.js";
import { DomainError, TaskNotFoundError, TaskNotRunningError } from "../domain/errors.js";
import { isFinished, type TaskRecord, type TaskStatus, toPublicTask } from "../domain/task.js";
import type { Tenant } from "../tenants.js";
import { callTool, parseToolArgs } from "../tools/call-tool.js";
import { runText } from "../tools/texts.js";
import type { Logger, TaskService } from "../use-cases/task-service.js";

/** SPEC §11: our statuses as MCP task statuses. */
export const MCP_TASK_STATUS: Record<TaskStatus, McpTask["status"]> = {
  pending: "working",
  running: "working",
  completed: "completed",
  failed: "failed",
  stopped: "cancelled",
};

/** What `statusMessage` shows of a running task's last line of output, at most. */
const STATUS_LINE_CHARS = 200;
/** How much of the newest output is read to find its last line. */
const STATUS_TAIL_BYTES = 2048;
/** One page of `tasks/list`. */
export const MCP_LIST_PAGE = 50;

export interface TenantTaskStoreOptions {
  tenant: Tenant;
  caller: string;
  service: TaskService;
  log: Logger;
  /** Suggested time between two `tasks/get` of a working task, ms. */
  pollIntervalMs: number;
  /** Tasks in one page of `tasks/list` (default MCP_LIST_PAGE). */
  listPageSize?: number;
}

/**
 * The MCP SDK's TaskStore over our own tasks, for one authenticated tenant: the task state lives in
 * the table (the same use cases as the tools and REST), so a server built per request (the
 * stateless Lambda) sees every task, and nothing is kept in memory. Another tenant's task, or an ID
 * that is not a task, is "not found" (null), as the SDK's handlers expect.
 *
 * The MCP task ID is our task ID. Task creation is `run_background_agent`; results are written by
 * the task's own run, never through the store; cancelling is stopping.
 */
export class TenantTaskStore implements TaskStore {
  constructor(private readonly o: TenantTaskStoreOptions) {}

  /** Starts the background task of a task-augmented `tools/call` of run_background_agent. */
  async createTask(params: CreateTaskOptions, requestId: RequestId, request: Request): Promise<McpTask> {
    return (await this.startTask(params, requestId, request)).task;
  }

  /**
   * As createTask, with the text a plain call would have answered (`Background agent task started
   * with ID: …`), for the `model-immediate-response` a host may hand its model at once.
   */
  async startTask(
    _params: CreateTaskOptions,
    _requestId: RequestId,
    request: Request,
  ): Promise<{ task: McpTask; text: string }> {
    const params = request.params as { name?: unknown; arguments?: unknown } | undefined;
    if (params?.name !== "run_background_agent") {
      throw new McpError(ErrorCode.MethodNotFound, `tool ${String(params?.name)} cannot be called as a task`);
    }
    const args = parseToolArgs("run_background_agent", params.arguments ?? {});
    const { task } = await this.o.service.run({
      tenant: this.o.tenant,
      caller: this.o.caller,
      agent: args.agent,
      task: args.task,
      expected_output: args.expected_output,
    });
    return { task: this.toMcpTask(task, undefined), text: runText(toPublicTask(task)) };
  }

  async getTask(taskId: string): Promise<McpTask | null> {
    return this.guarded("tasks/get", async () => {
      const record = await this.find(taskId);
      return record ? this.toMcpTask(record, await this.statusMessage(record)) : null;
    });
  }

  /** The task's record, or null when this tenant has no such task. */
  async find(taskId: string): Promise<TaskRecord | null> {
    return this.guarded("task lookup", async () => {
      try {
        return await this.o.service.get(this.o.tenant, taskId);
      } catch (err) {
        if (err instanceof TaskNotFoundError) return null;
        throw err;
      }
    });
  }

  /**
   * Results are the task's own: its run writes them to the table as it ends. Nothing in this
   * server runs a task in process, so nothing may store a result here.
   */
  async storeTaskResult(taskId: string): Promise<void> {
    throw new McpError(
      ErrorCode.InvalidRequest,
      `the result of task ${taskId} is written by its run, not through the MCP server`,
    );
  }

  /**
   * The final CallToolResult of a finished task: the text of `view_background_agent` (its result,
   * or how it failed or what a stopped task kept), `isError` unless it completed.
   */
  async getTaskResult(taskId: string): Promise<CallToolResult> {
    const view = await this.guarded("tasks/result", () =>
      callTool(
        "view_background_agent",
        { task_id: taskId },
        { tenant: this.o.tenant, caller: this.o.caller, service: this.o.service },
      ),
    );
    if (view.isError) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
    const status = (view.structuredContent as { status?: TaskStatus }).status;
    return {
      content: view.content,
      structuredContent: view.structuredContent,
      isError: status !== "completed",
    };
  }

  /** `tasks/cancel` is a stop (SPEC §11); no other status can be set from outside. */
  async updateTaskStatus(taskId: string, status: McpTask["status"]): Promise<void> {
    if (status !== "cancelled") {
      throw new McpError(
        ErrorCode.InvalidRequest,
        `a task's status can only be set to cancelled, not ${status}`,
      );
    }
    try {
      await this.guarded("tasks/cancel", () => this.o.service.stop(this.o.tenant, taskId));
    } catch (err) {
      if (err instanceof TaskNotFoundError)
        throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
      if (err instanceof TaskNotRunningError) {
        const record = await this.find(taskId);
        const now = record ? MCP_TASK_STATUS[record.status] : "completed";
        throw new McpError(ErrorCode.InvalidParams, `Cannot cancel task in terminal status: ${now}`);
      }
      throw err;
    }
  }

  /** The tenant's tasks, newest first, a page at a time; the cursor is our list's cursor. */
  async listTasks(cursor?: string): Promise<{ tasks: McpTask[]; nextCursor?: string }> {
    let page: { tasks: TaskRecord[]; nextCursor: string | null };
    try {
      page = await this.o.service.list(this.o.tenant, {
        limit: this.o.listPageSize ?? MCP_LIST_PAGE,
        ...(cursor !== undefined ? { cursor } : {}),
      });
    } catch (err) {
      // A cursor that is not one of ours is bad input: -32602 with the list's own message.
      if (err instanceof DomainError) throw new McpError(ErrorCode.InvalidParams, err.message);
      this.o.log.error("tasks/list failed", { error: String(err) });
      throw new McpError(ErrorCode.InternalError, "internal error");
    }
    const tasks = await this.guarded("tasks/list", () =>
      Promise.all(page.tasks.map(async (t) => this.toMcpTask(t, await this.statusMessage(t)))),
    );
    return { tasks, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  }

  /**
   * Waits until the task has finished, at most `seconds` (or until `signal` aborts); true when it
   * has. The same wait as `wait_background_agents`.
   */
  async waitFinished(taskId: string, seconds: number, signal?: AbortSignal): Promise<boolean> {
    const result = await this.guarded("tasks/result", () =>
      this.o.service.wait(this.o.tenant, [taskId], seconds, signal),
    );
    return result.all_done;
  }

  /**
   * Runs one use case for the SDK's handlers: our domain errors and the protocol's own pass (their
   * messages are for clients); anything else is logged and becomes -32603 "internal error", so
   * no text from inside (a DynamoDB message) reaches a client.
   */
  private async guarded<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof McpError || err instanceof DomainError) throw err;
      this.o.log.error(`${what} failed`, { error: String(err) });
      throw new McpError(ErrorCode.InternalError, "internal error");
    }
  }

  /**
   * What a client sees besides the status: the last line of output while the task works, the
   * error of a failed one, why a stopped one stopped.
   */
  async statusMessage(record: TaskRecord): Promise<string | undefined> {
    switch (record.status) {
      case "completed":
        return undefined;
      case "failed":
        return record.error ?? "the task failed";
      case "stopped":
        return record.error ?? "the task was stopped";
      default: {
        if (record.output_bytes === 0) return record.status === "pending" ? "waiting to start" : undefined;
        const { text } = await this.o.service.recentOutput(this.o.tenant, record, STATUS_TAIL_BYTES);
        return lastLine(text);
      }
    }
  }

  toMcpTask(record: TaskRecord, statusMessage: string | undefined): McpTask {
    const status = MCP_TASK_STATUS[record.status];
    return {
      taskId: record.id,
      status,
      // Kept at least this long from creation: the retention starts when the task ends.
      ttl: this.o.tenant.limits.retention_days * 86_400_000,
      createdAt: record.created_at,
      lastUpdatedAt: record.ended_at ?? record.started_at ?? record.created_at,
      ...(isFinished(record.status) ? {} : { pollInterval: this.o.pollIntervalMs }),
      ...(statusMessage !== undefined ? { statusMessage } : {}),
    };
  }
}

/** The last line with text in it, trimmed and bounded. */
export function lastLine(text: string): string | undefined {
  const lines = text.split("\n").map((l) => l.trim());
  const last = lines.reverse().find((l) => l.length > 0);
  if (last === undefined) return undefined;
  return last.length > STATUS_LINE_CHARS ? `${last.slice(0, STATUS_LINE_CHARS - 1)}…` : last;
}
