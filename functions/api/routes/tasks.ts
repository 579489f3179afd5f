import { createHash } from "node:crypto";
import { streamSSE } from "hono/streaming";
import { isFinished, toPublicTask } from "../../../shared/domain/task.js";
import type { ApiDeps, ApiEnv } from "../context.js";
import { defineRoute, type OpenApiRoutes } from "../openapi.js";
import {
  ChangesObject,
  CreateTaskBody,
  ErrorSchema,
  errorResponses,
  IdempotencyHeaders,
  ListQuery,
  OutputPage,
  OutputQuery,
  TaskIdParam,
  TaskList,
  TaskObject,
} from "../schemas.js";

const security = [{ bearer: [] }];

const createTask = defineRoute({
  method: "post",
  path: "/v1/tasks",
  summary: "Start a background agent task",
  security,
  request: { body: { required: true, schema: CreateTaskBody }, headers: IdempotencyHeaders },
  responses: {
    201: { description: "Task started", schema: TaskObject },
    200: {
      description: "The task an earlier request with this Idempotency-Key started",
      schema: TaskObject,
    },
    ...errorResponses,
    403: { description: "Agent not in the caller's sub_agents", schema: ErrorSchema },
    409: { description: "Idempotency-Key reused with another body", schema: ErrorSchema },
    413: { description: "Task text over max_task_bytes", schema: ErrorSchema },
    429: { description: "Concurrency limit reached", schema: ErrorSchema },
  },
});

const listTasks = defineRoute({
  method: "get",
  path: "/v1/tasks",
  summary: "List tasks, newest first",
  security,
  request: { query: ListQuery },
  responses: { 200: { description: "A page of tasks", schema: TaskList }, ...errorResponses },
});

const getTask = defineRoute({
  method: "get",
  path: "/v1/tasks/{id}",
  summary: "Get a task",
  security,
  request: { params: TaskIdParam },
  responses: { 200: { description: "The task", schema: TaskObject }, ...errorResponses },
});

const getOutput = defineRoute({
  method: "get",
  path: "/v1/tasks/{id}/output",
  summary: "Read a task's output chunks after a sequence number",
  security,
  request: { params: TaskIdParam, query: OutputQuery },
  responses: { 200: { description: "A page of chunks", schema: OutputPage }, ...errorResponses },
});

const getEvents = defineRoute({
  method: "get",
  path: "/v1/tasks/{id}/events",
  summary: "Server-Sent Events: each chunk (id = seq) and each status change; honours Last-Event-ID",
  security,
  request: { params: TaskIdParam },
  responses: {
    200: {
      description: "An event stream (events `chunk` and `status`)",
      contentType: "text/event-stream",
      schema: { type: "string" },
    },
    ...errorResponses,
  },
});

const stopTask = defineRoute({
  method: "post",
  path: "/v1/tasks/{id}/stop",
  summary: "Stop a pending or running task",
  security,
  request: { params: TaskIdParam },
  responses: {
    200: { description: "The stopped task", schema: TaskObject },
    ...errorResponses,
    409: { description: "The task has already finished", schema: ErrorSchema },
  },
});

const getChanges = defineRoute({
  method: "get",
  path: "/v1/tasks/{id}/changes",
  summary: "A harness task's changes to its workspace: files and a patch `git apply` accepts",
  security,
  request: { params: TaskIdParam },
  responses: {
    200: { description: "The workspace's changes against its start", schema: ChangesObject },
    ...errorResponses,
    404: { description: "No such task, or a task without changes", schema: ErrorSchema },
  },
});

/** How long an SSE stream may stay silent before it sends a keepalive comment. */
export const SSE_KEEPALIVE_MS = 15_000;

function bodyHash(body: unknown): string {
  return createHash("sha256").update(JSON.stringify(body)).digest("hex");
}

export function tasksRoutes(routes: OpenApiRoutes<ApiEnv>, deps: ApiDeps): void {
  const { service } = deps;

  routes.route(createTask, async (c, input) => {
    const body = input.json;
    const key = input.header["idempotency-key"];
    const { task, created } = await service.run({
      tenant: c.get("tenant"),
      caller: c.get("caller"),
      agent: body.agent,
      task: body.task,
      expected_output: body.expected_output,
      metadata: body.metadata,
      idempotency: key
        ? {
            key: createHash("sha256").update(key).digest("hex"),
            bodyHash: bodyHash({ ...body, caller: c.get("caller") }),
          }
        : undefined,
    });
    return c.json(toPublicTask(task), created ? 201 : 200);
  });

  routes.route(listTasks, async (c, input) => {
    const q = input.query;
    const page = await service.list(c.get("tenant"), {
      limit: q.limit,
      ...(q.status ? { status: q.status } : {}),
      ...(q.agent ? { agent: q.agent } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    return c.json({ tasks: page.tasks.map(toPublicTask), next_cursor: page.nextCursor }, 200);
  });

  routes.route(getTask, async (c, input) => {
    const task = await service.get(c.get("tenant"), input.param.id);
    return c.json(toPublicTask(task), 200);
  });

  routes.route(getOutput, async (c, input) => {
    const { after, limit } = input.query;
    const page = await service.output(c.get("tenant"), input.param.id, after, limit);
    return c.json(page, 200);
  });

  routes.route(getChanges, async (c, input) => {
    const changes = await service.changes(c.get("tenant"), input.param.id);
    return c.json(changes, 200);
  });

  routes.route(stopTask, async (c, input) => {
    const task = await service.stop(c.get("tenant"), input.param.id);
    return c.json(toPublicTask(task), 200);
  });

  routes.route(getEvents, async (c, input) => {
    const tenant = c.get("tenant");
    const id = input.param.id;
    const first = await service.get(tenant, id); // 404 before the stream starts
    const lastEventId = Number.parseInt(c.req.header("last-event-id") ?? "0", 10);
    let after = Number.isFinite(lastEventId) && lastEventId > 0 ? lastEventId : 0;
    return streamSSE(
      c,
      async (stream) => {
        let aborted = false;
        stream.onAbort(() => {
          aborted = true;
        });
        let status = first.status;
        await stream.writeSSE({
          event: "status",
          data: JSON.stringify({ status, task: toPublicTask(first) }),
        });
        let lastWrite = Date.now();
        while (!aborted) {
          const page = await service.output(tenant, id, after, 500);
          if (page.chunks.length > 0 || page.status !== status) lastWrite = Date.now();
          for (const chunk of page.chunks) {
            await stream.writeSSE({ id: String(chunk.seq), event: "chunk", data: JSON.stringify(chunk) });
            after = chunk.seq;
          }
          if (page.status !== status) {
            status = page.status;
            const task = await service.get(tenant, id);
            await stream.writeSSE({
              event: "status",
              data: JSON.stringify({ status, task: toPublicTask(task) }),
            });
          }
          // The status was read before the chunks: finished + an empty page means nothing more comes.
          if (isFinished(page.status) && page.chunks.length === 0) break;
          // A comment line keeps proxies (CloudFront closes a response silent for 120 s) from cutting a quiet stream.
          if (Date.now() - lastWrite >= (deps.sseKeepaliveMs ?? SSE_KEEPALIVE_MS)) {
            await stream.write(": keepalive\n\n");
            lastWrite = Date.now();
          }
          if (page.chunks.length < 500) await stream.sleep(deps.ssePollMs);
        }
      },
      async (err) => {
        deps.log.error("SSE stream ended by an error", { task_id: id, error: String(err) });
      },
    );
  });
}
