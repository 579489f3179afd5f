import * as z from "zod";
import type { ProviderCredentials } from "../../shared/adapters/models/model-factory.js";
import { assertModelEndpoint } from "../../shared/adapters/models/model-factory.js";
import type { AgentSpec, ModelSpec } from "../../shared/agent-config.js";
import { headUtf8 } from "../../shared/domain/chunk.js";
import { addUsage, isFinished, type TaskRecord } from "../../shared/domain/task.js";
import {
  type ConversationMessage,
  type MetricsSink,
  type ModelClient,
  NO_METRICS,
  type TaskRepository,
} from "../../shared/ports.js";
import type { Tenant, TenantDirectory } from "../../shared/tenants.js";
import { openToolbox } from "../../shared/toolsets/registry.js";
import type { TaskService } from "../../shared/use-cases/task-service.js";
import { OutputWriter } from "./output-writer.js";

/** The input Step Functions passes to the runner Lambda (see shared/state-machine/definition.ts). */
export const StepInputSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("run"), tenant_id: z.string().min(1), task_id: z.string().min(1) }),
  z.object({
    action: z.literal("fail"),
    tenant_id: z.string().min(1),
    task_id: z.string().min(1),
    error: z.string().optional(),
    cause: z.unknown().optional(),
  }),
]);
export type StepInput = z.infer<typeof StepInputSchema>;
export interface StepOutput {
  tenant_id: string;
  task_id: string;
  done: boolean;
}

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
  createModel: (spec: ModelSpec, credentials: ProviderCredentials) => Promise<ModelClient>;
  settings: RunnerSettings;
  /** The use cases, for the `background_agents` toolset (nested dispatch). */
  service?: TaskService;
  /** Whether remote MCP servers may resolve to loopback/private/link-local addresses. */
  allowPrivateNetwork?: boolean;
  /** Where the raw cause of a failed step is logged (it is never shown to clients). */
  log?: { error(message: string, fields?: Record<string, unknown>): void };
  /** Business metrics: model and tool calls, output bytes, tasks completed and failed. */
  metrics?: MetricsSink;
  /** Sees every writer a step uses (benchmarks count writes through it). */
  onWriter?: (writer: OutputWriter) => void;
}

export const INTERRUPTED_TURN_NOTICE =
  "[the previous step was interrupted mid-turn; that turn runs again from the last checkpoint]";

export async function runAgentStep(deps: RunnerDeps, input: StepInput): Promise<StepOutput> {
  const out = { tenant_id: input.tenant_id, task_id: input.task_id };
  if (input.action === "fail") {
    deps.log?.error("runner step failed for good", {
      task_id: input.task_id,
      error: input.error,
      cause: input.cause,
    });
    const moved = await deps.repo.transition(input.tenant_id, input.task_id, "failed", {
      error: describeFailure(input.error, input.cause),
    });
    if (moved.moved) deps.metrics?.count("TasksFailed");
    return { ...out, done: true };
  }
  let task = await deps.repo.get(input.tenant_id, input.task_id, true);
  if (!task || isFinished(task.status)) return { ...out, done: true };

  const tenant = await deps.tenants.get(task.tenant_id);
  const agent = tenant?.config.agents[task.agent];
  if (!tenant || !agent) {
    await deps.repo.transition(task.tenant_id, task.id, "failed", {
      error: `agent "${task.agent}" is no longer in the tenant's config`,
    });
    return { ...out, done: true };
  }
  if (task.status === "pending") {
    const moved = await deps.repo.transition(task.tenant_id, task.id, "running");
    if (!moved.moved) return { ...out, done: true };
    task = moved.task;
  }
  const done = await runTurns(deps, task, agent, tenant);
  return { ...out, done };
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

async function runTurns(
  deps: RunnerDeps,
  task: TaskRecord,
  agent: AgentSpec,
  tenant: Tenant,
): Promise<boolean> {
  const { limits, credentials } = tenant;
  const { max_task_seconds: maxTaskSeconds, max_output_bytes: maxOutputBytes } = limits;
  const stepStart = Date.now();
  const deadline = Date.parse(task.started_at ?? task.created_at) + maxTaskSeconds * 1000;
  const timeLimitError = `time limit reached: the task ran longer than max_task_seconds (${maxTaskSeconds} s)`;
  // A missing secret or a refused endpoint fails here, before any work.
  await assertModelEndpoint(agent.model, credentials, deps.allowPrivateNetwork ?? false);
  const model = await deps.createModel(agent.model, credentials);
  const toolbox = await openToolbox(agent, {
    tenant,
    task,
    service: deps.service,
    allowPrivateNetwork: deps.allowPrivateNetwork ?? false,
    mcpTimeoutMs: deps.settings.mcpTimeoutMs,
    // A nested wait may block only for what is left of this step's budget (and of the task's time).
    maxWaitSeconds: () => (Math.min(stepStart + deps.settings.budgetMs, deadline) - Date.now()) / 1000,
  });
  const checkpoint = await deps.repo.getCheckpoint(task.tenant_id, task.id);
  const messages = checkpoint?.messages ?? initialMessages(agent, task);
  let turns = checkpoint?.turns ?? 0;
  const controller = new AbortController();
  let deadlineHit = false;
  const writer = new OutputWriter(deps.repo, {
    tenantId: task.tenant_id,
    taskId: task.id,
    lastSeq: task.last_seq,
    outputBytes: task.output_bytes,
    usage: task.usage,
    maxOutputBytes,
    // Chunks outlive the task's longest possible life by its retention, so they never expire before it.
    chunkExpiresAt: Math.floor(deadline / 1000) + limits.retention_days * 86_400,
    flushBytes: deps.settings.flushBytes,
    onHalt: () => controller.abort(),
    onWrite: () => arm(),
  });
  deps.onWriter?.(writer);
  if (task.last_seq > (checkpoint?.lastSeq ?? 0))
    writer.add({ kind: "status", text: INTERRUPTED_TURN_NOTICE });

  // The heartbeat, one interval after the last write: flush what waits (and so notice a stop),
  // or, when the model is silent, look at the status. Any write (a checkpoint, a size-triggered
  // flush) restarts the interval, so the step makes at most about one timed write per second.
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  function arm(): void {
    clearTimeout(timer);
    if (ended) return;
    timer = setTimeout(() => {
      void tick()
        .catch(() => {})
        .finally(arm);
    }, deps.settings.flushIntervalMs);
  }
  const tick = async () => {
    if (Date.now() >= deadline) {
      deadlineHit = true;
      controller.abort();
    } else if (writer.hasPending) {
      await writer.flush();
    } else if (!writer.halt) {
      const current = await deps.repo.get(task.tenant_id, task.id, true);
      if (current && current.status !== "running")
        writer.setHalt({ kind: "not_running", status: current.status });
    }
  };
  arm();
  let turnsThisStep = 0;
  try {
    for (;;) {
      if (writer.halt) return true;
      if (Date.now() >= deadline) {
        await writer.finish({ status: "failed", error: timeLimitError });
        return true;
      }
      if (turns >= agent.max_iterations) {
        writer.add({ kind: "status", text: `[max_iterations (${agent.max_iterations}) reached]` });
        await writer.finish({
          status: "completed",
          result: storedResult(lastAssistantText(messages), task.id),
        });
        return true;
      }
      if (turnsThisStep > 0 && Date.now() - stepStart >= deps.settings.budgetMs) {
        // Everything up to here is checkpointed: the next step goes on where this one stops.
        await writer.flush();
        return Boolean(writer.halt);
      }
      writer.usage = addUsage(writer.usage, { model_calls: 1 });
      writer.startTurn();
      const result = await model.turn({
        messages,
        tools: toolbox.definitions,
        signal: controller.signal,
        onText: (delta) => writer.text(delta),
      });
      writer.usage = addUsage(writer.usage, result.usage);
      turns += 1;
      turnsThisStep += 1;
      if (result.toolCalls.length === 0) {
        messages.push({ role: "assistant", content: result.text });
        await writer.finish({
          status: "completed",
          result: storedResult(result.text || lastAssistantText(messages), task.id),
        });
        return true;
      }
      messages.push({
        role: "assistant",
        content: result.text || null,
        tool_calls: result.toolCalls,
      });
      for (const call of result.toolCalls) {
        writer.add({ kind: "tool_call", text: `${call.name}(${call.arguments})` });
        const res = await toolbox.call(call.name, call.arguments, controller.signal);
        writer.usage = addUsage(writer.usage, { tool_calls: 1 });
        writer.add({ kind: "tool_result", text: cut(res.text, deps.settings.toolResultChunkBytes) });
        messages.push({ role: "tool", tool_call_id: call.id, content: res.text });
      }
      await writer.flush({ messages, turns });
    }
  } catch (err) {
    if (deadlineHit) {
      await writer.finish({ status: "failed", error: timeLimitError });
      return true;
    }
    if (writer.halt) return true;
    // Keep the output that streamed before the failure; the retried step picks up from the checkpoint.
    await writer.flush().catch(() => {});
    if (writer.halt) return true;
    throw err;
  } finally {
    ended = true;
    clearTimeout(timer);
    await toolbox.close();
    const metrics = deps.metrics ?? NO_METRICS;
    metrics.count("ModelCalls", writer.usage.model_calls - task.usage.model_calls);
    metrics.count("ToolCalls", writer.usage.tool_calls - task.usage.tool_calls);
    metrics.count("InputTokens", writer.usage.input_tokens - task.usage.input_tokens);
    metrics.count("OutputTokens", writer.usage.output_tokens - task.usage.output_tokens);
    metrics.bytes("OutputBytes", writer.outputBytes - task.output_bytes);
    if (writer.finished) metrics.count(writer.finished === "completed" ? "TasksCompleted" : "TasksFailed");
  }
}

/** The result kept on the task item (DynamoDB items hold 400 KB); the output chunks have all of it. */
export const MAX_STORED_RESULT_BYTES = 128 * 1024;

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

/** Turns a Step Functions error (name + cause) into the task's one-line error. No internals leak. */
export function describeFailure(name: string | undefined, cause: unknown): string {
  let message: string | undefined;
  if (typeof cause === "string") {
    try {
      const parsed = JSON.parse(cause) as { errorMessage?: unknown };
      message = typeof parsed.errorMessage === "string" ? parsed.errorMessage : cause;
    } catch {
      message = cause;
    }
  }
  switch (name) {
    case "PermanentError":
    case "TransientError":
      return message ?? "the model call failed";
    case "States.Timeout":
      return "a runner step exceeded its time limit";
    case "States.TaskFailed":
    case undefined:
      return "the runner step failed";
    default:
      return `internal error in the runner step (${name})`;
  }
}
