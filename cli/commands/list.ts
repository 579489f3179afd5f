import { TASK_STATUSES, type Task } from "../../shared/domain/task.js";
import { defineCommand, expectPositionals, intOption } from "../command.js";
import { UsageError } from "../errors.js";
import { EXIT } from "../exit-codes.js";
import { tasksTable } from "../render.js";

const usage = "bga list [--status S] [--agent A] [--limit N] [--all]";

export const listCommand = defineCommand({
  name: "list",
  usage,
  brief: "list tasks, newest first",
  summary: "List tasks, newest first: ID, agent, status, runtime and creation time.",
  options: {
    status: { type: "string" },
    agent: { type: "string" },
    limit: { type: "string" },
    all: { type: "boolean" },
  },
  help: [
    ["--status S", `only tasks in this status (${TASK_STATUSES.join(", ")})`],
    ["--agent A", "only tasks of this agent"],
    ["--limit N", "how many (1-100, default 20); with --all, the page size"],
    ["--all", "every task, following next_cursor page by page"],
  ],
  notes: ["With --json: the server's {tasks, next_cursor} (with --all, every task and next_cursor null)."],
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, [], usage);
    const status = values.status;
    if (status !== undefined && !(TASK_STATUSES as readonly string[]).includes(status)) {
      throw new UsageError(`--status must be one of ${TASK_STATUSES.join(", ")}`, usage);
    }
    const limit = intOption(values.limit, "limit", usage, { min: 1, max: 100 });
    const client = ctx.tasks();
    const query = { status, agent: values.agent };

    let tasks: Task[];
    let next: string | null;
    if (values.all) {
      tasks = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTasks({ ...query, limit: limit ?? 100, cursor });
        tasks.push(...page.tasks);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      next = null;
    } else {
      const page = await client.listTasks({ ...query, limit });
      tasks = page.tasks;
      next = page.next_cursor;
    }

    if (ctx.json) {
      ctx.printJson({ tasks, next_cursor: next });
      return EXIT.ok;
    }
    ctx.out(tasks.length ? `${tasksTable(tasks)}\n` : "No tasks.\n");
    if (next) ctx.err("(more tasks: --all lists every one)\n");
    return EXIT.ok;
  },
});
