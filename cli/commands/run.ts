import { defineCommand, pairs } from "../command.js";
import type { Io } from "../context.js";
import { UsageError } from "../errors.js";
import { EXIT } from "../exit-codes.js";
import { printLive } from "../live-output.js";

const usage =
  "bga run <agent> <task…> [--expected-output X] [--metadata k=v …] [--idempotency-key K] [--follow]";

export const runCommand = defineCommand({
  name: "run",
  usage,
  brief: "start a background agent, print the task ID",
  summary:
    "Start a background agent on a task (the words after <agent>; `-` reads it from stdin) and print its task ID.",
  options: {
    "expected-output": { type: "string" },
    metadata: { type: "string", multiple: true },
    "idempotency-key": { type: "string" },
    follow: { type: "boolean", short: "f" },
  },
  help: [
    ["--expected-output X", "what the result should look like"],
    ["--metadata k=v", "a metadata pair (repeatable, at most 16)"],
    ["--idempotency-key K", "the same key and body within 24 h returns the same task"],
    ["-f, --follow", "then print the output live until the task ends (as `bga view --follow`)"],
  ],
  notes: [
    "Prints the task ID (with --json the task object). With --follow, exits 0 when the task",
    "completed, 1 when it failed, 3 when it was stopped.",
  ],
  async run(ctx, { values, positionals }) {
    const [agent, ...words] = positionals;
    if (!agent) throw new UsageError("missing <agent> and <task>", usage);
    if (words.length === 0) throw new UsageError("missing <task>", usage);
    let task = words.join(" ");
    if (task === "-") task = await readStdin(ctx.io);
    if (task.trim() === "") throw new UsageError("the task is empty", usage);
    const metadata = Object.fromEntries(pairs(values.metadata ?? [], "--metadata", usage));

    const client = ctx.tasks();
    const { task: created } = await client.createTask(
      {
        agent,
        task,
        ...(values["expected-output"] !== undefined ? { expected_output: values["expected-output"] } : {}),
        ...(Object.keys(metadata).length ? { metadata } : {}),
      },
      values["idempotency-key"],
    );
    if (values.follow) {
      if (!ctx.json) ctx.err(`Started ${created.id} (${created.agent})\n`);
      return printLive(ctx, client, created);
    }
    if (ctx.json) ctx.printJson(created);
    else ctx.out(`${created.id}\n`);
    return EXIT.ok;
  },
});

async function readStdin(io: Io): Promise<string> {
  if (io.stdin.isTTY) throw new UsageError("`-` reads the task from stdin, but stdin is a terminal", usage);
  let text = "";
  for await (const piece of io.stdin) text += piece.toString();
  return text.replace(/\r?\n$/, "");
}
