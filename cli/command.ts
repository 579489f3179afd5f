import { type ParseArgsConfig, parseArgs } from "node:util";
import { Context, DEFAULT_ENDPOINT, type Io } from "./context.js";
import { UsageError } from "./errors.js";

type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;

/** Options every command takes (before or after the command words). */
export const GLOBAL_OPTIONS = {
  endpoint: { type: "string" },
  key: { type: "string" },
  "admin-token": { type: "string" },
  caller: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies OptionsConfig;

export const GLOBAL_HELP: [string, string][] = [
  ["--endpoint URL", `the service (env BGA_ENDPOINT, default ${DEFAULT_ENDPOINT})`],
  ["--key KEY", "tenant API key (env BGA_API_KEY; locally also .bga/api-key)"],
  ["--admin-token TOKEN", "admin credential for `bga admin` (env BGA_ADMIN_TOKEN)"],
  ["--caller NAME", "the orchestrating agent to act as (X-Caller-Agent, default root)"],
  ["--json", "print the server's JSON instead of text, for scripts"],
  ["-h, --help", "show help"],
];

type Parsed<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<{
    args: string[];
    options: typeof GLOBAL_OPTIONS & O;
    allowPositionals: true;
    strict: true;
  }>
>;

export interface CommandSpec<O extends OptionsConfig> {
  /** The command words, e.g. `run` or `admin tenants list`. */
  name: string;
  /** `bga …` with its positionals, e.g. `bga view <id> [--follow]`. */
  usage: string;
  /** A few words for the command list of `bga --help`. */
  brief: string;
  summary: string;
  options: O;
  /** Flag and explanation for each option in `options`. */
  help: [string, string][];
  /** Extra lines at the end of --help (exit codes, examples). */
  notes?: string[];
  run(ctx: Context, args: Parsed<O>): Promise<number>;
}

/** A command with its argument types erased, as the dispatcher holds it. */
export interface Command {
  name: string;
  usage: string;
  brief: string;
  helpText(): string;
  execute(io: Io, argv: string[]): Promise<number>;
}

export function defineCommand<O extends OptionsConfig>(spec: CommandSpec<O>): Command {
  return {
    name: spec.name,
    usage: spec.usage,
    brief: spec.brief,
    helpText: () => helpText(spec),
    async execute(io, argv) {
      let args: Parsed<O>;
      try {
        args = parseArgs({
          args: argv,
          options: { ...GLOBAL_OPTIONS, ...spec.options },
          allowPositionals: true,
          strict: true,
        });
      } catch (err) {
        throw new UsageError(parseErrorMessage(err), spec.usage);
      }
      return spec.run(new Context(io, args.values), args);
    },
  };
}

function parseErrorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // node's texts are long ("… To specify a positional argument starting with a '-' …"): keep the first sentence.
  return message.split(/\.\s/)[0]?.replace(/\.$/, "") ?? message;
}

export function optionLines(help: [string, string][]): string[] {
  const width = Math.max(...help.map(([flag]) => flag.length));
  return help.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`);
}

function helpText<O extends OptionsConfig>(spec: CommandSpec<O>): string {
  const lines = [`Usage: ${spec.usage}`, "", spec.summary];
  if (spec.help.length) lines.push("", "Options:", ...optionLines(spec.help));
  lines.push("", "Global options:", ...optionLines(GLOBAL_HELP));
  if (spec.notes?.length) lines.push("", ...spec.notes);
  return `${lines.join("\n")}\n`;
}

/** Positional arguments: exactly `names.length` of them, else a usage error naming what is missing. */
export function expectPositionals(positionals: string[], names: string[], usage: string): string[] {
  if (positionals.length < names.length) {
    throw new UsageError(`missing ${names.slice(positionals.length).join(" ")}`, usage);
  }
  if (positionals.length > names.length) {
    throw new UsageError(`unexpected argument: ${positionals[names.length]}`, usage);
  }
  return positionals;
}

/** An integer option within `range`, or undefined when not given. */
export function intOption(
  value: string | undefined,
  name: string,
  usage: string,
  range: { min: number; max: number },
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < range.min || Number(value) > range.max) {
    throw new UsageError(`--${name} must be an integer from ${range.min} to ${range.max}`, usage);
  }
  return Number(value);
}

/** `k=v` pairs into an object; `what` names them in errors. */
export function pairs(items: string[], what: string, usage: string): [string, string][] {
  return items.map((item) => {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`${what} must be NAME=VALUE, got: ${item}`, usage);
    return [item.slice(0, eq), item.slice(eq + 1)];
  });
}
