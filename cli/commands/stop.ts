import { defineCommand, expectPositionals } from "../command.js";
import { EXIT } from "../exit-codes.js";

const usage = "bga stop <id>";

export const stopCommand = defineCommand({
  name: "stop",
  usage,
  brief: "stop a task",
  summary: "Stop a pending or running task (its output so far is kept).",
  options: {},
  help: [],
  notes: ["A task that has already ended: `bga: task … is not running (status: …)`, exit 1."],
  async run(ctx, { positionals }) {
    const [id = ""] = expectPositionals(positionals, ["<id>"], usage);
    const task = await ctx.tasks().stopTask(id);
    if (ctx.json) ctx.printJson(task);
    else ctx.out(`Stopped ${task.id}.\n`);
    return EXIT.ok;
  },
});
