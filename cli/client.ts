import { ToolError, UnexpectedResponseError } from "./errors.js";
import { HttpClient, type HttpOptions } from "./http.js";
import {
  CallToolResultSchema,
  ChangesSchema,
  OutputPageSchema,
  TaskListSchema,
  TaskSchema,
  type WaitResult,
  WaitResultSchema,
} from "./schemas.js";

export interface CreateTaskInput {
  agent: string;
  task: string;
  expected_output?: string;
  metadata?: Record<string, string>;
}

export interface ListQuery {
  status?: string | undefined;
  agent?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

const taskPath = (id: string) => `/v1/tasks/${encodeURIComponent(id)}`;

/** The tenant's REST API (SPEC §4): tasks, their output and events, and the tool gateway. */
export class TasksClient {
  readonly http: HttpClient;

  constructor(options: HttpOptions) {
    this.http = new HttpClient(options);
  }

  get endpoint(): string {
    return this.http.endpoint;
  }

  /** POST /v1/tasks. `created` is false when an earlier request with the same Idempotency-Key made it. */
  async createTask(input: CreateTaskInput, idempotencyKey?: string) {
    const { data, status } = await this.http.json("POST", "/v1/tasks", TaskSchema, {
      body: input,
      ...(idempotencyKey ? { headers: { "idempotency-key": idempotencyKey } } : {}),
    });
    return { task: data, created: status === 201 };
  }

  async listTasks(query: ListQuery = {}) {
    return (await this.http.json("GET", "/v1/tasks", TaskListSchema, { query: { ...query } })).data;
  }

  async getTask(id: string) {
    return (await this.http.json("GET", taskPath(id), TaskSchema)).data;
  }

  async getOutput(id: string, after: number, limit: number) {
    return (
      await this.http.json("GET", `${taskPath(id)}/output`, OutputPageSchema, { query: { after, limit } })
    ).data;
  }

  /** GET /v1/tasks/{id}/changes: a harness task's files and patch (404 when it has none). */
  async getChanges(id: string) {
    return (await this.http.json("GET", `${taskPath(id)}/changes`, ChangesSchema)).data;
  }

  async stopTask(id: string) {
    return (await this.http.json("POST", `${taskPath(id)}/stop`, TaskSchema)).data;
  }

  /** GET /v1/tasks/{id}/events: the open event stream (the caller reads and parses the body). */
  openEvents(id: string, lastEventId: string | undefined, signal?: AbortSignal): Promise<Response> {
    return this.http.send("GET", `${taskPath(id)}/events`, {
      headers: { accept: "text/event-stream", ...(lastEventId ? { "last-event-id": lastEventId } : {}) },
      ...(signal ? { signal } : {}),
    });
  }

  /** POST /v1/tools/{name}: the CallToolResult's text; a tool error (`isError`) is thrown as ToolError. */
  async callTool(name: string, args: Record<string, unknown>): Promise<string> {
    const { data } = await this.http.json(
      "POST",
      `/v1/tools/${encodeURIComponent(name)}`,
      CallToolResultSchema,
      {
        body: args,
      },
    );
    const text = data.content.map((c) => c.text).join("");
    if (data.isError) throw new ToolError(text);
    return text;
  }

  /** wait_background_agents through the tool gateway; its JSON text parsed and checked. */
  async wait(taskIds: string[], timeoutSeconds: number): Promise<WaitResult> {
    const text = await this.callTool("wait_background_agents", {
      task_ids: taskIds,
      timeout: timeoutSeconds,
    });
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new UnexpectedResponseError("wait_background_agents returned text that is not JSON");
    }
    const parsed = WaitResultSchema.safeParse(body);
    if (!parsed.success)
      throw new UnexpectedResponseError("wait_background_agents returned an unexpected shape");
    return parsed.data;
  }
}
