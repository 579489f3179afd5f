import { defineCommand, intOption } from "../command.js";
import { UsageError } from "../errors.js";
import { EXIT } from "../exit-codes.js";
import { waitTable } from "../render.js";
import type { WaitResult } from "../schemas.js";

const usage = "bga wait <id…> [--timeout S]";
const DEFAULT_TIMEOUT_SECONDS = 300;
/**
 * One wait_background_agents call waits at most this long; a longer --timeout is several calls.
 * It stays under the tool's own maximum (840 s) and under fetch's 300 s wait for response headers.
 */
export const WAIT_SLICE_SECONDS = 240;

export const waitCommand = defineCommand({
  name: "wait",
  usage,
  brief: "wait for tasks to end",
  summary: "Wait until every given task has ended (or the timeout passes) and show how each ended.",
  options: { timeout: { type: "string" } },
  help: [
    [
      "--timeout S",
      `seconds to wait at most (default ${DEFAULT_TIMEOUT_SECONDS}); tasks keep running after it`,
    ],
  ],
  notes: [
    "Exit codes: 0 all completed, 1 any failed, 4 timed out (none failed), 3 any stopped.",
    "With --json: the wait_background_agents result {all_done, timed_out, tasks}.",
  ],
  async run(ctx, { values, positionals }) {
    if (positionals.length === 0) throw new UsageError("missing <id…>", usage);
    const ids = [...new Set(positionals)];
    if (ids.length > 100) throw new UsageError("at most 100 task IDs at once", usage);
    const timeout =
      intOption(values.timeout, "timeout", usage, { min: 0, max: 7 * 86_400 }) ?? DEFAULT_TIMEOUT_SECONDS;

    const client = ctx.tasks();
    const deadline = Date.now() + timeout * 1000;
    let result: WaitResult;
    for (;;) {
      const remaining = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      const slice = Math.min(remaining, WAIT_SLICE_SECONDS);
      result = await client.wait(ids, slice);
      if (result.all_done || remaining <= slice) break;
    }

    if (ctx.json) ctx.printJson(result);
    else {
      ctx.out(`${waitTable(result.tasks)}\n`);
      const open = result.tasks.filter((t) => !t.done).length;
      if (result.timed_out) {
        ctx.err(
          `timed out after ${timeout}s: ${open} of ${result.tasks.length} not done (they keep running)\n`,
        );
      }
    }
    return waitExitCode(result);
  },
});

export function waitExitCode(result: WaitResult): number {
  if (result.tasks.some((t) => t.status === "failed")) return EXIT.error;
  if (result.timed_out || !result.all_done) return EXIT.timedOut;
  if (result.tasks.some((t) => t.status === "stopped")) return EXIT.stopped;
  return EXIT.ok;
}
