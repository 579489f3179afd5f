import type { HarnessChannel } from "../shared/harness/channel.js";
import { type RunHarnessOptions, runHarness } from "../shared/harness/run-harness.js";
import type { Logger } from "../shared/ports.js";
import { HARNESS_ENV } from "../shared/state-machine/definition.js";

/**
 * Harness tasks on one machine (SPEC §9 "locally"): the RunHarness state of the shared state
 * machine mapped to the one harness runner, in process, on the repository-backed channel. The
 * CLI is a child process in its own process group, in a temporary directory removed afterwards;
 * a stop ends the group at once (SIGTERM, SIGKILL 5 s later), not at the runner's next poll.
 */

export interface LocalHarnessOptions {
  channel: (ref: { tenantId: string; taskId: string }) => HarnessChannel;
  log?: Logger | undefined;
  /** Runner settings (flush interval, kill grace, temp root) and hooks (onSpawn). */
  runner?: Omit<RunHarnessOptions, "signal" | "log"> | undefined;
}

export class LocalHarness {
  private readonly running = new Map<string, AbortController>();
  private readonly runs = new Set<Promise<void>>();

  constructor(private readonly options: LocalHarnessOptions) {}

  /** Runs a harness task to its end (the claim refuses one that is not pending). */
  async run(ref: { tenantId: string; taskId: string }): Promise<void> {
    if (this.running.has(ref.taskId)) return;
    const controller = new AbortController();
    this.running.set(ref.taskId, controller);
    const run = runHarness(this.options.channel(ref), {
      ...this.options.runner,
      signal: controller.signal,
      ...(this.options.log ? { log: this.options.log } : {}),
    }).then(
      () => {},
      // The task stays as the runner left it; the sweep ends a task left open.
      (err: unknown) =>
        this.options.log?.error("harness run failed", { task_id: ref.taskId, error: String(err) }),
    );
    this.runs.add(run);
    try {
      await run;
    } finally {
      this.runs.delete(run);
      if (this.running.get(ref.taskId) === controller) this.running.delete(ref.taskId);
    }
  }

  /** Waits for every run to end (after stopAll: their CLIs end within the kill grace). */
  async drain(): Promise<void> {
    await Promise.all([...this.runs]);
  }

  /** The RunHarness state's handler: its input is the ECS RunTask request the definition builds. */
  readonly handler = async (event: unknown): Promise<Record<string, never>> => {
    await this.run(taskRefOfRunTask(event));
    return {};
  };

  /** Ends the task's CLI now (the local StopExecution). */
  stop(taskId: string): void {
    this.running.get(taskId)?.abort();
  }

  stopAll(): void {
    for (const c of this.running.values()) c.abort();
  }

  get active(): number {
    return this.running.size;
  }
}

/** The task a RunTask request is for: the container override's BGA_TENANT_ID and BGA_TASK_ID. */
export function taskRefOfRunTask(event: unknown): { tenantId: string; taskId: string } {
  const overrides = (event as { Overrides?: { ContainerOverrides?: { Environment?: unknown[] }[] } })
    ?.Overrides;
  const env = new Map<string, string>();
  for (const o of overrides?.ContainerOverrides ?? []) {
    for (const e of o.Environment ?? []) {
      const { Name, Value } = (e ?? {}) as { Name?: unknown; Value?: unknown };
      if (typeof Name === "string" && typeof Value === "string") env.set(Name, Value);
    }
  }
  const tenantId = env.get(HARNESS_ENV.tenantId);
  const taskId = env.get(HARNESS_ENV.taskId);
  if (!tenantId || !taskId) throw new Error("RunHarness input names no task (BGA_TENANT_ID, BGA_TASK_ID)");
  return { tenantId, taskId };
}
