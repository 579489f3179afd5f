import type { ModelSpec } from "./agent-spec.js";
import type { Chunk, NewChunk } from "./domain/chunk.js";
import type { TaskRecord, TaskStatus, Usage } from "./domain/task.js";
import type { TaskChanges } from "./harness/channel.js";
import type { Limits } from "./tenants.js";

/**
 * The ports: what the use cases (shared/use-cases/) need from the outside, as interfaces. The
 * adapters (shared/adapters/) implement them; shared/composition.ts passes the adapters in.
 */

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
  /**
   * Makes the write idempotent: sent again with the same token (and the same `at`), a write that
   * was already applied is answered as done instead of being refused (DynamoDB keeps a
   * transaction's token for 10 minutes).
   */
  requestToken?: string;
  /** The time the write records (chunk times, end time); default now. */
  at?: Date;
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
  /** The longest the task may run (the tenant's max_task_seconds at creation): bounds its life. */
  maxTaskSeconds?: number;
}

export interface ListQuery {
  status?: TaskStatus;
  agent?: string;
  limit: number;
  cursor?: string;
}

/**
 * TaskRepository.create() fails with this when a concurrent request took the Idempotency-Key
 * first: the caller reads the task that request created.
 */
export class IdempotencyKeyTakenError extends Error {
  constructor() {
    super("idempotency key taken");
    this.name = "IdempotencyKeyTakenError";
  }
}

export interface TaskRepository {
  /** Writes a new pending task and takes a concurrency slot, atomically; see IdempotencyKeyTakenError. */
  create(input: NewTask): Promise<TaskRecord>;
  /** Finds the task an Idempotency-Key created, with the body hash it was created with. */
  findByIdempotencyKey(tenantId: string, key: string): Promise<{ task: TaskRecord; bodyHash: string } | null>;
  get(tenantId: string, taskId: string, consistent?: boolean): Promise<TaskRecord | null>;
  /** The statuses alone of up to 100 tasks (strongly consistent): what `wait` polls. */
  statuses(tenantId: string, taskIds: string[]): Promise<Map<string, TaskStatus>>;
  /** The task's status alone (strongly consistent): what a runner's heartbeat reads. */
  status(tenantId: string, taskId: string): Promise<TaskStatus | null>;
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
  runningCount(tenantId: string): Promise<number>;
  /** Keeps a harness task's changes (SPEC §9) until `expiresAt` (epoch seconds), replacing any. */
  putChanges(tenantId: string, taskId: string, changes: TaskChanges, expiresAt: number): Promise<void>;
  /** A task's changes with the patch; null for a task that has none. */
  getChanges(tenantId: string, taskId: string): Promise<TaskChanges | null>;
  /** A task's changes without the patch (one small read: what the view and the result line need). */
  changesSummary(tenantId: string, taskId: string): Promise<Omit<TaskChanges, "patch"> | null>;
}

/** Starts and stops the workflow execution behind a task (Step Functions or the local runner). */
export interface Executions {
  /**
   * `kind` goes into the execution's input, where the state machine branches on it (a harness
   * agent runs its coding CLI; SPEC §9). Absent: a model agent.
   */
  start(input: { tenantId: string; taskId: string; kind?: "model" | "harness" }): Promise<void>;
  stop(input: { tenantId: string; taskId: string; cause: string }): Promise<void>;
  /** Whether the task's execution is running, has ended, or was never started. */
  describe(input: { tenantId: string; taskId: string }): Promise<"running" | "ended" | "missing">;
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

/** Values such as OPENAI_API_KEY: the process environment for the local tenant, the tenant's secrets in the cloud. */
export interface ProviderCredentials {
  get(name: string): string | undefined;
}

/**
 * Builds the client of an agent's model. It refuses, before any work, a model endpoint the
 * deployment does not allow (SPEC §6) or one that names a missing secret.
 */
export type ModelFactory = (spec: ModelSpec, credentials: ProviderCredentials) => Promise<ModelClient>;

/** A tenant as stored; its secrets live apart, encrypted. */
export interface TenantRecord {
  id: string;
  /** The agent config as the admin gave it (YAML). */
  config: string;
  /** The same config parsed, as JSON (agent-spec.ts); absent on tenants stored before it existed. */
  config_json?: string | undefined;
  limits: Limits;
  created_at: string;
  updated_at: string;
}

/** An API key of a tenant: only its hash is stored. */
export interface ApiKeyRecord {
  key_id: string;
  tenant_id: string;
  key_hash: string;
  /** The caller agents the key may act as; null: any. */
  callers: string[] | null;
  created_at: string;
}

/**
 * The encryption context of a tenant's secrets (ServiceKeys.encrypt/decrypt): the blob is JSON of
 * NAME → value, bound to the tenant ID, so one tenant's blob never decrypts as another's.
 */
export function secretsContext(tenantId: string): string {
  return `tenant:${tenantId}`;
}

/** Tenants, their API keys and their encrypted secrets. */
export interface TenantStore {
  /** A new tenant with its first key; TenantExistsError if the ID is taken. */
  create(input: {
    id: string;
    config: string;
    configJson: string;
    limits: Limits;
    key: ApiKeyRecord;
  }): Promise<TenantRecord>;
  /** Creates the tenant, or replaces its config (the local default tenant at each start). */
  upsert(id: string, config: string, configJson: string): Promise<TenantRecord>;
  get(id: string): Promise<TenantRecord | null>;
  list(): Promise<TenantRecord[]>;
  /** TenantNotFoundError if there is no such tenant (as setLimits, putSecrets, addKey). */
  setConfig(id: string, config: string, configJson: string): Promise<TenantRecord>;
  setLimits(id: string, limits: Limits): Promise<TenantRecord>;
  /** Replaces the tenant's secrets with an encrypted blob (see secretsContext); only names are readable. */
  putSecrets(id: string, blob: Buffer, names: string[]): Promise<void>;
  getSecrets(id: string): Promise<{ blob: Uint8Array; names: string[] } | null>;
  addKey(key: ApiKeyRecord): Promise<void>;
  /** Registers a key unless that exact key is already registered (the local default key at start). */
  ensureKey(key: ApiKeyRecord): Promise<void>;
  listKeys(tenantId: string): Promise<ApiKeyRecord[]>;
  /** KeyNotFoundError if the tenant has no such key. */
  revokeKey(tenantId: string, keyId: string): Promise<void>;
  findKeyByHash(hash: string): Promise<ApiKeyRecord | null>;
}

export type Clock = () => Date;

/** Structured logs: a message and fields (JSON lines locally, the Powertools logger in Lambda). */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Business metrics (CloudWatch via Powertools in the cloud; nothing locally). */
export interface MetricsSink {
  count(name: string, value?: number): void;
  bytes(name: string, value: number): void;
}

export const NO_METRICS: MetricsSink = { count: () => {}, bytes: () => {} };
