import * as z from "zod";
import { headUtf8 } from "../domain/chunk.js";
import { DomainError, InvalidArgumentsError, TaskNotFoundError } from "../domain/errors.js";
import { isFinished, MAX_DEPTH, type TaskStatus, toPublicTask } from "../domain/task.js";
import type { Tenant } from "../tenants.js";
import { RESULT_BYTES, type TaskService, VIEW_OUTPUT_BYTES } from "../use-cases/task-service.js";
import { DEFAULT_WAIT_SECONDS, TOOL_SPECS, type ToolName } from "./definitions.js";
import { changesLine, listText, runText, stopText, viewText } from "./texts.js";

/** An MCP CallToolResult. */
export interface ToolResult {
  [key: string]: unknown;
  content: { type: "text"; text: string }[];
  isError: boolean;
  structuredContent: Record<string, unknown>;
}

export interface ToolContext {
  tenant: Tenant;
  caller: string;
  service: TaskService;
  signal?: AbortSignal;
  /**
   * Set when a sub-agent uses the tools (nested dispatch): what it starts is its child, and it
   * sees, waits for and stops only its own children.
   */
  parent?: { id: string; depth: number };
  /** Caps `wait` (a sub-agent's step has a time budget). */
  maxWaitSeconds?: number;
  /** Told the statuses after every poll of `wait` (MCP progress notifications report them). */
  onWaitPoll?: (statuses: ReadonlyMap<string, TaskStatus>) => void;
}

export class NestingLimitError extends DomainError {
  readonly code = "agent_not_allowed";
  readonly httpStatus = 403;
  constructor() {
    super(
      `maximum nesting depth (${MAX_DEPTH}) reached: a background agent at this depth cannot start another`,
    );
  }
}

const LIST_TOOL_LIMIT = 50;

function ok(text: string, structured: Record<string, unknown>): ToolResult {
  return { content: [{ type: "text", text }], isError: false, structuredContent: structured };
}

export function toolError(err: DomainError): ToolResult {
  return {
    content: [{ type: "text", text: err.message }],
    isError: true,
    structuredContent: { error: { code: err.code, message: err.message } },
  };
}

/** Checks arguments against a tool's schema; a misfit is InvalidArgumentsError with every problem. */
export function parseToolArgs<N extends ToolName>(
  name: N,
  args: unknown,
): z.infer<(typeof TOOL_SPECS)[N]["schema"]> {
  // Each name's schema yields that name's argument type; TypeScript cannot follow the index itself.
  const schema = TOOL_SPECS[name].schema as unknown as z.ZodType<z.infer<(typeof TOOL_SPECS)[N]["schema"]>>;
  const parsed = schema.safeParse(args ?? {});
  if (!parsed.success) {
    throw new InvalidArgumentsError(`invalid arguments for ${name}:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** Runs one tool. Domain errors become tool results with isError: true; anything else is thrown. */
export async function callTool(name: ToolName, rawArgs: unknown, ctx: ToolContext): Promise<ToolResult> {
  try {
    return await dispatch(name, rawArgs, ctx);
  } catch (err) {
    if (err instanceof DomainError) return toolError(err);
    throw err;
  }
}

async function dispatch(name: ToolName, rawArgs: unknown, ctx: ToolContext): Promise<ToolResult> {
  const { tenant, service } = ctx;
  switch (name) {
    case "run_background_agent": {
      const args = parseToolArgs(name, rawArgs);
      if (ctx.parent && ctx.parent.depth + 1 > MAX_DEPTH) throw new NestingLimitError();
      const { task } = await service.run({
        tenant,
        caller: ctx.caller,
        agent: args.agent,
        task: args.task,
        expected_output: args.expected_output,
        parent: ctx.parent,
      });
      const pub = toPublicTask(task);
      return ok(runText(pub), pub);
    }
    case "list_background_agents": {
      parseToolArgs(name, rawArgs);
      if (ctx.parent) {
        const tasks = (await service.children(tenant, ctx.parent.id)).map(toPublicTask);
        return ok(listText(tasks, false), { tasks });
      }
      const page = await service.list(tenant, { limit: LIST_TOOL_LIMIT });
      const tasks = page.tasks.map(toPublicTask);
      return ok(listText(tasks, page.nextCursor !== null), { tasks });
    }
    case "view_background_agent": {
      const args = parseToolArgs(name, rawArgs);
      const record = await service.get(tenant, args.task_id, ctx.parent?.id);
      const task = toPublicTask(record);
      const children = record.children?.length
        ? (await service.children(tenant, record.id)).map((c) => ({
            id: c.id,
            agent: c.agent,
            status: c.status,
          }))
        : [];
      const structured = children.length ? { ...task, children } : task;
      // A harness task's changes, once it has ended (they are kept at its end).
      const summary = isFinished(task.status) ? await service.changesSummary(tenant, record) : null;
      const changes = summary ? changesLine(summary) : "";
      const extra = changes ? { changes } : {};
      if (task.status === "completed") {
        const full = task.result ?? "";
        const text = headUtf8(full, RESULT_BYTES);
        const omitted = Buffer.byteLength(full) - Buffer.byteLength(text);
        return ok(viewText(task, { result: { text, omitted }, children, ...extra }), structured);
      }
      if (task.status === "failed") return ok(viewText(task, { children, ...extra }), structured);
      // Running, pending, and stopped: the output so far (what a stopped task kept), bounded.
      const recent = await service.recentOutput(tenant, record, VIEW_OUTPUT_BYTES);
      return ok(viewText(task, { recent, children, ...extra }), structured);
    }
    case "stop_background_agent": {
      const args = parseToolArgs(name, rawArgs);
      const task = toPublicTask(await service.stop(tenant, args.task_id, ctx.parent?.id));
      return ok(stopText(task.id), task);
    }
    case "wait_background_agents": {
      const args = parseToolArgs(name, rawArgs);
      // A sub-agent waits only on its own children: any other ID is answered like a missing one.
      if (ctx.parent) await assertOwnChildren(service, tenant, ctx.parent.id, args.task_ids);
      // A sub-agent's wait blocks at most for what is left of its step's budget (and task time).
      const timeout = Math.min(
        args.timeout ?? DEFAULT_WAIT_SECONDS,
        ctx.maxWaitSeconds ?? Number.POSITIVE_INFINITY,
      );
      const result = await service.wait(
        tenant,
        args.task_ids,
        Math.max(0, timeout),
        ctx.signal,
        ctx.onWaitPoll,
      );
      return ok(JSON.stringify(result), { ...result });
    }
  }
}

/**
 * Refuses, as `task not found`, the first ID that is not a task `parentId` started: a sub-agent
 * waits only on its own children, as it views and stops only them.
 */
async function assertOwnChildren(
  service: TaskService,
  tenant: Tenant,
  parentId: string,
  taskIds: readonly string[],
): Promise<void> {
  // The parent's own list of the tasks it started (one read, whatever the number of children).
  const parent = await service.get(tenant, parentId).catch((err: unknown) => {
    if (err instanceof TaskNotFoundError) return null;
    throw err;
  });
  const own = new Set(parent?.children ?? []);
  const other = taskIds.find((id) => !own.has(id));
  if (other !== undefined) throw new TaskNotFoundError(other);
}
