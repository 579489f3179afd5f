import type { Chunk, NewChunk } from "./domain/chunk.js";
import type { TaskRecord, TaskStatus, Usage } from "./domain/task.js";

/** What a runner step hands to the store at a flush: new chunks and counters, all or nothing. */
export interface FlushInput {
  tenantId: string;
  taskId: string;
  /** `last_seq` the writer believes is stored; the write fails if another writer moved it. */
  expectedLastSeq: number;
  chunks: NewChunk[];
  addOutputBytes: number;
  usage: Usage;
  /** Set with a checkpoint: the conversation after the last finished turn. */
  checkpoint?: Checkpoint;
  /** When the chunks (and checkpoint) of this write expire (DynamoDB TTL, epoch seconds). */
  chunkExpiresAt?: number;
  /** Set to end the task in the same write. */
  finish?: { status: "completed" | "failed"; result?: string | null; error?: string | null };
}

export type FlushOutcome =
  | { ok: true; lastSeq: number }
  /** The task is no longer `running` (stopped, failed by someone else): stop working. */
  | { ok: false; reason: "not_running"; status: TaskStatus }
  /** Another writer advanced the output: this step is stale. */
  | { ok: false; reason: "superseded" };

export interface Checkpoint {
  /** Conversation messages (provider-neutral, OpenAI chat shape). */
  messages: ConversationMessage[];
  turns: number;
  /** `last_seq` at the moment of the checkpoint. */
  lastSeq: number;
}

export type ConversationMessage =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string | null; tool_calls?: ToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text of the arguments, as the model produced it. */
  arguments: string;
}

export interface NewTask {
  record: TaskRecord;
  maxRunningTasks: number;
  idempotency?: { key: string; bodyHash: string };
  /** How long the task is kept after it ends (the tenant's retention_days at creation). */
  retentionSeconds?: number;
}

export interface ListQuery {
  status?: TaskStatus;
  agent?: string;
  limit: number;
  cursor?: string;
}

export interface TaskRepository {
  /** Writes a new pending task and takes a concurrency slot, atomically. */
  create(input: NewTask): Promise<TaskRecord>;
  /** Finds the task an Idempotency-Key created, with the body hash it was created with. */
  findByIdempotencyKey(tenantId: string, key: string): Promise<{ task: TaskRecord; bodyHash: string } | null>;
  get(tenantId: string, taskId: string, consistent?: boolean): Promise<TaskRecord | null>;
  getMany(tenantId: string, taskIds: string[]): Promise<Map<string, TaskRecord>>;
  list(tenantId: string, query: ListQuery): Promise<{ tasks: TaskRecord[]; nextCursor: string | null }>;
  /**
   * Moves a task to `to` if its status allows it (conditional write). A move to a finished
   * status frees the tenant's slot in the same transaction. Returns the task after the move,
   * or null when the move was not allowed (the current record is then in `current`).
   */
  transition(
    tenantId: string,
    taskId: string,
    to: TaskStatus,
    fields?: { error?: string; result?: string },
  ): Promise<{ moved: true; task: TaskRecord } | { moved: false; current: TaskRecord | null }>;
  flush(input: FlushInput): Promise<FlushOutcome>;
  /** Records that `childId` was started by `parentId` (nested dispatch). */
  addChild(tenantId: string, parentId: string, childId: string): Promise<void>;
  getCheckpoint(tenantId: string, taskId: string): Promise<Checkpoint | null>;
  /** Chunks with seq > after, oldest first; reads only what it returns. */
  chunksAfter(tenantId: string, taskId: string, after: number, limit: number): Promise<Chunk[]>;
  /** The newest chunks whose text adds up to at least `bytes` (or all), oldest first. */
  latestChunks(tenantId: string, taskId: string, bytes: number): Promise<Chunk[]>;
  /** Tasks in a status across one tenant (used to resume work after a restart). */
  listByStatus(tenantId: string, status: TaskStatus, limit: number): Promise<TaskRecord[]>;
  runningCount(tenantId: string): Promise<number>;
}

/** Starts and stops the workflow execution behind a task (Step Functions or the local runner). */
export interface Executions {
  start(input: { tenantId: string; taskId: string }): Promise<void>;
  stop(input: { tenantId: string; taskId: string; cause: string }): Promise<void>;
}

export interface ModelTurnRequest {
  messages: ConversationMessage[];
  tools: ToolDefinitionForModel[];
  signal: AbortSignal;
  onText: (delta: string) => void;
}

export interface ModelTurnResult {
  text: string;
  toolCalls: ToolCall[];
  usage: { input_tokens: number; output_tokens: number };
}

export interface ToolDefinitionForModel {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** One model provider (OpenAI-compatible, Anthropic, Bedrock): one streamed turn at a time. */
export interface ModelClient {
  turn(request: ModelTurnRequest): Promise<ModelTurnResult>;
}

export type Clock = () => Date;

/** Business metrics (CloudWatch via Powertools in the cloud; nothing locally). */
export interface MetricsSink {
  count(name: string, value?: number): void;
  bytes(name: string, value: number): void;
}

export const NO_METRICS: MetricsSink = { count: () => {}, bytes: () => {} };
