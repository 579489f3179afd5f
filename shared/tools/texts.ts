import { runtimeMs, type Task } from "../domain/task.js";

/** The texts the tools return (SPEC §3). Pure functions of the facts. */

export function formatRuntime(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m ${s % 60}s`;
}

export function runText(task: Task): string {
  return `Background agent task started with ID: ${task.id}\nAgent: ${task.agent}\nTask: ${task.task}`;
}

export function listText(tasks: Task[], more: boolean): string {
  if (tasks.length === 0) return "No background agent tasks found.";
  const blocks = tasks.map(
    (t) => `ID: ${t.id}\nAgent: ${t.agent}\nStatus: ${t.status}\nRuntime: ${formatRuntime(runtimeMs(t))}`,
  );
  const tail = more ? `\n\n(newest ${tasks.length} shown; GET /v1/tasks lists them all)` : "";
  return `Background Agent Tasks:\n\n${blocks.join("\n\n")}${tail}`;
}

export interface ViewBody {
  /** Tasks this one started (nested dispatch). */
  children?: { id: string; agent: string; status: string }[];
  /** Output so far (running, or what a stopped task kept) — the newest part, bounded. */
  recent?: { text: string; omitted: number };
  /** Final result (completed), bounded. */
  result?: { text: string; omitted: number };
  /** A harness task's `Changes: …` line (SPEC §9), ending the text; absent when nothing changed. */
  changes?: string;
}

export function viewText(task: Task, body: ViewBody): string {
  const text = viewBody(task, body);
  // A completed harness task's result already ends with it.
  if (!body.changes || text.endsWith(body.changes)) return text;
  return `${text}\n\n${body.changes}`;
}

function viewBody(task: Task, body: ViewBody): string {
  const children = body.children?.length
    ? `Children: ${body.children.map((c) => `${c.id} (${c.agent}, ${c.status})`).join(", ")}\n`
    : "";
  const head = `Task ID: ${task.id}\nAgent: ${task.agent}\nStatus: ${task.status}\nRuntime: ${formatRuntime(runtimeMs(task))}\n${children}--- Output ---\n`;
  switch (task.status) {
    case "completed": {
      const r = body.result ?? { text: task.result ?? "", omitted: 0 };
      const note = r.omitted
        ? `\n\n[result cut: ${r.omitted} more bytes; GET /v1/tasks/${task.id} has all of it]`
        : "";
      return `${head}${r.text}${note}`;
    }
    case "failed":
      return `${head}<task failed>\nError: ${task.error ?? "unknown error"}`;
    case "stopped": {
      const r = body.recent ?? { text: "", omitted: 0 };
      if (!r.text) return `${head}<task was stopped>`;
      return `${head}${recentText(task, r)}\n<task was stopped>`;
    }
    default: {
      const r = body.recent ?? { text: "", omitted: 0 };
      if (!r.text) return `${head}<no output yet — still running>`;
      return `${head}${recentText(task, r)}\n[still running...]`;
    }
  }
}

/** The newest output, after a note of how much earlier output it leaves out. */
function recentText(task: Task, r: { text: string; omitted: number }): string {
  const note = r.omitted
    ? `[${r.omitted} bytes of earlier output left out; GET /v1/tasks/${task.id}/output has all of it]\n`
    : "";
  return `${note}${r.text}`;
}

export function stopText(id: string): string {
  return `Background agent task ${id} stopped.`;
}

/** `Changes: N files changed (+A -D): path, path, …` (and the branch when pushed), or "" for none. */
export function changesLine(
  changes: { files: { path: string; additions: number; deletions: number }[]; branch?: string | undefined },
  maxPaths = 20,
): string {
  const { files } = changes;
  if (files.length === 0) return "";
  const add = files.reduce((n, f) => n + f.additions, 0);
  const del = files.reduce((n, f) => n + f.deletions, 0);
  const shown = files.slice(0, maxPaths).map((f) => f.path);
  const more = files.length > maxPaths ? `, … (${files.length - maxPaths} more)` : "";
  const branch = changes.branch ? ` (pushed to branch ${changes.branch})` : "";
  return `Changes: ${files.length} ${files.length === 1 ? "file" : "files"} changed (+${add} -${del}): ${shown.join(", ")}${more}${branch}`;
}
