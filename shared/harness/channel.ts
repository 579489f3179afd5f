import * as z from "zod";
import type { TaskStatus, Usage } from "../domain/task.js";
import type { FlushInput, FlushOutcome } from "../ports.js";

/**
 * The seam of a harness task (SPEC §9): what the one harness runner (shared/harness/) needs from
 * the rest of the service. Two adapters implement it:
 *
 * - locally (npm start, tests), straight on the TaskRepository and the tenant directory;
 * - in the Fargate container, an HTTP client of the API's internal harness routes, holding a
 *   capability good only for its own task. The container holds no AWS credentials for the table
 *   or the service secret; the internal routes answer with the same repository-backed channel.
 */

/** Files changed by a harness task, against the workspace's start (SPEC §9 "Changes"). */
export interface TaskChanges {
  /** The commit the workspace started from (empty tree hash for an empty directory). */
  base: string;
  files: ChangedFile[];
  /** A unified diff that `git apply` accepts (binary files listed without content), ≤ max_output_bytes. */
  patch: string;
  /** The branch the changes were pushed to (`bga/<task id>`), when `workspace.push` is set. */
  branch?: string;
}

export interface ChangedFile {
  path: string;
  status: "added" | "modified" | "deleted" | "renamed";
  additions: number;
  deletions: number;
}

/** A task's changes as the internal route takes them and the table keeps them. */
export const ChangedFileSchema = z.strictObject({
  path: z.string().min(1).max(4096),
  status: z.enum(["added", "modified", "deleted", "renamed"]),
  additions: z.number().int().nonnegative(),
  deletions: z.number().int().nonnegative(),
});

export const TaskChangesSchema = z.strictObject({
  base: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, "a git object name"),
  files: z.array(ChangedFileSchema).max(100_000),
  patch: z.string(),
  branch: z.string().min(1).max(256).optional(),
}) satisfies z.ZodType<TaskChanges>;

/** What a harness run needs to start: the task, its harness settings with secrets resolved, its limits. */
export interface HarnessJob {
  tenantId: string;
  taskId: string;
  agent: string;
  /** The task text and the expected output, as the caller gave them. */
  task: string;
  expectedOutput: string | null;
  /** The agent's `instruction` (added to the CLI's system prompt), empty when none. */
  instruction: string;
  harness: {
    type: "claude-code" | "codex";
    effort?: "low" | "medium" | "high";
    args: string[];
    /** The harness `env:` with every `${env.NAME}` resolved: secrets, never logged or stored. */
    env: Record<string, string>;
    config?: Record<string, unknown>;
    workspace?: {
      git: string;
      ref?: string;
      /** Resolved; goes in a header or credential helper, never in a URL, log or chunk. */
      token?: string;
      push: boolean;
    };
    /** Local default tenant only (SPEC §9). */
    command?: string;
    working_dir?: string;
  };
  /** Seconds the CLI may run: min(harness.timeout, what is left of max_task_seconds). */
  timeoutSeconds: number;
  maxOutputBytes: number;
  /** Output counters as stored when the run starts (the writer continues from them). */
  lastSeq: number;
  outputBytes: number;
  usage: Usage;
  /** DynamoDB TTL of the chunks this run writes (epoch seconds). */
  chunkExpiresAt: number;
}

export interface HarnessChannel {
  /**
   * Moves the task pending → running and returns what the run needs; null when the task may not
   * run (already finished or stopped, or interrupted earlier: it is then failed with a clear error).
   */
  claim(): Promise<HarnessJob | null>;
  /** The batched output writer's store write (tenantId/taskId are the channel's own task). */
  flush(input: FlushInput): Promise<FlushOutcome>;
  /** The task's status alone: how the runner notices `stopped` between writes. */
  status(): Promise<TaskStatus | null>;
  /** Keeps the workspace's changes (called once at the end, whatever the status). */
  saveChanges(changes: TaskChanges): Promise<void>;
}
