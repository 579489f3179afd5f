import { defineCommand, expectPositionals } from "../command.js";
import { EXIT } from "../exit-codes.js";

const usage = "bga changes <id>";

export const changesCommand = defineCommand({
  name: "changes",
  usage,
  brief: "print a harness task's patch",
  summary:
    "Print the changes a harness task (Claude Code, Codex) made to its workspace as a patch, so `bga changes <id> | git apply` applies them to a checkout of the same base.",
  options: {},
  help: [],
  notes: [
    "With --json: {base, files: [{path, status, additions, deletions}], patch, branch?}.",
    "A task without changes (not a harness task, or nothing changed): `bga: task … has no changes`, exit 1.",
    "Binary files are listed in files (--json) but not in the patch.",
  ],
  async run(ctx, { positionals }) {
    const [id = ""] = expectPositionals(positionals, ["<id>"], usage);
    const changes = await ctx.tasks().getChanges(id);
    if (ctx.json) ctx.printJson(changes);
    else ctx.out(changes.patch);
    return EXIT.ok;
  },
});
