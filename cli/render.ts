import type { Chunk } from "../shared/domain/chunk.js";
import { runtimeMs, type Task } from "../shared/domain/task.js";
import { formatRuntime } from "../shared/tools/texts.js";
import type { WaitItem } from "./schemas.js";

/** Text for people. (`--json` bypasses all of this and prints what the server returned.) */

/**
 * Text safe for a terminal: control characters other than newline and tab (ESC above all, which
 * could move the cursor or retitle the window from a model's or a tool's output) in caret notation.
 */
export function printable(text: string): string {
  return text.replace(/[^\P{Cc}\n\t]/gu, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20
      ? `^${String.fromCharCode(code + 64)}`
      : code === 0x7f
        ? "^?"
        : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** An ISO time as local `YYYY-MM-DD HH:MM:SS`. */
export function formatTime(iso: string | null): string {
  if (!iso) return "-";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function taskRuntime(task: Task): string {
  return formatRuntime(runtimeMs(task));
}

/** The first line of a text, cut to `max` characters. */
export function firstLine(text: string, max = 60): string {
  const line = text.trim().split(/\r?\n/, 1)[0] ?? "";
  const more = line.length > max || text.trim().includes("\n");
  return line.length > max ? `${line.slice(0, max - 1)}…` : more ? `${line} …` : line;
}

export function tasksTable(tasks: Task[]): string {
  return table(
    ["ID", "AGENT", "STATUS", "RUNTIME", "CREATED"],
    tasks.map((t) => [t.id, t.agent, t.status, taskRuntime(t), formatTime(t.created_at)]),
  );
}

export function waitTable(items: WaitItem[]): string {
  return table(
    ["ID", "STATUS", "RESULT"],
    items.map((t) => [
      t.task_id,
      t.status,
      t.error ? `error: ${firstLine(t.error)}` : t.output !== null ? firstLine(t.output) : "-",
    ]),
  );
}

export function taskHeader(task: Task): string {
  const lines = [
    `Task ID:   ${task.id}`,
    `Agent:     ${task.agent}`,
    `Caller:    ${task.caller}`,
    `Status:    ${task.status}`,
    `Runtime:   ${taskRuntime(task)}`,
    `Created:   ${formatTime(task.created_at)}`,
    `Task:      ${task.task}`,
  ];
  if (task.expected_output) lines.push(`Expected:  ${task.expected_output}`);
  const meta = Object.entries(task.metadata);
  if (meta.length) lines.push(`Metadata:  ${meta.map(([k, v]) => `${k}=${v}`).join(" ")}`);
  const u = task.usage;
  lines.push(
    `Usage:     ${u.model_calls} model calls, ${u.tool_calls} tool calls, ${u.input_tokens} in / ${u.output_tokens} out tokens`,
  );
  return `${lines.join("\n")}\n--- Output ---\n`;
}

/** What closes a task's view: the final result, the error, or that it is still going. */
export function taskFooter(task: Task): string {
  const runtime = taskRuntime(task);
  switch (task.status) {
    case "completed":
      return `--- Result (completed in ${runtime}) ---\n${ensureNewline(task.result ?? "")}`;
    case "failed":
      return `--- Failed after ${runtime} ---\nError: ${task.error ?? "unknown error"}\n`;
    case "stopped":
      return `--- Stopped after ${runtime} ---\n`;
    default:
      return `--- Still ${task.status} (${runtime} so far; bga view ${task.id} --follow to watch) ---\n`;
  }
}

function ensureNewline(text: string): string {
  return text === "" || text.endsWith("\n") ? text : `${text}\n`;
}

const MARKS: Record<Exclude<Chunk["kind"], "text">, string> = {
  tool_call: "[tool call]",
  tool_result: "[tool result]",
  status: "[status]",
};

/**
 * Writes chunks as one running text: assistant text as it comes, tool calls, tool results and
 * status notes as marked lines of their own. Knows whether the output stands at a line start.
 */
export class ChunkPrinter {
  atLineStart = true;
  wroteAny = false;

  constructor(private readonly out: (text: string) => void) {}

  write(text: string): void {
    if (text === "") return;
    this.out(text);
    this.wroteAny = true;
    this.atLineStart = text.endsWith("\n");
  }

  /** Ends the current line, if one is open. */
  endLine(): void {
    if (!this.atLineStart) this.write("\n");
  }

  print(chunk: Chunk): void {
    if (chunk.kind === "text") {
      this.write(chunk.text);
      return;
    }
    this.endLine();
    this.write(ensureNewline(`${MARKS[chunk.kind]} ${chunk.text}`));
  }
}
