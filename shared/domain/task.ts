import { randomBytes } from "node:crypto";
import * as z from "zod";
import { headUtf8 } from "./chunk.js";

/** Every status a task can have. `pending` → `running` → one of the three finished ones. */
export const TASK_STATUSES = ["pending", "running", "completed", "failed", "stopped"] as const;
export const TaskStatusSchema = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof TaskStatusSchema>;

export const FINISHED_STATUSES: readonly TaskStatus[] = ["completed", "failed", "stopped"];
export const ACTIVE_STATUSES: readonly TaskStatus[] = ["pending", "running"];

/** Allowed moves. A finished status never changes again. */
const TRANSITIONS: Record<TaskStatus, readonly TaskStatus[]> = {
  pending: ["running", "failed", "stopped"],
  running: ["completed", "failed", "stopped"],
  completed: [],
  failed: [],
  stopped: [],
};

export function isFinished(status: TaskStatus): boolean {
  return FINISHED_STATUSES.includes(status);
}

/** The statuses a task may be in for a move to `to` to be allowed. */
export function allowedSources(to: TaskStatus): TaskStatus[] {
  return TASK_STATUSES.filter((from) => TRANSITIONS[from].includes(to));
}

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Output is written only while a task runs: every flush is conditional on this status. */
export const WRITING_STATUS: TaskStatus = "running";

/**
 * A status move as the domain defines it; the repository only persists it (one conditional
 * write, guarded by `from`). Every status change of a task is one of these.
 */
export interface StatusMove {
  to: TaskStatus;
  /** The statuses the task may be in for the move to happen. */
  from: readonly TaskStatus[];
  /** The run begins: records started_at. */
  starts: boolean;
  /** The task ends: records ended_at and its runtime, frees its slot, starts its retention. */
  ends: boolean;
}

/** A move to `to` from any status that allows it (stop, fail, start). */
export function statusMove(to: TaskStatus): StatusMove {
  return { to, from: allowedSources(to), starts: to === "running", ends: isFinished(to) };
}

/** The move that ends a running task together with its last output (a runner's final flush). */
export function finishingMove(to: "completed" | "failed"): StatusMove {
  return { ...statusMove(to), from: [WRITING_STATUS] };
}

export const TASK_ID_PREFIX = "agent_task_";
/** `agent_task_` + 128 random bits, base64url (22 characters). */
export const TaskIdSchema = z.string().regex(/^agent_task_[A-Za-z0-9_-]{22}$/, "not a task ID");

export function newTaskId(): string {
  return TASK_ID_PREFIX + randomBytes(16).toString("base64url");
}

export const UsageSchema = z.object({
  input_tokens: z.number().int().nonnegative(),
  output_tokens: z.number().int().nonnegative(),
  model_calls: z.number().int().nonnegative(),
  tool_calls: z.number().int().nonnegative(),
});
export type Usage = z.infer<typeof UsageSchema>;

export function emptyUsage(): Usage {
  return { input_tokens: 0, output_tokens: 0, model_calls: 0, tool_calls: 0 };
}

export function addUsage(a: Usage, b: Partial<Usage>): Usage {
  return {
    input_tokens: a.input_tokens + (b.input_tokens ?? 0),
    output_tokens: a.output_tokens + (b.output_tokens ?? 0),
    model_calls: a.model_calls + (b.model_calls ?? 0),
    tool_calls: a.tool_calls + (b.tool_calls ?? 0),
  };
}

/**
 * A record read from JSON. A `__proto__` key would set the object's prototype instead of a key,
 * and zod's record drops it without a word: it is refused, by name.
 */
export function plainRecord<K extends z.core.$ZodRecordKey, V extends z.ZodType>(key: K, value: V) {
  return z.preprocess(
    (input, ctx) => {
      if (typeof input === "object" && input !== null && Object.hasOwn(input, "__proto__"))
        ctx.addIssue({ code: "custom", message: "__proto__ is not allowed as a name", input });
      return input;
    },
    z.record(key, value),
  );
}

export const MetadataSchema = plainRecord(z.string().min(1).max(128), z.string().max(1024)).refine(
  (m) => Object.keys(m).length <= 16,
  "at most 16 metadata pairs",
);

/** The task as clients see it (SPEC §5). */
export const TaskSchema = z.object({
  id: z.string(),
  agent: z.string(),
  caller: z.string(),
  task: z.string(),
  expected_output: z.string().nullable(),
  status: TaskStatusSchema,
  created_at: z.string(),
  started_at: z.string().nullable(),
  ended_at: z.string().nullable(),
  runtime_ms: z.number().int().nullable(),
  result: z.string().nullable(),
  error: z.string().nullable(),
  usage: UsageSchema,
  output_bytes: z.number().int(),
  last_seq: z.number().int(),
  metadata: z.record(z.string(), z.string()),
});
export type Task = z.infer<typeof TaskSchema>;

/** A task as stored: the public object plus what only the service needs. */
export const TaskRecordSchema = TaskSchema.extend({
  tenant_id: z.string(),
  /** Nesting depth: 0 for a task started by a tenant's own orchestrator. */
  depth: z.number().int(),
  /** Task that started this one, when a sub-agent dispatched it. */
  parent_id: z.string().nullable(),
  /** Tasks this one started (nested dispatch), oldest first. */
  children: z.array(z.string()).optional(),
});
export type TaskRecord = z.infer<typeof TaskRecordSchema>;

/** The most of an error text a task keeps: errors come from models and MCP servers, of any size. */
export const MAX_ERROR_BYTES = 4096;

/** An error text as stored: at most MAX_ERROR_BYTES of UTF-8, cut at a character boundary. */
export function boundedError(text: string): string {
  if (Buffer.byteLength(text) <= MAX_ERROR_BYTES) return text;
  const marker = " … [error cut]";
  return headUtf8(text, MAX_ERROR_BYTES - Buffer.byteLength(marker)) + marker;
}

/** Nesting limit of background agents starting background agents (SPEC §6). */
export const MAX_DEPTH = 3;

/** A new task as accepted: pending, no output, no usage yet. */
export function newTaskRecord(input: {
  tenant_id: string;
  agent: string;
  caller: string;
  task: string;
  expected_output?: string | null | undefined;
  metadata?: Record<string, string> | undefined;
  parent?: { id: string; depth: number } | undefined;
  created_at?: string;
}): TaskRecord {
  return {
    id: newTaskId(),
    tenant_id: input.tenant_id,
    agent: input.agent,
    caller: input.caller,
    task: input.task,
    expected_output: input.expected_output ?? null,
    status: "pending",
    created_at: input.created_at ?? new Date().toISOString(),
    started_at: null,
    ended_at: null,
    runtime_ms: null,
    result: null,
    error: null,
    usage: emptyUsage(),
    output_bytes: 0,
    last_seq: 0,
    metadata: input.metadata ?? {},
    depth: input.parent ? input.parent.depth + 1 : 0,
    parent_id: input.parent?.id ?? null,
  };
}

/** Runtime so far (running) or in total (finished), in milliseconds. */
export function runtimeMs(task: Task, now: Date = new Date()): number {
  if (task.runtime_ms !== null) return task.runtime_ms;
  const start = Date.parse(task.started_at ?? task.created_at);
  return Math.max(0, now.getTime() - start);
}

export function toPublicTask(record: TaskRecord): Task {
  return TaskSchema.parse(record);
}
