import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { headUtf8 } from "../domain/chunk.js";
import { addUsage } from "../domain/task.js";
import type { Logger } from "../ports.js";
import { changesLine } from "../tools/texts.js";
import { OutputWriter } from "../use-cases/output-writer.js";
import type { HarnessChannel, HarnessJob, TaskChanges } from "./channel.js";
import { harnessArgs, harnessBinary, harnessEnv } from "./clis.js";
import { ClaudeEventMapper, CodexEventMapper, type EventMapper, type HarnessEvent } from "./events.js";
import {
  existingWorkspace,
  prepareWorkspace,
  pushChanges,
  type Workspace,
  workspaceChanges,
} from "./workspace.js";

/**
 * The one harness runner (SPEC §9), the same module locally (in process, on the repository-backed
 * channel) and in the Fargate container (on the internal API's channel): it claims the task, makes
 * a fresh workspace and home, runs the coding CLI in its own process group with an environment
 * built from scratch, maps its JSON events to output chunks through the batched OutputWriter,
 * notices a stop (a refused flush, or the status polled every second) and ends the whole group
 * (SIGTERM, SIGKILL 5 s later), and at the end keeps the workspace's changes whatever the status.
 */

export interface RunHarnessOptions {
  /** Output is flushed at least this often, and the status read when nothing waits. @default 1000 */
  flushIntervalMs?: number;
  /** Flush as soon as this many bytes wait. @default 16 KiB */
  flushBytes?: number;
  /** Largest tool result kept in a `tool_result` chunk. @default 4 KiB */
  toolResultChunkBytes?: number;
  /** Between SIGTERM and SIGKILL of the CLI's process group. @default 5000 */
  killGraceMs?: number;
  /** Where the per-task temporary directory (workspace, home) is made. @default os.tmpdir() */
  tmpRoot?: string;
  log?: Logger;
  /** Aborting ends the CLI at once (the local stop does, not waiting for the next poll). */
  signal?: AbortSignal;
  /** Sees the CLI's process (tests kill it; benches time it). */
  onSpawn?: (child: { pid: number; taskId: string }) => void;
}

export interface HarnessOutcome {
  /** False when the channel refused the claim (finished, stopped, or interrupted earlier). */
  ran: boolean;
  status?: "completed" | "failed" | "stopped";
  changes?: TaskChanges;
}

/** The result kept on the task item (DynamoDB items hold 400 KB); the output chunks have all of it. */
const MAX_RESULT_BYTES = 128 * 1024;
/** The tail of the CLI's stderr kept to explain a failure. */
const STDERR_TAIL_BYTES = 4096;

export async function runHarness(
  channel: HarnessChannel,
  options: RunHarnessOptions = {},
): Promise<HarnessOutcome> {
  const job = await channel.claim();
  if (!job) return { ran: false };
  const root = await mkdtemp(join(options.tmpRoot ?? tmpdir(), "bga-harness-"));
  try {
    return await runClaimed(channel, job, root, options);
  } finally {
    await rm(root, { recursive: true, force: true }).catch(() => {});
  }
}

async function runClaimed(
  channel: HarnessChannel,
  job: HarnessJob,
  root: string,
  options: RunHarnessOptions,
): Promise<HarnessOutcome> {
  const home = join(root, "home");
  const tmp = join(home, "tmp");
  await mkdir(tmp, { recursive: true });
  // CODEX_HOME must exist; CLAUDE_CONFIG_DIR is made by the CLI, but the same way for both.
  await mkdir(join(home, job.harness.type === "codex" ? ".codex" : ".claude"), { recursive: true });
  const toolResultBytes = options.toolResultChunkBytes ?? 4096;
  let child: ChildProcess | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const endGroup = () => {
    const pid = child?.pid;
    if (pid === undefined || child?.exitCode !== null || child.signalCode !== null) return;
    signalGroup(pid, "SIGTERM");
    killTimer ??= setTimeout(() => signalGroup(pid, "SIGKILL"), options.killGraceMs ?? 5000);
  };
  const writer = new OutputWriter(channel, {
    tenantId: job.tenantId,
    taskId: job.taskId,
    lastSeq: job.lastSeq,
    outputBytes: job.outputBytes,
    usage: job.usage,
    maxOutputBytes: job.maxOutputBytes,
    chunkExpiresAt: job.chunkExpiresAt,
    flushBytes: options.flushBytes ?? 16 * 1024,
    // Stopped, failed by someone else, or past max_output_bytes: the CLI ends now.
    onHalt: endGroup,
  });

  let workspace: Workspace | null;
  try {
    workspace = job.harness.working_dir
      ? await existingWorkspace(job.harness.working_dir, home)
      : await prepareWorkspace(job, await makeDir(join(root, "workspace")), home);
  } catch (err) {
    await writer.finish({ status: "failed", error: `workspace: ${(err as Error).message}` });
    return { ran: true, status: "failed" };
  }
  if (job.timeoutSeconds <= 0) {
    await writer.finish({
      status: "failed",
      error: "timeout: no time was left of max_task_seconds to run the CLI",
    });
    return { ran: true, status: "failed" };
  }

  const cwd = job.harness.working_dir ?? workspace?.dir ?? root;
  const mapper: EventMapper =
    job.harness.type === "claude-code" ? new ClaudeEventMapper() : new CodexEventMapper();
  let result: string | null = null;
  let cliError: string | null = null;
  let timedOut = false;
  let stderrTail = "";

  let binary: string;
  try {
    binary = harnessBinary(job);
  } catch (err) {
    await writer.finish({ status: "failed", error: (err as Error).message });
    return { ran: true, status: "failed" };
  }
  const proc = spawn(binary, harnessArgs(job), {
    cwd,
    env: harnessEnv(job, { home, tmp }),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = proc;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>(
    (resolve) => {
      proc.once("error", (err) => resolve({ code: null, signal: null, spawnError: err }));
      proc.once("close", (code, signal) => resolve({ code, signal }));
    },
  );
  // When the CLI itself ends, whatever it left running in its group ends too (a background
  // command holding its stdout open would otherwise keep the run going, and could call a model).
  proc.once("exit", () => {
    if (proc.pid !== undefined) signalGroup(proc.pid, "SIGKILL");
  });
  if (proc.pid !== undefined) options.onSpawn?.({ pid: proc.pid, taskId: job.taskId });
  options.log?.info("harness CLI started", { task_id: job.taskId, type: job.harness.type, pid: proc.pid });

  const onAbort = () => endGroup();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) endGroup();
  const deadline = setTimeout(() => {
    timedOut = true;
    endGroup();
  }, job.timeoutSeconds * 1000);
  const tick = setInterval(() => {
    if (writer.halt) return;
    const poll = writer.hasPending
      ? writer.flush()
      : channel.status().then((status) => {
          if (status && status !== "running") writer.setHalt({ kind: "not_running", status });
        });
    poll.catch((err: unknown) =>
      options.log?.warn("harness poll failed", { task_id: job.taskId, error: String(err) }),
    );
  }, options.flushIntervalMs ?? 1000);

  proc.stderr?.setEncoding("utf8");
  proc.stderr?.on("data", (d: string) => {
    stderrTail = (stderrTail + d).slice(-STDERR_TAIL_BYTES);
  });
  const apply = (ev: HarnessEvent) => {
    switch (ev.kind) {
      case "model_call":
        writer.usage = addUsage(writer.usage, { model_calls: 1 });
        writer.startTurn();
        return;
      case "text":
        writer.text(ev.text);
        return;
      case "tool_call":
        writer.usage = addUsage(writer.usage, { tool_calls: 1 });
        writer.add({ kind: "tool_call", text: ev.text });
        return;
      case "tool_result":
        writer.add({ kind: "tool_result", text: cut(ev.text, toolResultBytes) });
        return;
      case "status":
        writer.add({ kind: "status", text: ev.text });
        return;
      case "usage":
        writer.usage = {
          ...writer.usage,
          input_tokens: job.usage.input_tokens + ev.input_tokens,
          output_tokens: job.usage.output_tokens + ev.output_tokens,
        };
        return;
      case "result":
        result = ev.text;
        return;
      case "error":
        cliError = ev.text;
        return;
    }
  };
  if (proc.stdout) {
    for await (const line of createInterface({ input: proc.stdout, crlfDelay: Number.POSITIVE_INFINITY })) {
      if (!line.trim()) continue;
      let event: unknown;
      try {
        event = JSON.parse(line);
      } catch {
        continue; // not an event (a CLI's stray line)
      }
      if (event && typeof event === "object" && !writer.halt)
        for (const ev of mapper.map(event as never)) apply(ev);
    }
  }
  const exit = await exited;
  clearTimeout(deadline);
  clearInterval(tick);
  clearTimeout(killTimer);
  options.signal?.removeEventListener("abort", onAbort);
  // Anything the CLI left running in its group ends with it (no model call after the end).
  if (proc.pid !== undefined) signalGroup(proc.pid, "SIGKILL");
  options.log?.info("harness CLI ended", { task_id: job.taskId, code: exit.code, signal: exit.signal });

  // The changes are kept whatever the status (SPEC §9), before the task ends.
  let changes: TaskChanges | undefined;
  if (workspace) {
    try {
      changes = await workspaceChanges(workspace, home, job.maxOutputBytes);
      if (job.harness.workspace?.push && !writer.halt && changes.files.length > 0) {
        try {
          changes.branch = await pushChanges(job, workspace, home);
        } catch (err) {
          writer.add({
            kind: "status",
            text: `[push to bga/${job.taskId} failed: ${(err as Error).message}]`,
          });
        }
      }
      if (changes.files.length > 0) await channel.saveChanges(changes);
    } catch (err) {
      options.log?.warn("harness changes not kept", { task_id: job.taskId, error: String(err) });
      writer.add({
        kind: "status",
        text: `[the workspace's changes could not be read: ${(err as Error).message}]`,
      });
    }
  }

  if (writer.halt) {
    await writer.flush().catch(() => {});
    return {
      ran: true,
      status: writer.halt.kind === "not_running" ? "stopped" : "failed",
      ...(changes ? { changes } : {}),
    };
  }
  const typeName = `the ${job.harness.type} CLI`;
  let error: string | null = null;
  if (timedOut) {
    error = `timeout: ${typeName} ran longer than ${job.timeoutSeconds} s (its harness timeout, or what was left of max_task_seconds); its changes are kept`;
  } else if (exit.spawnError) {
    error = `${typeName} could not be started: ${exit.spawnError.message}`;
  } else if (cliError !== null) {
    error = cliError;
  } else if (exit.signal) {
    error = `${typeName} was killed by ${exit.signal}${stderrTail.trim() ? `: ${lastLines(stderrTail)}` : ""}`;
  } else if (exit.code !== 0) {
    error = `${typeName} exited with code ${exit.code}${stderrTail.trim() ? `: ${lastLines(stderrTail)}` : ""}`;
  } else if (result === null) {
    error = `${typeName} ended without a final message${stderrTail.trim() ? `: ${lastLines(stderrTail)}` : ""}`;
  }
  const line = changes ? changesLine(changes) : "";
  if (error !== null) {
    await writer.finish({ status: "failed", error });
    return { ran: true, status: "failed", ...(changes ? { changes } : {}) };
  }
  const text = headUtf8(result ?? "", MAX_RESULT_BYTES);
  await writer.finish({ status: "completed", result: line ? `${text}\n\n${line}` : text });
  return {
    ran: true,
    status: writer.finished === "completed" ? "completed" : "failed",
    ...(changes ? { changes } : {}),
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

async function makeDir(path: string): Promise<string> {
  await mkdir(path, { recursive: true });
  return path;
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-5).join("\n");
}

function cut(text: string, max: number): string {
  const head = headUtf8(text, max);
  return head.length === text.length
    ? text
    : `${head}… [cut: ${Buffer.byteLength(text) - Buffer.byteLength(head)} more bytes]`;
}
