import { isFinished, type Task } from "../../shared/domain/task.js";
import type { TasksClient } from "../client.js";
import { defineCommand, expectPositionals } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { printLive } from "../live-output.js";
import { ChunkPrinter, taskFooter, taskHeader } from "../render.js";
import type { OutputPage } from "../schemas.js";

const usage = "bga view <id> [--follow]";
const PAGE = 1000;

export const viewCommand = defineCommand({
  name: "view",
  usage,
  brief: "show a task's output and result (live with --follow)",
  summary: "Show a task: its details, its whole output, and the result or error.",
  options: { follow: { type: "boolean", short: "f" } },
  help: [["-f, --follow", "print the output live as it arrives until the task ends"]],
  notes: [
    "Without --follow it exits 0 whatever the task's status. With --follow it exits 0 when the task",
    "completed, 1 when it failed, 3 when it was stopped; --json then prints one event per line.",
  ],
  async run(ctx, { values, positionals }) {
    const [id = ""] = expectPositionals(positionals, ["<id>"], usage);
    const client = ctx.tasks();
    const task = await client.getTask(id);
    if (values.follow) {
      if (!ctx.json) ctx.out(taskHeader(task));
      return printLive(ctx, client, task);
    }

    if (ctx.json) {
      const chunks: OutputPage["chunks"] = [];
      await eachOutputPage(client, id, (page) => chunks.push(...page.chunks));
      ctx.printJson({ task: await fresh(client, task), chunks });
      return EXIT.ok;
    }
    ctx.out(taskHeader(task));
    const printer = new ChunkPrinter((text) => ctx.out(text));
    await eachOutputPage(client, id, (page) => {
      for (const chunk of page.chunks) printer.print(chunk);
    });
    printer.endLine();
    if (printer.wroteAny) ctx.out("\n");
    ctx.out(taskFooter(await fresh(client, task)));
    return EXIT.ok;
  },
});

/** GET …/output page by page (`after` = the last seq seen) until a short page. */
async function eachOutputPage(client: TasksClient, id: string, onPage: (page: OutputPage) => void) {
  let after = 0;
  for (;;) {
    const page = await client.getOutput(id, after, PAGE);
    onPage(page);
    if (page.chunks.length < PAGE) return;
    after = page.next_after;
  }
}

/** A task read before its output was: read again if it was still going, so the footer is current. */
async function fresh(client: TasksClient, task: Task): Promise<Task> {
  return isFinished(task.status) ? task : client.getTask(task.id);
}
