import { agentKind } from "../agent-spec.js";
import type { TaskStatus } from "../domain/task.js";
import { resolveEnvRefs } from "../env-refs.js";
import type { FlushInput, FlushOutcome, Logger, TaskRepository } from "../ports.js";
import type { TenantDirectory } from "../tenants.js";
import type { HarnessChannel, HarnessJob, TaskChanges } from "./channel.js";

/**
 * The HarnessChannel straight on the TaskRepository and the tenant directory: what the runner
 * uses locally (npm start, tests), and what the API's internal harness routes answer the Fargate
 * container with. It acts on its own task only: every write names the channel's tenant and task,
 * whatever the caller sends.
 */

export interface RepositoryChannelDeps {
  repo: TaskRepository;
  tenants: Pick<TenantDirectory, "get">;
  /** BGA_ALLOW_PRIVATE_NETWORK: whether `workspace.git` may reach loopback/private addresses. */
  allowPrivateNetwork: boolean;
  log?: Logger | undefined;
  now?: () => Date;
}

/** The error of a harness task cut off by a crash or a restart (SPEC §9: it is not resumed). */
export const INTERRUPTED_HARNESS_ERROR =
  "the harness run was interrupted (the server restarted or its process ended) and is not resumed; run the task again";

export class RepositoryHarnessChannel implements HarnessChannel {
  private expiresAt = 0;

  constructor(
    private readonly deps: RepositoryChannelDeps,
    readonly ref: { tenantId: string; taskId: string },
  ) {}

  async claim(): Promise<HarnessJob | null> {
    const { repo } = this.deps;
    const { tenantId, taskId } = this.ref;
    const task = await repo.get(tenantId, taskId, true);
    if (!task || (task.status !== "pending" && task.status !== "running")) return null;
    if (task.status === "running") {
      // Running already: a run that a crash or a restart cut off. A CLI's work is not resumed.
      await this.fail(INTERRUPTED_HARNESS_ERROR);
      return null;
    }
    const tenant = await this.deps.tenants.get(tenantId);
    const agent = tenant?.config.agents[task.agent];
    if (!tenant || !agent?.harness || agentKind(agent) !== "harness") {
      await this.fail(`agent "${task.agent}" is no longer a harness agent of the tenant's config`);
      return null;
    }
    const spec = agent.harness;
    let env: Record<string, string>;
    let workspace: HarnessJob["harness"]["workspace"];
    try {
      env = Object.fromEntries(
        Object.entries(spec.env).map(([k, v]) => [k, resolveEnvRefs(v, tenant.credentials)]),
      );
      if (spec.workspace) {
        const git = resolveEnvRefs(spec.workspace.git, tenant.credentials);
        if (/^https?:\/\//i.test(git)) {
          // The guard (and its DNS lookups) loads only for a task that clones.
          const { assertPublicUrl } = await import("../security/network-guard.js");
          await assertPublicUrl(git, this.deps.allowPrivateNetwork);
        }
        const token = spec.workspace.token
          ? resolveEnvRefs(spec.workspace.token, tenant.credentials)
          : undefined;
        workspace = {
          git,
          ...(spec.workspace.ref ? { ref: spec.workspace.ref } : {}),
          ...(token ? { token } : {}),
          push: spec.workspace.push,
        };
      }
    } catch (err) {
      await this.fail((err as Error).message);
      return null;
    }
    const moved = await repo.transition(tenantId, taskId, "running");
    if (!moved.moved) return null;
    const started = moved.task;
    const { limits } = tenant;
    const now = (this.deps.now ?? (() => new Date()))().getTime();
    const deadline = Date.parse(started.started_at ?? started.created_at) + limits.max_task_seconds * 1000;
    this.expiresAt = Math.floor(deadline / 1000) + limits.retention_days * 86_400;
    return {
      tenantId,
      taskId,
      agent: task.agent,
      task: task.task,
      expectedOutput: task.expected_output,
      instruction: agent.instruction,
      harness: {
        type: spec.type,
        ...(spec.effort ? { effort: spec.effort } : {}),
        args: spec.args,
        env,
        ...(spec.config ? { config: spec.config } : {}),
        ...(workspace ? { workspace } : {}),
        ...(spec.command ? { command: spec.command } : {}),
        ...(spec.working_dir ? { working_dir: spec.working_dir } : {}),
      },
      timeoutSeconds: Math.floor(Math.min(spec.timeout_seconds * 1000, deadline - now) / 1000),
      maxOutputBytes: limits.max_output_bytes,
      lastSeq: started.last_seq,
      outputBytes: started.output_bytes,
      usage: started.usage,
      chunkExpiresAt: this.expiresAt,
    };
  }

  flush(input: FlushInput): Promise<FlushOutcome> {
    // The channel's own task, whatever the input names.
    return this.deps.repo.flush({ ...input, tenantId: this.ref.tenantId, taskId: this.ref.taskId });
  }

  status(): Promise<TaskStatus | null> {
    return this.deps.repo.status(this.ref.tenantId, this.ref.taskId);
  }

  async saveChanges(changes: TaskChanges): Promise<void> {
    const expiresAt = this.expiresAt || Math.floor(Date.now() / 1000) + 30 * 86_400;
    await this.deps.repo.putChanges(this.ref.tenantId, this.ref.taskId, changes, expiresAt);
  }

  private async fail(error: string): Promise<void> {
    const moved = await this.deps.repo.transition(this.ref.tenantId, this.ref.taskId, "failed", { error });
    if (moved.moved)
      this.deps.log?.warn("harness task failed before its CLI ran", { task_id: this.ref.taskId, error });
  }
}
