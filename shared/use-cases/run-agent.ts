import { type AgentSpec, agentKind } from "../agent-spec.js";
import { headUtf8 } from "../domain/chunk.js";
import { addUsage, isFinished, type TaskRecord } from "../domain/task.js";
import {
  type ConversationMessage,
  type Logger,
  type MetricsSink,
  type ModelClient,
  type ModelFactory,
  NO_METRICS,
  type TaskRepository,
} from "../ports.js";
import type { Tenant, TenantDirectory } from "../tenants.js";
import { openToolbox, type Toolbox } from "../toolsets/registry.js";
import { OutputWriter } from "./output-writer.js";
import type { TaskService } from "./task-service.js";

/**
 * The agent loop (SPEC §6): one runner step of a task. It moves the task to running, then runs
 * model turns and their tool calls, streaming the output through an OutputWriter, until the task
 * ends or the step's time budget is spent (then the checkpoint lets the next step go on).
 */

export interface RunnerSettings {
  /** How long one step runs model turns before it checkpoints and hands back to the state machine. */
  budgetMs: number;
  /** Output is flushed at least this often while the model speaks. */
  flushIntervalMs: number;
  /** …and as soon as this many bytes are waiting. */
  flushBytes: number;
  /** Largest tool result kept in a `tool_result` chunk. */
  toolResultChunkBytes: number;
  /** Limit on connecting to a remote MCP server and on each of its tool calls. */
  mcpTimeoutMs: number;
}

export const DEFAULT_RUNNER_SETTINGS: RunnerSettings = {
  budgetMs: 600_000,
  flushIntervalMs: 1000,
  flushBytes: 16 * 1024,
  toolResultChunkBytes: 4 * 1024,
  mcpTimeoutMs: 60_000,
};

export interface RunnerDeps {
  repo: TaskRepository;
  tenants: TenantDirectory;
  createModel: ModelFactory;
  settings: RunnerSettings;
  /** The use cases, for the `background_agents` toolset (nested dispatch). */
  service?: TaskService;
  /** Whether remote MCP servers may resolve to loopback/private/link-local addresses. */
  allowPrivateNetwork?: boolean;
  /** Where the raw cause of a failed step is logged (it is never shown to clients). */
  log?: Logger;
  /** Business metrics: model and tool calls, output bytes, tasks completed and failed. */
  metrics?: MetricsSink;
  /** Sees every writer a step uses (benchmarks count writes through it). */
  onWriter?: (writer: OutputWriter) => void;
  /**
   * Runs a harness task (shared/harness/) when its execution reached the model step: a state
   * machine without the harness branch, or an execution started without the agent kind.
   */
  runHarness?: (ref: TaskRef) => Promise<void>;
}

export interface TaskRef {
  tenantId: string;
  taskId: string;
}

export const INTERRUPTED_TURN_NOTICE =
  "[the previous step was interrupted mid-turn; that turn runs again from the last checkpoint]";

/** The result kept on the task item (DynamoDB items hold 400 KB); the output chunks have all of it. */
export const MAX_STORED_RESULT_BYTES = 128 * 1024;

/** Runs one step of the task's agent. Returns whether the task is done (else the next step goes on). */
export async function runAgent(deps: RunnerDeps, ref: TaskRef): Promise<boolean> {
  let task = await deps.repo.get(ref.tenantId, ref.taskId, true);
  if (!task || isFinished(task.status)) return true;

  const tenant = await deps.tenants.get(task.tenant_id);
  const agent = tenant?.config.agents[task.agent];
  if (!tenant || !agent) {
    await deps.repo.transition(task.tenant_id, task.id, "failed", {
      error: `agent "${task.agent}" is no longer in the tenant's config`,
    });
    return true;
  }
  if (agentKind(agent) === "harness" || !agent.model) {
    if (deps.runHarness) await deps.runHarness(ref);
    else
      await deps.repo.transition(task.tenant_id, task.id, "failed", {
        error: `agent "${task.agent}" is a harness agent, which this runner does not run`,
      });
    return true;
  }
  if (task.status === "pending") {
    const moved = await deps.repo.transition(task.tenant_id, task.id, "running");
    if (!moved.moved) return true;
    task = moved.task;
  }
  const run = await prepareRun(deps, task, agent, agent.model, tenant);
  run.heartbeat.arm();
  try {
    return await runTurns(run);
  } catch (err) {
    return await endAfterError(run, err);
  } finally {
    run.heartbeat.stop();
    await run.toolbox.close();
    countStep(deps.metrics ?? NO_METRICS, task, run.writer);
  }
}

/**
 * Ends a task whose step failed for good (the state machine's retries are spent). `error` is the
 * task's one-line error, with nothing from inside; `details` (the raw error) go only to the log.
 */
export async function failTask(
  deps: Pick<RunnerDeps, "repo" | "log" | "metrics">,
  ref: TaskRef,
  error: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  deps.log?.error("runner step failed for good", { task_id: ref.taskId, ...details });
  const moved = await deps.repo.transition(ref.tenantId, ref.taskId, "failed", { error });
  if (moved.moved) deps.metrics?.count("TasksFailed");
}

/** One step's run of a task: what the turns read and change. */
interface Run {
  deps: RunnerDeps;
  task: TaskRecord;
  agent: AgentSpec;
  model: ModelClient;
  toolbox: Toolbox;
  writer: OutputWriter;
  heartbeat: Heartbeat;
  /** The conversation so far: from the checkpoint, or the agent's instruction and the task. */
  messages: ConversationMessage[];
  turns: number;
  turnsThisStep: number;
  /** Aborts the model call and the tool calls in flight (a stop, the time limit, the output limit). */
  controller: AbortController;
  stepStart: number;
  /** When the task's max_task_seconds run out (epoch ms), and the task's error then. */
  deadline: number;
  timeLimitError: string;
  deadlineHit: boolean;
}

/** The model, the toolbox, the conversation from the checkpoint, the writer and its heartbeat. */
async function prepareRun(
  deps: RunnerDeps,
  task: TaskRecord,
  agent: AgentSpec,
  modelSpec: NonNullable<AgentSpec["model"]>,
  tenant: Tenant,
): Promise<Run> {
  const { limits, credentials } = tenant;
  const stepStart = Date.now();
  const deadline = Date.parse(task.started_at ?? task.created_at) + limits.max_task_seconds * 1000;
  // A missing secret or a refused endpoint fails here, before any work.
  const model = await deps.createModel(modelSpec, credentials);
  const toolbox = await openToolbox(agent, {
    tenant,
    task,
    service: deps.service,
    allowPrivateNetwork: deps.allowPrivateNetwork ?? false,
    mcpTimeoutMs: deps.settings.mcpTimeoutMs,
    // A nested wait may block only for what is left of this step's budget (and of the task's time).
    maxWaitSeconds: () => (Math.min(stepStart + deps.settings.budgetMs, deadline) - Date.now()) / 1000,
  });
  // A checkpoint is written with the chunks of a finished turn: a task with no output has none.
  const checkpoint = task.last_seq > 0 ? await deps.repo.getCheckpoint(task.tenant_id, task.id) : null;
  const controller = new AbortController();
  const heartbeat = new Heartbeat(deps.settings.flushIntervalMs, () => heartbeatTick(run));
  const writer = new OutputWriter(deps.repo, {
    tenantId: task.tenant_id,
    taskId: task.id,
    lastSeq: task.last_seq,
    outputBytes: task.output_bytes,
    usage: task.usage,
    maxOutputBytes: limits.max_output_bytes,
    // Chunks outlive the task's longest possible life by its retention, so they never expire before it.
    chunkExpiresAt: Math.floor(deadline / 1000) + limits.retention_days * 86_400,
    flushBytes: deps.settings.flushBytes,
    onHalt: () => controller.abort(),
    onWrite: () => heartbeat.arm(),
  });
  deps.onWriter?.(writer);
  if (task.last_seq > (checkpoint?.lastSeq ?? 0))
    writer.add({ kind: "status", text: INTERRUPTED_TURN_NOTICE });
  const run: Run = {
    deps,
    task,
    agent,
    model,
    toolbox,
    writer,
    heartbeat,
    messages: checkpoint?.messages ?? initialMessages(agent, task),
    turns: checkpoint?.turns ?? 0,
    turnsThisStep: 0,
    controller,
    stepStart,
    deadline,
    timeLimitError: `time limit reached: the task ran longer than max_task_seconds (${limits.max_task_seconds} s)`,
    deadlineHit: false,
  };
  return run;
}

/**
 * The step's heartbeat: `tick` runs one interval after the last arm(), then arms again. The
 * writer arms it at every write (a checkpoint, a size-triggered flush), so the step makes at most
 * about one timed write per interval.
 */
class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly tick: () => Promise<void>,
  ) {}

  arm(): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick()
        .catch(() => {})
        .finally(() => this.arm());
    }, this.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

/**
 * One heartbeat: past the task's time limit, abort; else flush what waits (and so notice a stop);
 * or, when the model is silent, look at the status.
 */
async function heartbeatTick(run: Run): Promise<void> {
  const { writer } = run;
  if (Date.now() >= run.deadline) {
    run.deadlineHit = true;
    run.controller.abort();
  } else if (writer.hasPending) {
    await writer.flush();
  } else if (!writer.halt) {
    // The status alone: the small state item, not the task's input.
    const status = await run.deps.repo.status(run.task.tenant_id, run.task.id);
    if (status && status !== "running") writer.setHalt({ kind: "not_running", status });
  }
}

/** Model turns until the task ends or the step's budget is spent. Returns whether the task is done. */
async function runTurns(run: Run): Promise<boolean> {
  const { writer, agent, task } = run;
  for (;;) {
    if (writer.halt) return true;
    if (Date.now() >= run.deadline) {
      await writer.finish({ status: "failed", error: run.timeLimitError });
      return true;
    }
    if (run.turns >= agent.max_iterations) {
      writer.add({ kind: "status", text: `[max_iterations (${agent.max_iterations}) reached]` });
      await writer.finish({
        status: "completed",
        result: storedResult(lastAssistantText(run.messages), task.id),
      });
      return true;
    }
    if (run.turnsThisStep > 0 && Date.now() - run.stepStart >= run.deps.settings.budgetMs) {
      // Everything up to here is checkpointed: the next step goes on where this one stops.
      await writer.flush();
      return Boolean(writer.halt);
    }
    const final = await runTurn(run);
    if (final !== null) {
      await writer.finish({
        status: "completed",
        result: storedResult(final || lastAssistantText(run.messages), task.id),
      });
      return true;
    }
    await writer.flush({ messages: run.messages, turns: run.turns });
  }
}

/**
 * One model turn and the tool calls it asks for. Returns the turn's text when the model called
 * no tool (its answer), else null (the tool results are in the conversation for the next turn).
 */
async function runTurn(run: Run): Promise<string | null> {
  const { writer, messages, toolbox, controller } = run;
  writer.usage = addUsage(writer.usage, { model_calls: 1 });
  writer.startTurn();
  const result = await run.model.turn({
    messages,
    tools: toolbox.definitions,
    signal: controller.signal,
    onText: (delta) => writer.text(delta),
  });
  writer.usage = addUsage(writer.usage, result.usage);
  run.turns += 1;
  run.turnsThisStep += 1;
  if (result.toolCalls.length === 0) {
    messages.push({ role: "assistant", content: result.text });
    return result.text;
  }
  messages.push({ role: "assistant", content: result.text || null, tool_calls: result.toolCalls });
  for (const call of result.toolCalls) {
    writer.add({ kind: "tool_call", text: `${call.name}(${call.arguments})` });
    const res = await toolbox.call(call.name, call.arguments, controller.signal);
    writer.usage = addUsage(writer.usage, { tool_calls: 1 });
    writer.add({ kind: "tool_result", text: cut(res.text, run.deps.settings.toolResultChunkBytes) });
    messages.push({ role: "tool", tool_call_id: call.id, content: res.text });
  }
  return null;
}

/**
 * After a failed turn: past the time limit the task fails with that; a stopped or superseded
 * step just ends; otherwise the output so far is kept and the error goes to the state machine,
 * whose retried step picks up from the checkpoint.
 */
async function endAfterError(run: Run, err: unknown): Promise<boolean> {
  const { writer } = run;
  if (run.deadlineHit) {
    await writer.finish({ status: "failed", error: run.timeLimitError });
    return true;
  }
  if (writer.halt) return true;
  await writer.flush().catch(() => {});
  if (writer.halt) return true;
  throw err;
}

/** What this step added: model and tool calls, tokens, output bytes, and how the task ended. */
function countStep(metrics: MetricsSink, task: TaskRecord, writer: OutputWriter): void {
  metrics.count("ModelCalls", writer.usage.model_calls - task.usage.model_calls);
  metrics.count("ToolCalls", writer.usage.tool_calls - task.usage.tool_calls);
  metrics.count("InputTokens", writer.usage.input_tokens - task.usage.input_tokens);
  metrics.count("OutputTokens", writer.usage.output_tokens - task.usage.output_tokens);
  metrics.bytes("OutputBytes", writer.outputBytes - task.output_bytes);
  if (writer.finished) metrics.count(writer.finished === "completed" ? "TasksCompleted" : "TasksFailed");
}

function initialMessages(agent: AgentSpec, task: TaskRecord): ConversationMessage[] {
  const system =
    agent.instruction ||
    `You are the "${agent.name}" agent.${agent.description ? ` ${agent.description}` : ""}`;
  const goal = task.expected_output ? `${task.task}\n\nExpected output: ${task.expected_output}` : task.task;
  return [
    { role: "system", content: system },
    { role: "user", content: goal },
  ];
}

function lastAssistantText(messages: ConversationMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role === "assistant" && m.content) return m.content;
  }
  return "";
}

function storedResult(text: string, taskId: string): string {
  const head = headUtf8(text, MAX_STORED_RESULT_BYTES);
  if (head.length === text.length) return text;
  const left = Buffer.byteLength(text) - Buffer.byteLength(head);
  return `${head}\n[result cut: ${left} more bytes; GET /v1/tasks/${taskId}/output has the whole output]`;
}

function cut(text: string, max: number): string {
  const head = headUtf8(text, max);
  return head.length === text.length
    ? text
    : `${head}… [cut: ${Buffer.byteLength(text) - Buffer.byteLength(head)} more bytes]`;
}
