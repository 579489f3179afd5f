import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  CallToolRequestSchema,
  ErrorCode,
  GetTaskPayloadRequestSchema,
  ListTasksRequestSchema,
  ListToolsRequestSchema,
  McpError,
  RELATED_TASK_META_KEY,
} from "@modelcontextprotocol/sdk/types.js";
import { DomainError, NotFoundError } from "../../shared/domain/errors.js";
import { isFinished, type TaskStatus } from "../../shared/domain/task.js";
import { DEFAULT_PROGRESS_INTERVAL_MS, startProgress } from "../../shared/mcp-tasks/progress.js";
import { MCP_LIST_PAGE, TenantTaskStore } from "../../shared/mcp-tasks/task-store.js";
import type { Tenant } from "../../shared/tenants.js";
import { callTool, toolError } from "../../shared/tools/call-tool.js";
import {
  DEFAULT_WAIT_SECONDS,
  isToolName,
  MAX_WAIT_SECONDS,
  taskSupport,
  toolDefinitions,
} from "../../shared/tools/definitions.js";
import type { ApiDeps } from "./context.js";

/** Knobs of MCP Tasks and progress; the defaults are the service's (tests shorten them). */
export interface McpOptions {
  /** Time between two progress notifications of a wait, ms. */
  progressIntervalMs?: number;
  /** The longest a `tasks/result` blocks before it answers "still running", s. */
  resultWaitSeconds?: number;
  /** The `pollInterval` suggested to clients for `tasks/get`, ms. */
  taskPollIntervalMs?: number;
  /** Tasks in one page of `tasks/list`. */
  listPageSize?: number;
}

/** The `_meta` key of CreateTaskResult for the text a host may pass to its model at once. */
const MODEL_IMMEDIATE_RESPONSE = "io.modelcontextprotocol/model-immediate-response";

/** As long as the longest `wait_background_agents`: what the API Lambda's time-out leaves room for. */
const RESULT_WAIT_SECONDS = MAX_WAIT_SECONDS;
const TASK_POLL_INTERVAL_MS = 2000;

/**
 * One MCP request, stateless: a new server and transport for it. Loaded on the first MCP request
 * (routes/mcp.ts imports it dynamically), so the REST API and the tool gateway never load the MCP
 * SDK.
 *
 * MCP Tasks (SPEC §11) use the SDK's own task handlers over a TaskStore of the tenant's tasks in
 * the table (shared/mcp-tasks/task-store.ts), so any Lambda answers for any task. The response is
 * JSON, except for a request that waits and may report progress (one with a progress token, or a
 * `tasks/result`): that one is an SSE stream, carrying its progress notifications and the SDK's
 * keep-alive comments, then its response.
 */
export async function serveMcp(
  httpRequest: Request,
  body: unknown,
  who: { tenant: Tenant; caller: string },
  deps: ApiDeps,
  options: McpOptions = {},
): Promise<Response> {
  const { tenant, caller } = who;
  const progressIntervalMs = options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  const store = new TenantTaskStore({
    tenant,
    caller,
    service: deps.service,
    log: deps.log,
    pollIntervalMs: options.taskPollIntervalMs ?? TASK_POLL_INTERVAL_MS,
    listPageSize: options.listPageSize ?? MCP_LIST_PAGE,
  });
  const server = new Server(
    { name: "background-agents-cloud", version: deps.version },
    {
      capabilities: {
        tools: {},
        tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
      },
      taskStore: store,
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: toolDefinitions().map((t) => ({
      name: t.name,
      description: t.description,
      inputSchema: t.input_schema as { type: "object"; [k: string]: unknown },
      ...(taskSupport(t.name) === "optional" ? { execution: { taskSupport: "optional" as const } } : {}),
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const name = request.params.name;
    if (request.params.task) {
      // A task-augmented call: the background task starts and the MCP task comes back at once.
      if (!isToolName(name) || taskSupport(name) !== "optional") {
        throw new McpError(ErrorCode.MethodNotFound, `tool ${name} cannot be called as a task`);
      }
      try {
        const { task, text } = await store.startTask({}, extra.requestId, request);
        // What a host may hand its model at once while the task works (MCP Tasks, non-binding).
        return { task, _meta: { [MODEL_IMMEDIATE_RESPONSE]: text } };
      } catch (err) {
        if (err instanceof DomainError) throw new McpError(ErrorCode.InvalidParams, err.message);
        if (err instanceof McpError) throw err;
        deps.log.error("task-augmented tool call failed", { tool: name, error: String(err) });
        throw new Error("internal error");
      }
    }
    if (!isToolName(name)) return toolError(new NotFoundError(`unknown tool: ${name}`));
    let latest: ReadonlyMap<string, TaskStatus> | undefined;
    const stopProgress =
      name === "wait_background_agents"
        ? startProgress(
            extra,
            { intervalMs: progressIntervalMs, totalSeconds: waitSeconds(request.params.arguments) },
            () => waitMessage(latest),
          )
        : () => {};
    try {
      return await callTool(name, request.params.arguments ?? {}, {
        tenant,
        caller,
        service: deps.service,
        signal: extra.signal,
        onWaitPoll: (statuses) => {
          latest = statuses;
        },
      });
    } catch (err) {
      if (err instanceof DomainError) return toolError(err);
      deps.log.error("tool call failed", { tool: name, error: String(err) });
      throw new Error("internal error");
    } finally {
      stopProgress();
    }
  });
  // tasks/list: the SDK's own handler answers every failure as -32602; this one keeps -32603 for
  // an internal error (a bad cursor is still -32602).
  server.setRequestHandler(ListTasksRequestSchema, async (request) => {
    const { tasks, nextCursor } = await store.listTasks(request.params?.cursor);
    return { tasks, ...(nextCursor !== undefined ? { nextCursor } : {}) };
  });
  // tasks/result: the SDK's own handler polls the store with no bound and reports nothing while
  // it waits; this one waits in the table as `wait_background_agents` does, sends progress, and
  // gives up at the bound with an error that says to ask again.
  server.setRequestHandler(GetTaskPayloadRequestSchema, async (request, extra) => {
    const taskId = request.params.taskId;
    const found = await store.find(taskId);
    if (!found) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
    const seconds = options.resultWaitSeconds ?? RESULT_WAIT_SECONDS;
    let done = isFinished(found.status);
    if (!done) {
      const stopProgress = startProgress(
        extra,
        { intervalMs: progressIntervalMs, totalSeconds: seconds },
        async () => (await store.getTask(taskId))?.statusMessage,
      );
      try {
        done = await store.waitFinished(taskId, seconds, extra.signal);
      } finally {
        stopProgress();
      }
    }
    if (!done) {
      throw new McpError(
        ErrorCode.RequestTimeout,
        `task ${taskId} is still running after ${seconds} s: call tasks/result again, or poll tasks/get`,
      );
    }
    const result = await store.getTaskResult(taskId);
    return { ...result, _meta: { [RELATED_TASK_META_KEY]: { taskId } } };
  });

  const streams = mayStream(body);
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: !streams,
  });
  await server.connect(transport);
  let response: Response;
  try {
    response = await transport.handleRequest(
      httpRequest,
      body === undefined ? undefined : { parsedBody: body },
    );
  } catch (err) {
    void server.close();
    throw err;
  }
  if (!streams || !response.body) {
    void server.close();
    return response;
  }
  return closingWhenDone(response, () => void server.close());
}

/** The most a wait lasts, as its arguments ask (they are checked when the tool runs). */
function waitSeconds(args: Record<string, unknown> | undefined): number {
  const timeout = args?.timeout;
  return typeof timeout === "number" && timeout >= 0 && timeout <= MAX_WAIT_SECONDS
    ? timeout
    : DEFAULT_WAIT_SECONDS;
}

/** "2 of 3 tasks done", from the statuses the wait read last. */
function waitMessage(statuses: ReadonlyMap<string, TaskStatus> | undefined): string | undefined {
  if (!statuses) return undefined;
  const done = [...statuses.values()].filter(isFinished).length;
  return `${done} of ${statuses.size} tasks done`;
}

/**
 * Whether a request may wait and report progress (then it is answered with an SSE stream): a
 * `tasks/result`, or any request with a progress token.
 */
function mayStream(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => {
    if (typeof m !== "object" || m === null) return false;
    const { method, params } = m as { method?: unknown; params?: { _meta?: { progressToken?: unknown } } };
    return method === "tasks/result" || params?._meta?.progressToken !== undefined;
  });
}

/**
 * The SSE response, passed through as it is written; `close` runs when it ends or the client goes
 * away (the server then aborts what still waits, and a Lambda stops waiting for nobody).
 */
function closingWhenDone(response: Response, close: () => void): Response {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        close();
      } else {
        controller.enqueue(value);
      }
    },
    async cancel(reason) {
      close();
      await reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, headers: response.headers });
}
