import { parseArgs } from "node:util";
import { type Command, GLOBAL_HELP, GLOBAL_OPTIONS, optionLines } from "./command.js";
import { keysCreateCommand, keysListCommand, keysRevokeCommand } from "./commands/admin-keys.js";
import {
  tenantsConfigCommand,
  tenantsCreateCommand,
  tenantsLimitsCommand,
  tenantsListCommand,
  tenantsSecretsCommand,
} from "./commands/admin-tenants.js";
import { webhookDeleteCommand, webhookSetCommand, webhookStatusCommand } from "./commands/admin-webhook.js";
import { changesCommand } from "./commands/changes.js";
import { listCommand } from "./commands/list.js";
import { runCommand } from "./commands/run.js";
import { stopCommand } from "./commands/stop.js";
import { viewCommand } from "./commands/view.js";
import { waitCommand } from "./commands/wait.js";
import type { Io } from "./context.js";
import { UsageError } from "./errors.js";
import { EXIT } from "./exit-codes.js";

/** Every command, by its words (`run`, `admin tenants list`, …). */
export const COMMANDS: Command[] = [
  runCommand,
  listCommand,
  viewCommand,
  stopCommand,
  waitCommand,
  changesCommand,
  tenantsListCommand,
  tenantsCreateCommand,
  tenantsConfigCommand,
  tenantsLimitsCommand,
  tenantsSecretsCommand,
  keysCreateCommand,
  keysListCommand,
  keysRevokeCommand,
  webhookSetCommand,
  webhookDeleteCommand,
  webhookStatusCommand,
];

function overview(prefix: string[] = []): string {
  const shown = COMMANDS.filter((c) => prefix.every((w, i) => c.name.split(" ")[i] === w));
  const entries: [string, string][] = shown.map((c) => [
    c.usage.replace(/^bga /, "").replace(/\s\[--[^\]]*\]/g, ""),
    c.brief,
  ]);
  return [
    `Usage: bga ${prefix.length ? `${prefix.join(" ")} ` : ""}<command> [options]`,
    "",
    prefix.length ? "Commands:" : "Background Agents Cloud from the command line. Commands:",
    ...optionLines(entries),
    "",
    "Global options:",
    ...optionLines(GLOBAL_HELP),
    "",
    "Exit codes: 0 ok (task completed), 1 error or task failed, 2 bad usage, 3 task stopped,",
    "4 wait timed out. `bga <command> --help` tells more.",
    "",
  ].join("\n");
}

/** Runs the CLI on `argv` (without node and the script) and returns the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    return report(err, io);
  }
}

async function dispatch(argv: string[], io: Io): Promise<number> {
  // A first, lenient pass finds the command words among the global options.
  const { tokens } = parseArgs({
    args: argv,
    options: GLOBAL_OPTIONS,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const positionals = tokens.filter((t) => t.kind === "positional");
  let words = positionals.map((t) => t.value);
  let help = tokens.some((t) => t.kind === "option" && t.name === "help");
  if (words[0] === "help") {
    help = true;
    words = words.slice(1);
    positionals.shift();
  }

  const command = COMMANDS.map((c) => ({ c, w: c.name.split(" ") }))
    .filter(({ w }) => w.every((word, i) => words[i] === word))
    .sort((a, b) => b.w.length - a.w.length)[0]?.c;

  if (!command) {
    const group =
      words[0] === "admin"
        ? words.slice(0, ["tenants", "keys", "webhook"].includes(words[1] ?? "") ? 2 : 1)
        : [];
    if (help && words.length === group.length) {
      io.stdout.write(overview(group));
      return EXIT.ok;
    }
    if (words.length === group.length) {
      io.stderr.write(`bga: missing command\n${overview(group)}`);
      return EXIT.usage;
    }
    const unknown = words.slice(0, group.length + 1).join(" ");
    throw new UsageError(
      `unknown command: ${unknown}`,
      `bga ${group.length ? `${group.join(" ")} ` : ""}<command>`,
    );
  }
  if (help) {
    io.stdout.write(command.helpText());
    return EXIT.ok;
  }
  const commandWords = new Set(positionals.slice(0, command.name.split(" ").length).map((t) => t.index));
  return command.execute(
    io,
    argv.filter((_, i) => !commandWords.has(i)),
  );
}

function report(err: unknown, io: Io): number {
  if (err instanceof UsageError) {
    const usage = err.usage ? `Usage: ${err.usage}\n` : "";
    io.stderr.write(`bga: ${err.message}\n${usage}(see bga --help)\n`);
    return EXIT.usage;
  }
  // ApiError carries the server's own message; ConnectionError, ToolError and the rest say what failed.
  io.stderr.write(`bga: ${err instanceof Error ? err.message : String(err)}\n`);
  return EXIT.error;
}

/** The real process: argv, the standard streams, the environment. */
export async function runFromProcess(): Promise<void> {
  // `bga view … | head`: a reader that went away is not an error worth a stack trace.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(EXIT.ok);
    throw err;
  });
  process.exitCode = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  });
}
