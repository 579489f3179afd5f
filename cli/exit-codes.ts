import type { TaskStatus } from "../shared/domain/task.js";

/**
 * Exit codes, for scripts:
 * - 0  success; for `view --follow`, `run --follow` and `wait`: every task completed
 * - 1  an error (the server's message on stderr), or a task failed
 * - 2  bad usage (unknown command or option, missing argument, no API key)
 * - 3  a task was stopped (none failed)
 * - 4  `wait` timed out with tasks still running (none failed)
 * - 130 interrupted (Ctrl-C) while following
 */
export const EXIT = { ok: 0, error: 1, usage: 2, stopped: 3, timedOut: 4, interrupted: 130 } as const;

/** How a followed task's end is reported to the shell. */
export function exitCodeFor(status: TaskStatus): number {
  switch (status) {
    case "completed":
      return EXIT.ok;
    case "failed":
      return EXIT.error;
    case "stopped":
      return EXIT.stopped;
    default:
      return EXIT.timedOut;
  }
}
