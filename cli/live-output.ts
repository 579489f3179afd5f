import type { Task, TaskStatus } from "../shared/domain/task.js";
import type { TasksClient } from "./client.js";
import type { Context } from "./context.js";
import { exitCodeFor } from "./exit-codes.js";
import { followTask } from "./follow.js";
import { ChunkPrinter, taskFooter } from "./render.js";
import { StatusLine } from "./status-line.js";

/**
 * Follows a task to its end and prints it as it happens: chunk text live on stdout, a status line
 * on stderr (terminals only), then the result or error. With --json: one JSON object per line,
 * `{"event":"chunk","data":{…}}` and `{"event":"status","data":{"status","task"}}`.
 * Returns the exit code for how the task ended.
 */
export async function printLive(ctx: Context, client: TasksClient, task: Task): Promise<number> {
  if (ctx.json) {
    let last: TaskStatus | undefined;
    const final = await followTask(client, task.id, {
      onChunk: (chunk) => ctx.out(`${JSON.stringify({ event: "chunk", data: chunk })}\n`),
      onStatus: (status, t) => {
        if (status === last) return; // repeated after a reconnect
        last = status;
        ctx.out(`${JSON.stringify({ event: "status", data: { status, task: t } })}\n`);
      },
    });
    return exitCodeFor(final.status);
  }

  const printer = new ChunkPrinter((text) => ctx.out(text));
  const line = new StatusLine(ctx.io, printer, task);
  let final: Task;
  try {
    final = await followTask(client, task.id, {
      onChunk: (chunk) => {
        line.clear();
        printer.print(chunk);
        line.chunk(chunk.seq);
        line.draw();
      },
      onStatus: (_status, t) => line.update(t),
      onReconnect: (_attempt, _delay, reason) => line.remark(`reconnecting: ${reason}`),
    });
  } finally {
    line.stop();
  }
  printer.endLine();
  if (printer.wroteAny) ctx.out("\n");
  ctx.out(taskFooter(final));
  return exitCodeFor(final.status);
}
