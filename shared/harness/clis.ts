import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { HarnessJob } from "./channel.js";

/**
 * The two coding CLIs (SPEC §9) as pinned npm dependencies: where their native binaries are
 * (resolved from their packages in node_modules, never from PATH), their command lines and the
 * environment each needs. Nothing here reads the server's own process.env.
 */

const require = createRequire(import.meta.url);

/** The platform package of a CLI that holds its native binary, and the binary's path inside it. */
function platformBinary(candidates: { pkg: string; bin: string }[], cli: string): string {
  for (const { pkg, bin } of candidates) {
    let root: string;
    try {
      root = dirname(require.resolve(`${pkg}/package.json`));
    } catch {
      continue;
    }
    const path = join(root, bin);
    if (existsSync(path)) return path;
  }
  throw new Error(
    `the ${cli} CLI has no native binary for ${process.platform}-${process.arch} in node_modules (run npm ci; optional dependencies must not be omitted)`,
  );
}

function isMusl(): boolean {
  if (process.platform !== "linux") return false;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return !report?.header?.glibcVersionRuntime;
}

/** @anthropic-ai/claude-code ships its binary in a platform package; its postinstall only copies it. */
export function claudeBinary(): string {
  const platform = `${process.platform}-${process.arch}`;
  const musl = isMusl();
  const names = musl ? [`${platform}-musl`, platform] : [platform, `${platform}-musl`];
  return platformBinary(
    names.map((n) => ({
      pkg: `@anthropic-ai/claude-code-${n}`,
      bin: process.platform === "win32" ? "claude.exe" : "claude",
    })),
    "claude-code",
  );
}

const CODEX_TRIPLES: Record<string, string> = {
  "linux-x64": "x86_64-unknown-linux-musl",
  "linux-arm64": "aarch64-unknown-linux-musl",
  "darwin-x64": "x86_64-apple-darwin",
  "darwin-arm64": "aarch64-apple-darwin",
};

/** @openai/codex ships its binary in `@openai/codex-<platform>` (vendor/<triple>/bin/codex). */
export function codexBinary(): string {
  const platform = `${process.platform}-${process.arch}`;
  const triple = CODEX_TRIPLES[platform] ?? "unsupported";
  return platformBinary([{ pkg: `@openai/codex-${platform}`, bin: `vendor/${triple}/bin/codex` }], "codex");
}

/** The pinned binary of a harness type (`command`, local default tenant only, overrides it). */
export function harnessBinary(job: HarnessJob): string {
  if (job.harness.command) return job.harness.command;
  return job.harness.type === "claude-code" ? claudeBinary() : codexBinary();
}

/** The task text as the CLI gets it: the caller's task and expected output. */
export function taskPrompt(job: HarnessJob): string {
  return job.expectedOutput ? `${job.task}\n\nExpected output: ${job.expectedOutput}` : job.task;
}

/** A value as TOML (codex's `-c key=value` overrides): strings quoted, tables inline. */
export function toToml(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `[${value.map(toToml).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value).map(([k, v]) => `${tomlKey(k)}=${toToml(v)}`);
    return `{${entries.join(",")}}`;
  }
  return '""';
}

function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

/** The codex provider the service defines for OPENAI_BASE_URL (codex ignores that variable). */
export const CODEX_PROVIDER = "bga";

/** The command line of a harness run: the CLI's non-interactive mode, its JSON event stream. */
export function harnessArgs(job: HarnessJob): string[] {
  const { harness } = job;
  const prompt = taskPrompt(job);
  if (harness.type === "claude-code") {
    return [
      "-p",
      "--output-format",
      "stream-json",
      "--verbose",
      "--include-partial-messages",
      "--permission-mode",
      "bypassPermissions",
      ...(harness.effort ? ["--effort", harness.effort] : []),
      ...(job.instruction ? ["--append-system-prompt", job.instruction] : []),
      ...(harness.config && Object.keys(harness.config).length
        ? ["--settings", JSON.stringify(harness.config)]
        : []),
      ...harness.args,
      "--",
      prompt,
    ];
  }
  const overrides: string[] = [];
  const baseUrl = harness.env.OPENAI_BASE_URL;
  if (baseUrl) {
    // codex speaks only the Responses API and ignores OPENAI_BASE_URL: a provider of its own.
    const provider = {
      name: CODEX_PROVIDER,
      base_url: baseUrl.replace(/\/+$/, ""),
      wire_api: "responses",
      env_key: "OPENAI_API_KEY",
    };
    overrides.push(
      `model_provider=${CODEX_PROVIDER}`,
      `model_providers.${CODEX_PROVIDER}=${toToml(provider)}`,
    );
  }
  if (harness.effort) overrides.push(`model_reasoning_effort=${toToml(harness.effort)}`);
  if (job.instruction) overrides.push(`developer_instructions=${toToml(job.instruction)}`);
  for (const [key, value] of Object.entries(harness.config ?? {})) overrides.push(`${key}=${toToml(value)}`);
  return [
    "exec",
    "--json",
    "--skip-git-repo-check",
    "--dangerously-bypass-approvals-and-sandbox",
    ...overrides.flatMap((o) => ["-c", o]),
    ...harness.args,
    "--",
    prompt,
  ];
}

/** Directories every CLI may need on PATH: node's own (for node-based tools), then the system's. */
export function childPath(): string {
  const dirs = [
    dirname(process.execPath),
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
  ];
  return [...new Set(dirs)].join(":");
}

/**
 * The CLI's whole environment, built from scratch (SPEC §9): PATH, locale, its own home and temp
 * directory, what the CLI needs to run unattended, and the harness `env:` (resolved). Never a
 * variable of the server's own process.
 */
export function harnessEnv(job: HarnessJob, dirs: { home: string; tmp: string }): Record<string, string> {
  const base: Record<string, string> = {
    ...job.harness.env,
    PATH: childPath(),
    HOME: dirs.home,
    TMPDIR: dirs.tmp,
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    TERM: "dumb",
    NO_COLOR: "1",
    GIT_TERMINAL_PROMPT: "0",
  };
  if (job.harness.type === "claude-code") {
    return {
      ...base,
      CLAUDE_CONFIG_DIR: join(dirs.home, ".claude"),
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_AUTOUPDATER: "1",
      // bypassPermissions is refused as root unless the CLI is told it runs in a sandbox.
      ...(process.getuid?.() === 0 ? { IS_SANDBOX: "1" } : {}),
    };
  }
  return { ...base, CODEX_HOME: join(dirs.home, ".codex") };
}
